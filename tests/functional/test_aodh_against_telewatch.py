"""The real Aodh 23, unchanged, reading telewatch-api as its Gnocchi: the same alarms over the
same measures reach the same states as they do in an Aodh reading the real Gnocchi 4.7.

Two Aodh (aodh_helpers: API and evaluator, each on its own database) are set up as a
deployment would: one reads the real Gnocchi of tools/services/gnocchi (gnocchi-basic), the
other finds telewatch-api in the real Keystone's catalog (service type ``metric``, in a
region of the test's own) and logs in with a password, keystonemiddleware checking its
tokens. Both stores get the same resources, metrics and measures; both Aodh get the same
alarms of the three Gnocchi types, among them Heat's autoscaling alarm (``rate:mean`` of
``cpu`` over the instances of one ``server_group`` with ``ended_at`` null), each chosen to
end in another state; then one alarm's measures change and both follow.
"""

import contextlib
import datetime
import json
import time
import uuid

from gnocchiclient import auth as gnocchi_auth
from gnocchiclient import client as gnocchi_client
from gnocchiclient import exceptions as gnocchi_exceptions
from keystoneauth1.identity import v3
from keystoneauth1 import session as ks_session
import pytest

from tests.functional import aodh_helpers
from tests.functional import api_helpers
from tests.functional import services

GRANULARITY = 60
POLICY = 'medium'  # Gnocchi's and telewatch's: 1 min for 7 days, 1 h for a year
THRESHOLD = {'comparison_operator': 'gt', 'granularity': GRANULARITY,
             'evaluation_periods': 1}
INITIAL_REASONS = ('Not evaluated yet', 'Manually set via API')
WAIT = 60


@pytest.fixture(scope='module')
def deployment(keystone, gnocchi_endpoint, tmp_path_factory):
    """telewatch-api behind the real Keystone (keystonemiddleware, as deployed) and the two
    Aodh, one reading the real Gnocchi, the other finding telewatch-api in the catalog: all
    started at once. Yields telewatch-api's URL and the Aodh by store."""
    venv = aodh_helpers.aodh_venv()
    admin = keystone.admin
    project_id = keystone.token(admin).project_id
    region = services.unique('aodh')
    config = '[api]\nauth_strategy = keystone\n[keystone_authtoken]\n' + ''.join(
        '%s = %s\n' % item for item in keystone.authtoken_options().items())
    setups = [
        (tmp_path_factory.mktemp('aodh-gnocchi'), {
            'auth_type': 'gnocchi-basic', 'user': 'admin', 'endpoint': gnocchi_endpoint},
         project_id),
        (tmp_path_factory.mktemp('aodh-telewatch'), {
            'auth_type': 'password', 'auth_url': keystone.auth_url, 'username': admin.name,
            'password': admin.password, 'project_name': admin.project,
            'user_domain_name': 'Default', 'project_domain_name': 'Default',
            'interface': 'internal', 'region_name': region}, project_id)]
    # Aodh asks Keystone for a token (and the catalog) only when it first reads Gnocchi:
    # once alarms exist, after the endpoint is in the catalog.
    with aodh_helpers.together(
            api_helpers.running_api(tmp_path_factory.mktemp('telewatch-api'), config),
            aodh_helpers.running_aodhs(venv, setups)) as (url, (on_gnocchi, on_telewatch)), \
            aodh_helpers.catalog_region(keystone, region, url):
        yield url, {'gnocchi': on_gnocchi, 'telewatch': on_telewatch}


@pytest.fixture(scope='module')
def telewatch_api(deployment):
    return deployment[0]


@pytest.fixture(scope='module')
def aodhs(deployment):
    """The Aodh reading the real Gnocchi and the one reading telewatch-api, by store."""
    return deployment[1]


def _keystone_session(keystone, user):
    return ks_session.Session(auth=v3.Password(
        auth_url=keystone.auth_url, username=user.name, password=user.password,
        project_name=user.project, user_domain_name='Default',
        project_domain_name='Default'))


