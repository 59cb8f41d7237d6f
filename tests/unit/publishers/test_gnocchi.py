"""The gnocchi publisher against an in-memory Gnocchi at gnocchiclient's boundary: options,
auth, what it creates in Gnocchi, the batch and its "Unknown resources" answer, attribute
updates, and which failures are retryable."""

import datetime
import pathlib

import pytest
from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc
from keystoneauth1 import loading as ka_loading

from telewatch.archive import policy as policy_mod
from telewatch.publishers import base
from telewatch.publishers import gnocchi
from tests.unit.publishers import common
from tests.unit.publishers import fake_gnocchi

REPO = pathlib.Path(__file__).resolve().parents[3]
MAPPING = REPO / 'etc' / 'archive_resources.yaml'
T0 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.timezone.utc)
VM = '5a0c1e8e-2f2b-4c55-9d7e-0c8d3f1b2a01'
BATCH = 'metric.batch_resources_metrics_measures'
INSTANCE_METADATA = {'instance_host': 'cmp-1', 'host': 'a1b2c3', 'display_name': 'web-1',
                     'flavor': {'id': '2', 'name': 'm1.small'}, 'instance_type': 'm1.small',
                     'image_ref': 'img-1', 'vcpus': 1}


def url(query='', base_url='gnocchi://127.0.0.1:8051'):
    """``base_url`` with ``query`` and the shipped mapping; auth=basic unless ``query`` says."""
    options = [query] if query else []
    if 'auth=' not in query:
        options.append('auth=basic')
    options.append('resources_definition_file=%s' % MAPPING)
    return '%s%s%s' % (base_url, '&' if '?' in base_url else '?', '&'.join(options))


def make(query='', base_url='gnocchi://127.0.0.1:8051'):
    return common.make_publisher(gnocchi.GnocchiPublisher, url(query, base_url))


@pytest.fixture
def fake(monkeypatch):
    """The in-memory Gnocchi every publisher of the test talks to; ``fake.clients`` holds
    the (session, adapter_options) each Client was built with."""
    fake = fake_gnocchi.FakeGnocchi()
    fake.clients = []

    def client(session, adapter_options):
        fake.clients.append((session, adapter_options))
        return fake

    monkeypatch.setattr(gnocchi.gnocchi_client, 'Client', client)
    return fake


def cpu(volume, resource_id=VM, minutes=0, metadata=None, project_id='project-1'):
    return common.make_sample(name='cpu', type='cumulative', unit='ns', volume=volume,
                              resource_id=resource_id, project_id=project_id,
                              timestamp=T0 + datetime.timedelta(minutes=minutes),
                              resource_metadata=INSTANCE_METADATA if metadata is None
                              else metadata)


def disk_used(volume, mountpoint='/boot', minutes=0):
    return common.make_sample(
        name='hardware.disk.size.used', type='gauge', unit='KB', volume=volume,
        resource_id='cmp-1.%s' % mountpoint, user_id=None, project_id=None,
        timestamp=T0 + datetime.timedelta(minutes=minutes),
        resource_metadata={'host': 'cmp-1', 'device': '/dev/sda1', 'mountpoint': mountpoint})


# -- options and auth -----------------------------------------------------------------------

@pytest.mark.parametrize('query, base_url, message', [
    ('colour=red', None, "unknown option 'colour'"),
    ('timeout=0', None, "option 'timeout'"),
    ('auth=ldap', None, 'expected keystone, basic or noauth'),
    ('user_id=u', None, 'option user_id: only with auth=noauth'),
    ('', 'gnocchi://', 'auth=basic needs Gnocchi\'s address'),
    ('endpoint=http://g:8041', None, 'the URL has a host and the option endpoint'),
    ('', 'gnocchi://g:8041/metric', 'the URL has a path'),
    ('', 'gnocchi://g:99999', 'bad port'),
    ('', 'gnocchi://?endpoint=ftp://g', 'option endpoint: expected an http://'),
])
def test_bad_urls(query, base_url, message):
    with pytest.raises(ValueError) as caught:
        make(query, base_url or 'gnocchi://127.0.0.1:8051')
    assert message in str(caught.value)


def test_noauth_needs_both_ids():
    with pytest.raises(ValueError, match='auth=noauth needs the options user_id and '):
        common.make_publisher(gnocchi.GnocchiPublisher,
                              'gnocchi://g?auth=noauth&user_id=u&resources_definition_file=%s'
                              % MAPPING)


