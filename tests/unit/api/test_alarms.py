"""The Aodh v2 API in-process (noauth): what it stores and shows, Aodh's defaults, checks and
error bodies, project scoping, the simple and complex queries, pages, state, history and
quotas. The aodh CLI's view of the same is tests/functional/test_api_aodh.py."""

import json
import uuid

import pytest
import webtest

from telewatch.alarms import storage
from telewatch.api import app as app_mod

# As the aodh CLI sends them (Pecan writes its own body for a client accepting JSON).
JSON = {'Accept': 'application/json'}
ALICE = dict(JSON, **{'X-User-Id': 'alice', 'X-Project-Id': 'pa'})
BOB = dict(JSON, **{'X-User-Id': 'bob', 'X-Project-Id': 'pb'})
ADMIN = dict(JSON, **{'X-User-Id': 'root', 'X-Project-Id': 'padmin', 'X-Roles': 'admin'})
SERVER = '5a301761-f78b-46e2-8900-8b4f6fe6675a'


@pytest.fixture
def alarms(conf, store):
    alarms = storage.AlarmStore.from_conf(conf)
    yield alarms
    alarms.close()


@pytest.fixture
def v2(conf, store, alarms):
    api = webtest.TestApp(app_mod.make_app(conf, store, alarms=alarms))
    api.post_json('/v1/resource_type', {'name': 'instance', 'attributes': {
        'server_group': {'type': 'string', 'required': False}}}, headers=ADMIN)
    resource = api.post_json('/v1/resource/instance', {
        'id': SERVER, 'project_id': 'pa', 'server_group': 'stack-1',
        'metrics': {'cpu': {'archive_policy_name': 'low'}}}, headers=ALICE).json
    api.metric_id = resource['metrics']['cpu']
    return api


def threshold(name='a', **rule):
    body = {'name': name, 'type': 'gnocchi_resources_threshold',
            'gnocchi_resources_threshold_rule': dict({
                'metric': 'cpu', 'resource_id': SERVER, 'resource_type': 'instance',
                'threshold': 80, 'aggregation_method': 'mean'}, **rule)}
    return body


def fault(response):
    body = response.json['error_message']
    assert body['faultcode'] == ('Client' if response.status_int < 500 else 'Server')
    assert body['debuginfo'] is None
    return body['faultstring']


def test_create_fills_aodh_defaults_and_shows_the_rule_under_its_type(v2):
    response = v2.post_json('/v2/alarms', threshold(), headers=ALICE, status=201)
    alarm = response.json
    assert response.location.endswith('/v2/alarms/' + alarm['alarm_id'])
    assert {k: alarm[k] for k in ('enabled', 'state', 'state_reason', 'severity',
                                  'repeat_actions', 'description', 'user_id',
                                  'project_id', 'time_constraints')} == {
        'enabled': True, 'state': 'insufficient data', 'state_reason': 'Not evaluated yet',
        'severity': 'low', 'repeat_actions': False,
        'description': 'gnocchi_resources_threshold alarm rule', 'user_id': 'alice',
        'project_id': 'pa', 'time_constraints': []}
    assert alarm['gnocchi_resources_threshold_rule'] == {
        'metric': 'cpu', 'resource_id': SERVER, 'resource_type': 'instance',
        'threshold': 80.0, 'aggregation_method': 'mean', 'comparison_operator': 'eq',
        'evaluation_periods': 1, 'granularity': 60}
    assert 'reason_data' not in alarm and 'rule' not in alarm
    assert v2.get('/v2/alarms/' + alarm['alarm_id'], headers=ALICE).json == alarm