class Store:
    """gnocchiclient for one store: as its admin (resource types are an operator's) and as
    the publisher (the resources, metrics and measures)."""

    def __init__(self, admin, publisher):
        self.admin = admin
        self.publisher = publisher


@pytest.fixture(scope='module')
def stores(gnocchi_endpoint, telewatch_api, keystone):
    """Each store as its admin and as the publisher: on telewatch-api the service user,
    which Ceilometer would publish with; on Gnocchi (basic auth) its admin again."""
    gnocchi = gnocchi_client.Client('1', session=ks_session.Session(
        auth=gnocchi_auth.GnocchiBasicPlugin(user='admin', endpoint=gnocchi_endpoint)))

    def telewatch(user):
        return gnocchi_client.Client('1', session=_keystone_session(keystone, user),
                                     adapter_options={'endpoint_override': telewatch_api})
    return {'gnocchi': Store(gnocchi, gnocchi),
            'telewatch': Store(telewatch(keystone.admin), telewatch(keystone.service))}


def _iso(moment):
    return moment.isoformat()


class Scenario:
    """The resources, metrics and measures both stores get; their ids are the same in both."""

    def __init__(self, keystone):
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        # One measure a minute from t0 on, a minute before the newest past one: Aodh looks
        # at the last two minutes, so measures stamped ahead keep the alarms that read them
        # in the same state however long the test takes.
        self.t0 = now - datetime.timedelta(seconds=65)
        alice = keystone.token(keystone.alice)
        # The instances are alice's (project-a); the publisher creates them.
        self.owner = {'project_id': alice.project_id, 'user_id': alice.user_id}
        self.resource_type = services.unique('aodh_instance')
        self.group = str(uuid.uuid4())  # what Heat puts in metering.server_group
        self.ids = {name: str(uuid.uuid4()) for name in ('web1', 'web2', 'gone', 'other')}
        started = _iso(now - datetime.timedelta(hours=1))
        ahead = range(6)
        # The group's mean cpu grows by 300 a minute over web1 and web2 alone (150, 450,
        # 750...); with the deleted instance (ended before now, after its last measure) or
        # the other group's one, the rate would be lower. web1's cpu_util stops now: the
        # test adds to it later (Gnocchi would drop measures older than the newest one's
        # hour, its back window).
        self.resources = {
            'web1': ({'server_group': self.group, 'started_at': started},
                     {'cpu': [100 + 300 * k for k in ahead], 'cpu_util': [5, 10]}),
            'web2': ({'server_group': self.group, 'started_at': started},
                     {'cpu': [200 + 300 * k for k in ahead], 'cpu_util': [80 for k in ahead]}),
            'gone': ({'server_group': self.group, 'started_at': started,
                      'ended_at': _iso(now - datetime.timedelta(seconds=2))},
                     {'cpu': [1000, 1000], 'cpu_util': [90, 90]}),
            'other': ({'server_group': str(uuid.uuid4()), 'started_at': started},
                      {'cpu': [0 for k in ahead], 'cpu_util': [0, 0]}),
        }

    def feed(self, store):
        """Make the resource type, resources, metrics and measures in one Store; return the
        metric ids by (resource, metric name)."""
        client = store.publisher
        store.admin.resource_type.create({'name': self.resource_type, 'attributes': {
            'server_group': {'type': 'string', 'required': False}}})
        metric_ids, counts = {}, {}
        for name, (attributes, series) in self.resources.items():
            body = dict(attributes, id=self.ids[name], **self.owner)
            body['metrics'] = {metric: {'archive_policy_name': POLICY} for metric in series}
            created = client.resource.create(self.resource_type, body)
            for metric, values in series.items():
                metric_id = metric_ids[name, metric] = created['metrics'][metric]
                client.metric.add_measures(metric_id, [
                    {'timestamp': _iso(self.t0 + datetime.timedelta(minutes=k)), 'value': v}
                    for k, v in enumerate(values)])
                counts[metric_id] = len(values)
        for metric_id, count in counts.items():
            wait_for_points(client, metric_id, count)
        return metric_ids

    def remove(self, store):
        # One by one: Gnocchi 4.7's batch delete of a custom type's resources leaves their
        # generic rows behind (and the type in use).
        for resource_id in self.ids.values():
            with contextlib.suppress(gnocchi_exceptions.ResourceNotFound):
                store.publisher.resource.delete(resource_id)
        with contextlib.suppress(gnocchi_exceptions.ResourceTypeNotFound):
            store.admin.resource_type.delete(self.resource_type)

    def alarms(self, metric_ids):
        """The alarms (Aodh's POST bodies) by name, the state each must reach and the value
        it must see (or None)."""
        web1, web2 = metric_ids['web1', 'cpu_util'], metric_ids['web2', 'cpu_util']
        return {
            'one_resource': (_rule(
                'gnocchi_resources_threshold', metric='cpu_util', threshold=50,
                resource_id=self.ids['web1'], resource_type=self.resource_type,
                aggregation_method='mean'), 'ok', 10.0),
            'one_metric': (_rule(
                'gnocchi_aggregation_by_metrics_threshold', metrics=[web2], threshold=50,
                aggregation_method='mean'), 'alarm', 80.0),
            'server_group_rate': (self._group_rate(self.group), 'alarm', 300.0),
            # Aodh puts both metrics under one `aggregate`, which Gnocchi refuses (400).
            'two_metrics': (_rule(
                'gnocchi_aggregation_by_metrics_threshold', metrics=[web1, web2],
                threshold=50, aggregation_method='mean'), 'insufficient data', None),
            'no_such_granularity': (_rule(
                'gnocchi_resources_threshold', metric='cpu_util', threshold=50,
                resource_id=self.ids['web2'], resource_type=self.resource_type,
                aggregation_method='mean', granularity=300), 'insufficient data', None),
            'empty_server_group': (self._group_rate(str(uuid.uuid4())),
                                   'insufficient data', None),
        }

    def _group_rate(self, group):
        """Heat's autoscaling alarm (OS::Aodh::GnocchiAggregationByResourcesAlarm) over the
        instances of ``group``."""
        return _rule('gnocchi_aggregation_by_resources_threshold', metric='cpu',
                     threshold=250, aggregation_method='rate:mean',
                     resource_type=self.resource_type, query=json.dumps(
                         {'and': [{'=': {'server_group': group}},
                                  {'=': {'ended_at': None}}]}))