def test_mapping_errors_stop_the_publisher_with_their_lines(tmp_path):
    path = tmp_path / 'mapping.yaml'
    path.write_text('resource_types:\n  instance:\n    metrics: {cpu: {policy: x}}\n')
    with pytest.raises(ValueError) as caught:
        common.make_publisher(gnocchi.GnocchiPublisher,
                              'gnocchi://g?auth=basic&resources_definition_file=%s' % path)
    assert str(caught.value) == (
        'option resources_definition_file:\n%s:3: resource_types.instance.metrics.cpu.policy: '
        'unknown key (expected one of: archive_policy)' % path)


def test_missing_mapping_file():
    with pytest.raises(ValueError, match='option resources_definition_file:\n'
                                         'nowhere.yaml: not found'):
        common.make_publisher(gnocchi.GnocchiPublisher,
                              'gnocchi://g?auth=basic&resources_definition_file=nowhere.yaml')


def test_basic_auth_sends_gnocchi_basic_header_to_the_endpoint(fake):
    publisher = make('user=telemetry&timeout=2.5')
    publisher.start()
    session, adapter_options = fake.clients[0]
    assert adapter_options == {'endpoint_override': 'http://127.0.0.1:8051'}
    # base64("telemetry:"), scheme in lower case, as gnocchiclient's gnocchi-basic.
    assert session.auth.get_headers(session) == {'Authorization': 'basic dGVsZW1ldHJ5Og=='}
    assert session.timeout == 2.5
    publisher.start()  # a second start keeps the client
    assert len(fake.clients) == 1
    publisher.stop()
    publisher.stop()


def test_noauth_sends_ids_and_roles(fake):
    publisher = make('auth=noauth&user_id=u-1&project_id=p-1', base_url='gnocchi://[::1]')
    publisher.start()
    session, adapter_options = fake.clients[0]
    assert adapter_options == {'endpoint_override': 'http://[::1]:8041'}
    assert session.auth.get_headers(session) == {
        'x-user-id': 'u-1', 'x-project-id': 'p-1', 'x-roles': 'admin'}


def test_endpoint_option(fake):
    publisher = make('', base_url='gnocchi://?endpoint=https://metric.example.org/gnocchi')
    publisher.start()
    assert fake.clients[0][1] == {'endpoint_override': 'https://metric.example.org/gnocchi'}


def keystone_conf(**options):
    """A configuration with [gnocchi] options, the password plugin's among them."""
    conf = common.make_conf()
    gnocchi.register_opts(conf)
    conf.register_opts(ka_loading.get_auth_plugin_conf_options('password'), group='gnocchi')
    for name, value in options.items():
        conf.set_override(name, value, group='gnocchi')
    return conf


def test_keystone_auth_needs_an_auth_type():
    with pytest.raises(ValueError, match=r'auth=keystone needs \[gnocchi\] auth_type'):
        gnocchi.GnocchiPublisher(base.PublisherURL(
            'gnocchi://?resources_definition_file=%s' % MAPPING), keystone_conf())


@pytest.mark.parametrize('auth_type, message', [
    ('password', 'Auth plugin requires parameters which were not given: auth_url'),
    ('passwrod', 'The plugin passwrod could not be found')])
def test_keystone_auth_options_are_checked_at_load(auth_type, message):
    with pytest.raises(ValueError) as caught:
        gnocchi.GnocchiPublisher(base.PublisherURL(
            'gnocchi://?resources_definition_file=%s' % MAPPING), keystone_conf(
                auth_type=auth_type))
    assert str(caught.value) == 'auth=keystone: [gnocchi] %s' % message


def test_keystone_auth_from_the_configuration(fake):
    conf = keystone_conf(auth_type='password', interface='internal', region_name='r1',
                         auth_url='http://keystone:5000/v3', username='telemetry')
    publisher = gnocchi.GnocchiPublisher(base.PublisherURL(
        'gnocchi://?resources_definition_file=%s' % MAPPING), conf)
    publisher.start()
    session, adapter_options = fake.clients[0]
    assert adapter_options == {'interface': 'internal', 'region_name': 'r1'}
    assert session.auth.auth_url == 'http://keystone:5000/v3'
    assert session.timeout == 6.05