@pytest.mark.parametrize('body, status, text', [
    ({'type': 'event'}, 400,
     "Invalid input for field/attribute name. Value: 'None'. Mandatory field missing."),
    (dict(threshold(), type='threshold'), 400, 'Value should be one of: composite, event'),
    ({'name': 'a', 'type': 'composite'}, 400,
     'composite_rule must be set for composite type alarm'),
    (dict(threshold(), event_rule={'event_type': 'x'}), 400,
     'gnocchi_resources_threshold_rule and event_rule cannot be set at the same time'),
    (dict(threshold(), severity='high'), 400,
     "severity. Value: 'high'. Value should be one of: critical, low, moderate"),
    (dict(threshold(), color='red'), 400, 'Unknown attribute for argument data: color'),
    (threshold(comparison_operator='gte'), 400, 'Value should be one of: eq, ge, gt'),
    (threshold(threshold='high'), 400, "Wrong type. Expected 'float', got 'str'"),
    (threshold(evaluation_periods=0), 400, 'Value should be between 1 and 100'),
    (threshold(datapoints_to_alarm=3), 400, 'at most evaluation_periods (1), not 3'),
    (threshold(treat_missing_data='skip'), 400, 'treat_missing_data'),
    (threshold(aggregation_method='avg'), 400, "aggregation_method should be in ["),
    (threshold(resource_id=str(uuid.uuid4())), 400, 'does not exist'),
    (threshold(metric='memory'), 400, 'Metric memory does not exist on resource'),
    (threshold(resource_type='volume'), 400, 'is of type instance, not volume'),
    (dict(threshold(), time_constraints=[{'name': 'n', 'start': 'never', 'duration': 1}]),
     400, 'time_constraints[0].start'),
    (dict(threshold(), time_constraints=[{'name': 'n', 'start': '0 1 * * *',
                                          'duration': '-1'}]),
     400, 'time_constraints[0].duration'),
    (dict(threshold(), time_constraints=[{'name': 'n', 'start': '0 1 * * *', 'duration': 1,
                                          'timezone': 'Mars/Olympus'}]),
     400, 'Timezone Mars/Olympus is not valid'),
    (dict(threshold(), time_constraints=[{'name': 'n', 'start': '0 1 * * *', 'duration': 1},
                                         {'name': 'n', 'start': '0 2 * * *', 'duration': 1}]),
     400, 'Time constraint names must be unique for a given alarm.'),
    (dict(threshold(), alarm_actions=['gopher://h/']), 400, 'Unsupported action gopher://h/'),
    (dict(threshold(), alarm_actions=['log://']), 401,
     'You are not authorized to create action: log://'),
    (dict(threshold(), project_id='pb'), 401, 'Not Authorized to access project pb'),
])
def test_bad_alarms_are_refused_with_aodh_texts(v2, body, status, text):
    response = v2.post_json('/v2/alarms', body, headers=ALICE, status=status)
    assert text in fault(response)


def test_a_metric_or_resource_of_another_project_is_not_seen(v2):
    refused = v2.post_json('/v2/alarms', threshold(), headers=BOB, status=400)
    assert fault(refused) == 'Resource %s does not exist' % SERVER
    by_metrics = {'name': 'm', 'type': 'gnocchi_aggregation_by_metrics_threshold',
                  'gnocchi_aggregation_by_metrics_threshold_rule': {
                      'metrics': [v2.metric_id], 'threshold': 1,
                      'aggregation_method': 'rate:mean'}}
    assert fault(v2.post_json('/v2/alarms', by_metrics, headers=BOB, status=400)) == (
        'Metric %s does not exist' % v2.metric_id)
    v2.post_json('/v2/alarms', by_metrics, headers=ALICE, status=201)


def heat_body(stack='stack-1'):
    """What Heat's OS::Aodh::GnocchiAggregationByResourcesAlarm sends."""
    return {'name': 'cpu_alarm_high', 'type': 'gnocchi_aggregation_by_resources_threshold',
            'description': 'Scale up if CPU > 80%', 'repeat_actions': True,
            'alarm_actions': ['http://hooks.example.org:8000/v1/signal/up'],
            'gnocchi_aggregation_by_resources_threshold_rule': {
                'metric': 'cpu', 'aggregation_method': 'rate:mean', 'granularity': 300,
                'evaluation_periods': 1, 'threshold': 800000000.0,
                'comparison_operator': 'gt', 'resource_type': 'instance',
                'query': json.dumps({'and': [{'=': {'server_group': stack}},
                                             {'=': {'ended_at': None}}]})}}