def _rule(kind, **fields):
    return {'type': kind, kind + '_rule': dict(THRESHOLD, **fields)}


def wait_for_points(client, metric_id, count):
    """Wait until a metric's measures are aggregated into ``count`` 1-minute points."""
    deadline = time.monotonic() + WAIT
    while True:
        points = [p for p in client.metric.get_measures(metric_id, refresh=True)
                  if p[1] == GRANULARITY]
        if len(points) == count or time.monotonic() > deadline:
            assert len(points) == count, points
            return
        time.sleep(0.2)


@pytest.fixture(scope='module')
def scenario(stores, keystone):
    scenario = Scenario(keystone)
    metric_ids = {}
    try:
        for name, store in stores.items():
            metric_ids[name] = scenario.feed(store)
        assert metric_ids['gnocchi'].keys() == metric_ids['telewatch'].keys()
        yield scenario, metric_ids
    finally:
        for store in stores.values():
            scenario.remove(store)


def evaluated(aodh, alarm_id, unlike):
    """The alarm once the evaluator has changed it from what ``unlike`` says (a state reason
    or a state), waiting at most WAIT s."""
    deadline = time.monotonic() + WAIT
    while True:
        alarm = aodh.alarm(alarm_id)
        if alarm['state_reason'] not in unlike and alarm['state'] not in unlike:
            return alarm
        assert time.monotonic() < deadline, 'not evaluated: %s\n%s' % (alarm, aodh.logs())
        time.sleep(0.5)