# -- what the mapping needs in Gnocchi ------------------------------------------------------

def test_first_publish_creates_policies_and_resource_types(fake):
    fake.resource_types['instance'] = {'name': 'instance', 'state': 'active', 'attributes': {
        'host': {'type': 'string', 'required': True, 'max_length': 255, 'min_length': 0}}}
    publisher = make()
    publisher.publish([cpu(1e9)])
    builtin = policy_mod.builtin_policies()
    assert [args[0] for args, _ in fake.called('archive_policy.create')] == [
        builtin['ceilometer-low'].to_dict(), builtin['ceilometer-low-rate'].to_dict()]
    created = {args[0]['name']: args[0] for args, _ in fake.called('resource_type.create')}
    assert sorted(created) == ['host', 'host_disk', 'host_network_interface', 'image',
                               'instance_disk', 'instance_network_interface', 'volume']
    assert created['instance_disk']['attributes'] == {
        'name': gnocchi_api_string(), 'instance_id': gnocchi_api_string()}
    # The existing type gets the attributes it lacks, and keeps its own.
    (name, operations), _ = fake.called('resource_type.update')[0]
    assert name == 'instance'
    assert [op['path'] for op in operations] == [
        '/attributes/%s' % a for a in ('image_ref', 'launched_at', 'created_at', 'deleted_at',
                                       'display_name', 'flavor_id', 'flavor_name',
                                       'server_group')]
    assert fake.resource_types['instance']['attributes']['host']['required'] is True
    calls = len(fake.calls)
    publisher.publish([cpu(2e9, minutes=1)])
    assert [name for name, _, _ in fake.calls[calls:]] == [BATCH]


def gnocchi_api_string():
    return {'type': 'string', 'required': False, 'max_length': 256}


def test_types_and_policies_created_meanwhile_by_another_agent(fake):
    fake.archive_policies['ceilometer-low'] = {'name': 'ceilometer-low'}
    fake.resource_types['instance'] = {'name': 'instance', 'state': 'active', 'attributes': {}}
    # The listings were taken just before another agent created these (409 on create).
    fake.archive_policy.list = lambda: [{'name': 'low'}]
    fake.resource_type.list = lambda: [{'name': 'generic', 'attributes': {}}]
    make().publish([cpu(1e9)])
    assert fake.called('resource_type.get') == [(('instance',), {})]
    assert fake.called('resource_type.update')[0][0][0] == 'instance'
    assert fake.resources[VM]['display_name'] == 'web-1'


def test_a_policy_gnocchi_lacks_and_telewatch_cannot_define(fake, tmp_path):
    path = tmp_path / 'mapping.yaml'
    path.write_text('archive_policy: site-policy\nresource_types:\n'
                    '  instance: {metrics: {cpu: }}\n')
    publisher = common.make_publisher(
        gnocchi.GnocchiPublisher, 'gnocchi://g?auth=basic&resources_definition_file=%s' % path)
    with pytest.raises(base.PermanentPublishError) as caught:
        publisher.publish([cpu(1)])
    assert str(caught.value) == (
        'the archive policy site-policy (named by %s) does not exist in Gnocchi, and telewatch '
        'has no definition of it: create it in Gnocchi' % path)
    fake.archive_policies['site-policy'] = {'name': 'site-policy'}
    publisher.publish([cpu(1)])
    assert fake.metrics[VM, 'cpu']['archive_policy_name'] == 'site-policy'


def test_archive_policy_option_overrides_the_mapping(fake):
    publisher = make('archive_policy=ceilometer-high')
    publisher.publish([cpu(1e9), disk_used(10)])
    assert [args[0]['name'] for args, _ in fake.called('archive_policy.create')] == [
        'ceilometer-high']
    assert {m['archive_policy_name'] for m in fake.metrics.values()} == {'ceilometer-high'}


def test_preparing_is_retried_until_it_succeeds(fake):
    fake.fail['archive_policy.list'].append(gnocchi_exc.ConnectionFailure(
        message='Unable to establish connection to http://127.0.0.1:8051/v1/archive_policy'))
    publisher = make()
    with pytest.raises(base.RetryablePublishError) as caught:
        publisher.publish([cpu(1), cpu(2, minutes=1)])
    assert caught.value.samples == 2
    assert str(caught.value).startswith('preparing Gnocchi: Unable to establish connection')
    publisher.publish([cpu(1)])
    assert len(fake.called('archive_policy.list')) == 2
    publisher.publish([cpu(1)])
    assert len(fake.called('archive_policy.list')) == 2