def test_a_by_resources_query_is_confined_to_the_project_as_aodh_does(v2):
    alarm = v2.post_json('/v2/alarms', heat_body(), headers=ALICE, status=201).json
    query = json.loads(alarm['gnocchi_aggregation_by_resources_threshold_rule']['query'])
    assert query == {'and': [
        {'or': [{'=': {'created_by_project_id': 'pa'}},
                {'and': [{'=': {'created_by_project_id': ''}},
                         {'=': {'project_id': 'pa'}}]}]},
        {'and': [{'=': {'server_group': 'stack-1'}}, {'=': {'ended_at': None}}]}]}
    again = v2.put_json('/v2/alarms/' + alarm['alarm_id'], alarm, headers=ALICE).json
    assert again['gnocchi_aggregation_by_resources_threshold_rule'] == (
        alarm['gnocchi_aggregation_by_resources_threshold_rule'])  # not wrapped twice
    own = v2.post_json('/v2/alarms', heat_body(), headers=ADMIN, status=201).json
    assert json.loads(own['gnocchi_aggregation_by_resources_threshold_rule']['query']) == {
        'and': [{'=': {'server_group': 'stack-1'}}, {'=': {'ended_at': None}}]}
    bad = heat_body()
    bad['gnocchi_aggregation_by_resources_threshold_rule']['query'] = '{"=": {"nope": 1}}'
    assert 'nope' in fault(v2.post_json('/v2/alarms', bad, headers=ALICE, status=400))
    bad['gnocchi_aggregation_by_resources_threshold_rule'].update(
        query='{}', resource_type='starship')
    assert fault(v2.post_json('/v2/alarms', bad, headers=ALICE, status=404)) == (
        'Resource type starship does not exist')


def test_composite_and_event_alarms(v2):
    leaf = dict(threshold()['gnocchi_resources_threshold_rule'],
                type='gnocchi_resources_threshold')
    body = {'name': 'c', 'type': 'composite',
            'composite_rule': {'or': [leaf, {'and': [leaf, dict(leaf, threshold=5)]}]}}
    alarm = v2.post_json('/v2/alarms', body, headers=ALICE, status=201).json
    assert alarm['composite_rule']['or'][0]['granularity'] == 60
    assert alarm['description'] == 'composite alarm rule'
    body['composite_rule'] = {'or': [dict(leaf, type='event')]}
    assert 'Unsupported sub-rule type :event' in fault(
        v2.post_json('/v2/alarms', body, headers=ALICE, status=400))
    event = v2.post_json('/v2/alarms', {'name': 'e', 'type': 'event', 'event_rule': {
        'event_type': 'compute.instance.*', 'query': [
            {'field': 'traits.state', 'value': 'error'}]}}, headers=ALICE, status=201).json
    assert event['event_rule'] == {'event_type': 'compute.instance.*', 'query': [
        {'field': 'traits.state', 'op': 'eq', 'value': 'error'}]}
    assert event['description'] == 'Alarm when compute.instance.* event occurred.'


def test_another_projects_alarm_is_not_found_and_admin_sees_all(v2):
    alarm_id = v2.post_json('/v2/alarms', threshold(), headers=ALICE).json['alarm_id']
    for method, path in [('GET', ''), ('DELETE', ''), ('GET', '/state'), ('GET', '/history')]:
        response = v2.request('/v2/alarms/%s%s' % (alarm_id, path), method=method,
                              headers=BOB, expect_errors=True)
        assert response.status_int == 404
        assert fault(response) == 'Alarm %s not found in project pb' % alarm_id
    assert v2.get('/v2/alarms', headers=BOB).json == []
    assert v2.get('/v2/alarms', headers=ADMIN).json == []  # its own project by default
    everyone = v2.get('/v2/alarms?q.field=all_projects&q.value=true', headers=ADMIN).json
    assert [a['alarm_id'] for a in everyone] == [alarm_id]
    named = v2.get('/v2/alarms?q.field=project_id&q.value=pa', headers=ADMIN).json
    assert [a['alarm_id'] for a in named] == [alarm_id]
    assert fault(v2.get('/v2/alarms?q.field=project_id&q.value=pa', headers=BOB,
                        status=401)) == 'Not Authorized to access project pa'
    assert v2.get('/v2/alarms/' + alarm_id, headers=ADMIN).json['project_id'] == 'pa'