def test_the_same_alarms_reach_the_same_states(aodhs, scenario, stores):
    scenario, metric_ids = scenario
    created = {}
    for store, aodh in aodhs.items():
        for name, (body, state, _) in scenario.alarms(metric_ids[store]).items():
            alarm = aodh.create_alarm(dict(body, name=name))
            if state == 'insufficient data':
                # From another state, so that the evaluator's verdict shows.
                aodh.set_state(alarm['alarm_id'], 'ok')
            created[store, name] = alarm['alarm_id']
    expected = {name: (state, value) for name, (_, state, value)
                in scenario.alarms(metric_ids['gnocchi']).items()}
    states = {}
    for (store, name), alarm_id in created.items():
        alarm = evaluated(aodhs[store], alarm_id, INITIAL_REASONS)
        states[store, name] = alarm
        assert alarm['state'] == expected[name][0], (store, name, alarm)
    for name, (state, value) in expected.items():
        gnocchi, telewatch = states['gnocchi', name], states['telewatch', name]
        assert gnocchi['state'] == telewatch['state'] == state
        if value is not None:
            assert 'most recent: %s' % value in gnocchi['state_reason'], gnocchi
        # Aodh words its reason from gnocchiclient's exception (chosen by the status and the
        # error's text) or the values: the same but where it quotes a 400's own words.
        if name != 'two_metrics':
            assert telewatch['state_reason'] == gnocchi['state_reason']
        else:
            assert telewatch['state_reason'].startswith(
                "alarm statistics retrieval failed: {'cause': 'Invalid input'")
            assert gnocchi['state_reason'].startswith(
                "alarm statistics retrieval failed: {'cause': 'Invalid input'")

    # web1's cpu_util jumps: its alarm goes from ok to alarm on both sides.
    now = datetime.datetime.now(datetime.timezone.utc)
    for store, clients in stores.items():
        metric_id = metric_ids[store]['web1', 'cpu_util']
        clients.publisher.metric.add_measures(metric_id, [{'timestamp': _iso(now),
                                                           'value': 1000}])
    after = {store: evaluated(aodhs[store], created[store, 'one_resource'], ('ok',))
             for store in aodhs}
    assert after['gnocchi']['state'] == after['telewatch']['state'] == 'alarm'
    assert after['telewatch']['state_reason'] == after['gnocchi']['state_reason']


def test_a_project_members_alarm_sees_its_projects_instances_only(aodhs, scenario, keystone):
    """Heat creates its alarm with its user's token: Aodh then limits the query to the
    resources that user's project created, or that the ``service`` project (Ceilometer's)
    created for it. Against telewatch-api only: the reference Gnocchi authenticates with
    basic auth, where no resource has a creator's project to match."""
    scenario, _ = scenario
    aodh = aodhs['telewatch']
    states = {}
    for user in (keystone.alice, keystone.bob):
        project = keystone.token(user).project_id
        alarm = aodh.create_alarm(dict(scenario._group_rate(scenario.group), name=user.name),
                                  project)
        query = json.loads(alarm[alarm['type'] + '_rule']['query'])
        assert query['and'][0] == {'or': [
            {'=': {'created_by_project_id': project}},
            {'and': [{'=': {'created_by_project_id': keystone.token(
                keystone.service).project_id}}, {'=': {'project_id': project}}]}]}
        if user is keystone.bob:
            aodh.set_state(alarm['alarm_id'], 'ok')
        states[user.name] = evaluated(aodh, alarm['alarm_id'], INITIAL_REASONS)
    assert states['alice']['state'] == 'alarm', states['alice']
    assert states['alice']['state_reason'].endswith('most recent: 300.0')
    assert states['bob']['state'] == 'insufficient data', states['bob']
    assert states['bob']['state_reason'] == 'metric cpu does not exists'