# -- publishing -----------------------------------------------------------------------------

def test_unknown_resources_are_created_and_the_batch_sent_again(fake):
    publisher = make()
    samples = [cpu(1e9), disk_used(100), cpu(4e9, minutes=2), disk_used(300, minutes=2),
               disk_used(7, mountpoint='/')]
    publisher.publish(samples)
    batches = fake.called(BATCH)
    assert len(batches) == 2 and batches[0] == batches[1]
    (measures,), kwargs = batches[1]
    assert kwargs == {'create_metrics': True}
    assert measures == {
        VM: {'cpu': {'archive_policy_name': 'ceilometer-low-rate', 'unit': 'ns', 'measures': [
            {'timestamp': '2026-03-02T10:00:00+00:00', 'value': 1e9},
            {'timestamp': '2026-03-02T10:02:00+00:00', 'value': 4e9}]}},
        # '/' cannot be in a Gnocchi resource id: '_' instead, as Ceilometer.
        'cmp-1._boot': {'hardware.disk.size.used': {
            'archive_policy_name': 'ceilometer-low', 'unit': 'KB', 'measures': [
                {'timestamp': '2026-03-02T10:00:00+00:00', 'value': 100.0},
                {'timestamp': '2026-03-02T10:02:00+00:00', 'value': 300.0}]}},
        'cmp-1._': {'hardware.disk.size.used': {
            'archive_policy_name': 'ceilometer-low', 'unit': 'KB', 'measures': [
                {'timestamp': '2026-03-02T10:00:00+00:00', 'value': 7.0}]}}}
    assert fake.resources[VM] == {
        'type': 'instance', 'user_id': 'u', 'project_id': 'project-1', 'host': 'cmp-1',
        'display_name': 'web-1', 'flavor_id': '2', 'flavor_name': 'm1.small',
        'image_ref': 'img-1'}
    assert fake.resources['cmp-1._boot'] == {
        'type': 'host_disk', 'user_id': None, 'project_id': None, 'host_name': 'cmp-1',
        'device_name': '/dev/sda1', 'mountpoint': '/boot'}
    # Just created with these attributes: nothing to update.
    assert not fake.called('resource.update')
    publisher.publish([cpu(5e9, minutes=3)])
    assert len(fake.called(BATCH)) == 3 and not fake.called('resource.create')[3:]


def test_changed_attributes_are_updated_once(fake):
    publisher = make()
    publisher.publish([cpu(1)])
    resized = dict(INSTANCE_METADATA, instance_type='m1.large', flavor={'id': '4'})
    publisher.publish([cpu(2, minutes=1, metadata=resized), cpu(3, minutes=2)])
    assert not fake.called('resource.update')  # the last sample's attributes did not change
    publisher.publish([cpu(3, minutes=2), cpu(4, minutes=3, metadata=resized)])
    assert fake.called('resource.update') == [(('instance', VM, {
        'host': 'cmp-1', 'display_name': 'web-1', 'flavor_id': '4', 'flavor_name': 'm1.large',
        'image_ref': 'img-1'}), {})]
    assert fake.resources[VM]['flavor_name'] == 'm1.large'
    publisher.publish([cpu(5, minutes=4, metadata=resized)])
    assert len(fake.called('resource.update')) == 1


def test_resources_unknown_to_this_agent_get_their_attributes_sent(fake, monkeypatch):
    fake.resources[VM] = {'type': 'instance', 'user_id': 'u', 'project_id': 'project-1'}
    monkeypatch.setattr(gnocchi, 'CACHE_SIZE', 1)
    publisher = make()
    publisher.publish([cpu(1)])  # existing resource, attributes not known to be sent
    assert len(fake.called('resource.update')) == 1
    assert fake.resources[VM]['display_name'] == 'web-1'
    publisher.publish([cpu(2, minutes=1)])
    assert len(fake.called('resource.update')) == 1
    publisher.publish([disk_used(1)])  # the bounded cache forgets VM ...
    publisher.publish([cpu(3, minutes=2)])  # ... so its attributes are sent again
    assert len(fake.called('resource.update')) == 2