def test_simple_queries_sort_and_pages(v2):
    for name, severity in [('b', 'low'), ('a', 'critical'), ('c', 'critical')]:
        v2.post_json('/v2/alarms', dict(threshold(name), severity=severity), headers=ALICE)
    names = lambda url: [a['name'] for a in v2.get(url, headers=ALICE).json]  # noqa: E731
    assert names('/v2/alarms?q.field=severity&q.op=eq&q.value=critical&sort=name') == [
        'a', 'c']
    assert names('/v2/alarms?sort=name:desc') == ['c', 'b', 'a']
    first = v2.get('/v2/alarms?sort=name&limit=2', headers=ALICE).json
    assert [a['name'] for a in first] == ['a', 'b']
    assert names('/v2/alarms?sort=name&limit=2&marker=' + first[-1]['alarm_id']) == ['c']
    assert names('/v2/alarms?q.field=enabled&q.value=False') == []
    for url, text in [
            ('/v2/alarms?q.field=name&q.op=lt&q.value=b', 'unimplemented operator for name'),
            ('/v2/alarms?q.field=color&q.value=red', 'Unknown argument: "color"'),
            ('/v2/alarms?q.field=timestamp&q.op=gt&q.value=2020-01-01',
             'Unknown argument: "timestamp": not valid for this resource'),
            ('/v2/alarms?sort=rule', 'the supported sort keys are'),
            ('/v2/alarms?limit=0', 'it should be a positive integer.'),
            ('/v2/alarms?marker=nope', 'Marker nope not found.')]:
        assert text in fault(v2.get(url, headers=ALICE, status=400)), url


def test_put_replaces_and_records_what_changed(v2):
    alarm = v2.post_json('/v2/alarms', threshold(), headers=ALICE).json
    sent = dict(alarm, severity='critical', state='alarm')  # as the aodh CLI sends it back
    updated = v2.put_json('/v2/alarms/' + alarm['alarm_id'], sent, headers=ALICE).json
    assert (updated['severity'], updated['state'], updated['state_reason']) == (
        'critical', 'alarm', 'Manually set via API')
    assert updated['timestamp'] > alarm['timestamp']
    history = v2.get('/v2/alarms/%s/history' % alarm['alarm_id'], headers=ALICE).json
    assert [h['type'] for h in history] == ['rule change', 'creation']
    assert json.loads(history[0]['detail']) == {
        'severity': 'critical', 'state': 'alarm', 'state_reason': 'Manually set via API'}
    assert history[0]['on_behalf_of'] == 'pa' and history[0]['user_id'] == 'alice'
    replaced = v2.put_json('/v2/alarms/' + alarm['alarm_id'], {
        'name': 'e', 'type': 'event'}, headers=ALICE).json
    assert replaced['event_rule'] == {'event_type': '*', 'query': []}
    assert 'gnocchi_resources_threshold_rule' not in replaced


def test_state_get_and_put_of_a_bare_string(v2):
    alarm_id = v2.post_json('/v2/alarms', threshold(), headers=ALICE).json['alarm_id']
    url = '/v2/alarms/%s/state' % alarm_id
    assert v2.get(url, headers=ALICE).json == 'insufficient data'
    assert v2.put_json(url, 'alarm', headers=ALICE).json == 'alarm'
    assert v2.get('/v2/alarms/' + alarm_id, headers=ALICE).json['state_reason'] == (
        'Manually set via API')
    entry = v2.get('/v2/alarms/%s/history' % alarm_id, headers=ALICE).json[0]
    assert entry['type'] == 'state transition'
    assert json.loads(entry['detail']) == {'state': 'alarm',
                                           'state_reason': 'Manually set via API'}
    assert 'Value should be one of: alarm, insufficient data, ok' in fault(
        v2.put_json(url, 'fire', headers=ALICE, status=400))