def test_a_resource_created_meanwhile_by_another_agent(fake):
    publisher = make()
    fake.fail['resource.create'].append(gnocchi_exc.ResourceAlreadyExists(
        code=409, message='Resource %s already exists' % VM))
    fake.resources[VM] = {'type': 'instance', 'user_id': 'u', 'project_id': 'project-1'}
    fake.fail[BATCH].append(gnocchi_exc.BadRequest(code=400, message={
        'cause': 'Unknown resources', 'detail': [
            {'resource_id': VM, 'original_resource_id': VM}]}))
    publisher.publish([cpu(1)])
    assert len(fake.called(BATCH)) == 2
    assert len(fake.called('resource.update')) == 1


def test_a_resource_gnocchi_refuses_drops_only_its_measures(fake):
    publisher = make()
    long_name = dict(INSTANCE_METADATA, display_name='x' * 300)
    fake.fail['resource.create'].append(gnocchi_exc.BadRequest(code=400, message={
        'cause': 'Invalid input', 'reason': 'length of value must be at most 256',
        'detail': ['display_name']}))
    with pytest.raises(base.PermanentPublishError) as caught:
        publisher.publish([cpu(1, metadata=long_name), cpu(2, minutes=1, metadata=long_name),
                           disk_used(5)])
    assert caught.value.samples == 2
    assert str(caught.value) == (
        'Gnocchi refused to create 1 resources, whose 2 measures are dropped; first: %s: '
        'creating the resource %s: {"cause": "Invalid input", "detail": ["display_name"], '
        '"reason": "length of value must be at most 256"} (HTTP 400)' % (VM, VM))
    assert list(fake.metrics) == [('cmp-1._boot', 'hardware.disk.size.used')]
    # Strings are cut to the attribute's length, so the real Gnocchi takes this one.
    assert fake.called('resource.create')[0][0][1]['display_name'] == 'x' * 256


def test_refused_attribute_updates_are_permanent_but_the_measures_are_stored(fake):
    publisher = make()
    publisher.publish([cpu(1)])
    fake.fail['resource.update'].append(gnocchi_exc.ResourceNotFound(
        code=404, message='Resource %s does not exist' % VM))
    renamed = dict(INSTANCE_METADATA, display_name='web-2')
    with pytest.raises(base.PermanentPublishError) as caught:
        publisher.publish([cpu(2, minutes=1, metadata=renamed)])
    assert caught.value.samples == 0
    assert 'refused to update 1 resources; first: updating the resource' in str(caught.value)
    assert len(fake.metrics[VM, 'cpu']['measures']) == 2
    publisher.publish([cpu(3, minutes=2, metadata=renamed)])  # not sent again
    assert len(fake.called('resource.update')) == 1


def test_attribute_values_fit_the_types_gnocchi_has(fake):
    fake.resource_types['instance'] = {'name': 'instance', 'state': 'active', 'attributes': {
        'host': {'type': 'string', 'required': False, 'max_length': 5, 'min_length': 0},
        'flavor_id': {'type': 'number', 'required': False},
        'display_name': {'type': 'bool', 'required': False}}}
    original = fake._check_attributes
    fake._check_attributes = lambda rtype, attributes: None
    metadata = dict(INSTANCE_METADATA, instance_host='compute-17', image_ref={'id': 'img-1'},
                    flavor={'id': 4})
    make().publish([cpu(1, metadata=metadata)])
    fake._check_attributes = original
    attributes = {k: v for k, v in fake.resources[VM].items()
                  if k not in ('type', 'user_id', 'project_id')}
    assert attributes == {'host': 'compu', 'flavor_id': 4, 'image_ref': '{"id": "img-1"}',
                          'flavor_name': 'm1.small'}


def test_unmapped_meters_are_dropped_and_counted(fake):
    publisher = make()
    vcpus = common.make_sample(name='memory.swap.in', resource_id=VM)
    publisher.publish([vcpus, vcpus])
    assert publisher.unmapped == {'memory.swap.in': 2}
    assert not fake.called(BATCH)
    publisher.publish([vcpus, cpu(1)])
    assert publisher.unmapped == {'memory.swap.in': 3}
    assert list(fake.metrics) == [(VM, 'cpu')]


@pytest.mark.parametrize('query, kept', [('', ['project-1']),
                                         ('filter_project=', ['project-1', 'service']),
                                         ('filter_project=project-1', ['service'])])
def test_filter_project_without_keystone_compares_the_value(fake, query, kept):
    make(query).publish([cpu(1, project_id='project-1'),
                         cpu(2, resource_id='gnocchi-vm', project_id='service')])
    assert sorted(r['project_id'] for r in fake.resources.values()) == kept


def test_filter_project_with_keystone_looks_the_name_up(fake, monkeypatch):
    lookups = []

    class Identity:
        def __init__(self, session, **options):
            lookups.append(options)

        def get(self, path, params):
            lookups.append((path, params))
            response = type('Response', (), {})()
            response.json = lambda: {'projects': [{'id': 'f00d', 'name': 'service'}]}
            return response

    monkeypatch.setattr(gnocchi.ka_adapter, 'Adapter', Identity)
    conf = keystone_conf(auth_type='password', auth_url='http://keystone:5000/v3')
    publisher = gnocchi.GnocchiPublisher(base.PublisherURL(
        'gnocchi://?resources_definition_file=%s' % MAPPING), conf)
    publisher.publish([cpu(1), cpu(2, resource_id='gnocchi-vm', project_id='f00d')])
    assert lookups == [{'service_type': 'identity', 'interface': 'public',
                        'region_name': None, 'version': (3, 0)},
                       ('/projects', {'name': 'service'})]
    assert list(fake.resources) == [VM]


# -- failures -------------------------------------------------------------------------------

@pytest.mark.parametrize('exc, retryable, text', [
    (gnocchi_exc.ConnectionFailure(message='Connection refused'), True, 'Connection refused'),
    (gnocchi_exc.ConnectionTimeout(message='timed out'), True, 'timed out'),
    (gnocchi_exc.ClientException(code=503, message='Service Unavailable'), True,
     'Service Unavailable (HTTP 503)'),
    (gnocchi_exc.ClientException(code=500, message='Internal Server Error'), True,
     'Internal Server Error (HTTP 500)'),
    (gnocchi_exc.RateLimit(code=429, message='slow down'), True, 'slow down (HTTP 429)'),
    (gnocchi_exc.Unauthorized(code=401, message='Unauthorized'), False,
     'Unauthorized (HTTP 401)'),
    (gnocchi_exc.BadRequest(code=400, message={'cause': 'Invalid input', 'reason': 'bad unit',
                                               'detail': ['unit']}), False,
     '{"cause": "Invalid input", "detail": ["unit"], "reason": "bad unit"} (HTTP 400)'),
    (gnocchi_exc.SSLError(message='certificate verify failed'), False,
     'certificate verify failed'),
    (ka_exc.ConnectFailure('Keystone is down'), True, 'Keystone is down'),
    (ka_exc.DiscoveryFailure('no version'), True, 'no version'),
    (ka_exc.EndpointNotFound('no metric endpoint'), False, 'no metric endpoint'),
    (ka_exc.Unauthorized(message='bad password'), False, 'bad password (HTTP 401)'),
    (ka_exc.ServiceUnavailable(message='keystone busy'), True, 'keystone busy (HTTP 503)'),
])
def test_failures_of_the_batch(fake, exc, retryable, text):
    publisher = make()
    publisher.publish([cpu(1)])
    fake.fail[BATCH].append(exc)
    with pytest.raises(base.PublishError) as caught:
        publisher.publish([cpu(2, minutes=1), cpu(3, minutes=2)])
    assert type(caught.value) is (base.RetryablePublishError if retryable
                                  else base.PermanentPublishError)
    assert str(caught.value) == 'posting 2 measures: %s' % text
    assert caught.value.samples == 2
    assert caught.value.__cause__ is exc


def test_retryable_failure_while_creating_resources(fake):
    fake.fail['resource.create'].append(gnocchi_exc.ClientException(code=502,
                                                                    message='Bad Gateway'))
    publisher = make()
    with pytest.raises(base.RetryablePublishError, match='creating the resource'):
        publisher.publish([cpu(1)])
    publisher.publish([cpu(1)])
    assert len(fake.metrics[VM, 'cpu']['measures']) == 1


def test_a_bug_is_not_dressed_up_as_a_publish_error(fake):
    fake.fail[BATCH].append(TypeError('unexpected'))
    with pytest.raises(TypeError):
        make().publish([cpu(1)])