def test_complex_queries_are_confined_to_the_project(v2):
    mine = v2.post_json('/v2/alarms', threshold('x'), headers=ALICE).json
    v2.post_json('/v2/alarms', threshold('x'), headers=ADMIN)
    found = v2.post_json('/v2/query/alarms', {'filter': json.dumps({'=': {'name': 'x'}})},
                         headers=ALICE).json
    assert [a['alarm_id'] for a in found] == [mine['alarm_id']]
    assert len(v2.post_json('/v2/query/alarms', {'filter': json.dumps(
        {'=': {'name': 'x'}})}, headers=ADMIN).json) == 2
    assert fault(v2.post_json('/v2/query/alarms', {'filter': json.dumps(
        {'or': [{'=': {'name': 'x'}}, {'=': {'project': 'padmin'}}]})},
        headers=ALICE, status=401)) == 'Not Authorized to access project padmin'
    assert fault(v2.post_json('/v2/query/alarms', {'filter': '{"=": '}, headers=ALICE,
                              status=400)).startswith('Filter expression not valid: ')
    assert fault(v2.post_json('/v2/query/alarms', {'orderby': '[{"name": "up"}]'},
                              headers=ALICE, status=400)).startswith(
        'Order-by expression not valid: ')
    assert fault(v2.post_json('/v2/query/alarms', {'limit': 0}, headers=ALICE,
                              status=400)) == 'Limit should be positive'
    v2.delete('/v2/alarms/' + mine['alarm_id'], headers=ALICE, status=204)
    history = v2.post_json('/v2/query/alarms/history', {
        'filter': json.dumps({'=': {'alarm_id': mine['alarm_id']}}),
        'orderby': json.dumps([{'timestamp': 'asc'}])}, headers=ALICE).json
    assert [h['type'] for h in history] == ['creation', 'deletion']
    assert v2.post_json('/v2/query/alarms/history', {'filter': json.dumps(
        {'=': {'alarm_id': mine['alarm_id']}})}, headers=BOB).json == []


def test_quotas(v2, conf):
    assert v2.get('/v2/quotas', headers=ALICE).json == {
        'project_id': 'pa', 'quotas': [{'resource': 'alarms', 'limit': -1}]}
    assert fault(v2.get('/v2/quotas?project_id=pb', headers=ALICE, status=401)) == (
        'Not Authorized to access project pb')
    assert fault(v2.post_json('/v2/quotas', {'project_id': 'pa', 'quotas': [
        {'resource': 'alarms', 'limit': 1}]}, headers=ALICE, status=403)) == (
        'RBAC Authorization Failed')
    set_ = v2.post_json('/v2/quotas', {'project_id': 'pa', 'quotas': [
        {'resource': 'alarms', 'limit': 1}]}, headers=ADMIN, status=201).json
    assert set_['quotas'] == [{'resource': 'alarms', 'limit': 1}]
    v2.post_json('/v2/alarms', threshold('one'), headers=ALICE, status=201)
    assert fault(v2.post_json('/v2/alarms', threshold('two'), headers=ALICE, status=403)) == (
        'Alarm quota exceeded for user alice on project pa')
    v2.delete('/v2/quotas/pa', headers=ADMIN, status=204)
    v2.post_json('/v2/alarms', threshold('two'), headers=ALICE, status=201)
    conf.set_override('user_alarm_quota', 2, group='alarms')
    assert 'quota exceeded' in fault(v2.post_json('/v2/alarms', threshold('three'),
                                                  headers=ALICE, status=403))


def test_capabilities_and_version_documents(v2):
    caps = v2.get('/v2/capabilities/', headers=ALICE).json
    assert caps['api']['alarms:query:complex'] is True
    root = v2.get('/').json
    assert [v['id'] for v in root['versions']] == ['v1.0', 'v2'] and 'build' in root
    assert v2.get('/v2', headers=ALICE).json['id'] == 'v2'


def test_an_unreachable_store_is_a_503_in_aodh_shape(conf, store, tmp_path):
    missing = storage.AlarmStore('sqlite:///%s' % (tmp_path / 'no' / 'such' / 'dir.sqlite'))
    api = webtest.TestApp(app_mod.make_app(conf, store, alarms=missing))
    response = api.get('/v2/alarms', headers=ALICE, status=503)
    assert fault(response) == 'The alarm store is unavailable, try again later.'
