"""The gnocchi publisher against a real Gnocchi 4.7 (tools/services/gnocchi) and against
telewatch's own API: polling cycles of libvirt's test driver and of this host, published
through gnocchi://, then read back with gnocchiclient: resources, attributes, metrics,
archive policies and aggregates."""

import datetime
import json
import pathlib
import socket
import uuid

import libvirt  # noqa: F401  (required: a missing libvirt-python must fail, not skip)
import pytest
from gnocchiclient import auth as gnocchi_auth
from gnocchiclient import exceptions as gnocchi_exc
from gnocchiclient.v1 import client as gnocchi_client
from keystoneauth1 import session as ka_session
from oslo_config import cfg

from telewatch import sample as sample_mod
from telewatch import service
from telewatch.pollsters import base as pollster_base
from telewatch.pollsters import compute
from telewatch.pollsters import host as host_pollsters
from telewatch.pollsters import libvirt_inspector
from telewatch.publishers import base
from telewatch.publishers import gnocchi

REPO = pathlib.Path(__file__).resolve().parents[2]
NODE = REPO / 'tests' / 'functional' / 'data' / 'libvirt-node.xml'
INSTANCES = {'b4c1f2a0-0000-4000-8000-000000000001': ('web-1', 'm1.small'),
             'b4c1f2a0-0000-4000-8000-000000000002': ('web-2', 'm1.medium'),
             'b4c1f2a0-0000-4000-8000-000000000003': ('db-1', 'm1.large')}
FREF = 'nova-instance-instance-00000001-fa163e000101'
GRANULARITY = 300
# Minutes after T0 of the four polling cycles: three in the first 5-minute bucket, one in
# the next. Gauges read base + 10 * k at cycle k, counters base + STEP * k * k, where base is
# the polled volume (the test driver's cpu time is ~1.8e18 ns, where float64 steps by 256:
# STEP is a multiple of that, so every volume and difference is exact).
CYCLES = (0, 1, 2, 5)
STEP = 2 ** 20


def poll_once():
    """One cycle of every compute pollster (libvirt's test driver) and host pollster."""
    conf = cfg.ConfigOpts()
    libvirt_inspector.register_opts(conf)
    conf([])
    conf.set_override('libvirt_uri', 'test://%s' % NODE, group='compute')
    context = pollster_base.PollContext(conf)
    instances = compute.LocalInstancesDiscovery(conf).discover(context)
    nodes = host_pollsters.LocalNodeDiscovery(conf).discover(context)
    samples = []
    for name in sorted(compute.METERS):
        samples += compute.ComputePollster(conf, name).get_samples(context, instances)
    for name in sorted(host_pollsters.METERS):
        samples += host_pollsters.HostPollster(conf, name).get_samples(context, nodes)
    return samples


def renamed(samples, run):
    """The samples with identities of their own in this run (the Gnocchi outlives test
    runs): new instance uuids and filter names, and a node called node-<run>."""
    uuids = {old: str(uuid.uuid4()) for old in INSTANCES}
    hostname, node = socket.gethostname(), 'node-%s' % run
    result = []
    for produced in samples:
        text = json.dumps(produced.to_dict())
        for old, new in uuids.items():
            text = text.replace(old, new)
        fields = json.loads(text.replace('nova-instance-', 'nova-instance-%s-' % run))
        metadata = fields['resource_metadata']
        if produced.name.startswith('hardware.'):
            fields['resource_id'] = node + fields['resource_id'][len(hostname):]
            metadata['host'] = node
        elif metadata.get('instance_host') == hostname:
            metadata['instance_host'] = node
        result.append(fields)
    return result, uuids, node


def cycle(polled, t0, k, **metadata_changes):
    """The samples of cycle k: the polled ones at T0 + CYCLES[k] minutes with chosen volumes."""
    samples = []
    for fields in polled:
        fields = dict(fields, id=None, timestamp=t0 + datetime.timedelta(minutes=CYCLES[k]))
        fields['volume'] = volume(fields, k)
        if metadata_changes and 'instance_host' in fields['resource_metadata']:
            fields['resource_metadata'] = dict(fields['resource_metadata'], **metadata_changes)
        samples.append(sample_mod.Sample.from_dict(fields))
    return samples


def volume(fields, k):
    if fields['type'] == 'cumulative':
        return fields['volume'] + STEP * k * k
    return fields['volume'] + 10 * k


def expected_aggregates(fields):
    """{method: [value of each bucket]} of one polled sample's series, worked out from the
    volumes: gauges v, v+10, v+20 | v+30; counters v, v+S, v+4S | v+9S (S = STEP)."""
    v = fields['volume']
    if fields['type'] == 'cumulative':
        return {'mean': [v + 5 * STEP / 3, v + 9 * STEP],
                # rate: the differences S and 3S (at +1, +2 min) | 5S (at +5 min).
                'rate:mean': [2.0 * STEP, 5.0 * STEP]}
    return {'mean': [v + 10, v + 30]}


@pytest.fixture(scope='module', params=['gnocchi', 'telewatch'])
def endpoint(request):
    """The same tests against a real Gnocchi and against telewatch's own API."""
    if request.param == 'gnocchi':
        return request.getfixturevalue('gnocchi_endpoint')
    return request.getfixturevalue('telewatch_api')


@pytest.fixture(scope='module')
def reader(endpoint):
    """A gnocchiclient Client of Gnocchi's admin, to read what the publisher wrote."""
    session = ka_session.Session(auth=gnocchi_auth.GnocchiBasicPlugin('admin', endpoint))
    return gnocchi_client.Client(session=session,
                                 adapter_options={'endpoint_override': endpoint})


def make_publisher(url):
    # The shipped archive_resources.yaml, found in the configuration directory as installed.
    conf = service.prepare_service(['--config-dir', str(REPO / 'etc')])
    return gnocchi.GnocchiPublisher(base.PublisherURL(url), conf)


@pytest.fixture(scope='module')
def published(endpoint):
    """Four cycles published as the polling agent would, one publish call each; the last
    after a resize and a rename of every instance."""
    run = uuid.uuid4().hex[:8]
    polled, uuids, node = renamed(poll_once(), run)
    now = datetime.datetime.now(datetime.timezone.utc)
    t0 = now.replace(second=0, microsecond=0) - datetime.timedelta(minutes=30 + now.minute % 5)
    publisher = make_publisher(endpoint.replace('http://', 'gnocchi://')
                               + '?auth=basic&user=admin')
    publisher.start()
    for k in range(3):
        publisher.publish(cycle(polled, t0, k))
    publisher.publish(cycle(polled, t0, 3, instance_type='m1.xlarge', display_name='renamed'))
    publisher.stop()
    return {'polled': polled, 'uuids': uuids, 'node': node, 't0': t0, 'run': run,
            'publisher': publisher}


def key_of(resource_id):
    return resource_id.replace('/', '_')


def polled_sample(published, name, resource_id):
    return [fields for fields in published['polled']
            if (fields['name'], fields['resource_id']) == (name, resource_id)][0]


def test_resources_have_their_types_and_attributes(published, reader):
    node, run = published['node'], published['run']
    for old, new in published['uuids'].items():
        display_name, flavor = INSTANCES[old]
        cpu = polled_sample(published, 'cpu', new)
        instance = reader.resource.get('instance', new)
        assert (instance['original_resource_id'], instance['user_id'],
                instance['project_id'], instance['host'], instance['image_ref']) == (
            new, cpu['user_id'], cpu['project_id'], node,
            cpu['resource_metadata']['image_ref'])
        # The last cycle renamed and resized every instance: the attributes followed.
        assert (instance['display_name'], instance['flavor_name']) == ('renamed', 'm1.xlarge')
        history = reader.resource.history('instance', new)
        assert [(r['display_name'], r['flavor_name']) for r in history] == [
            (display_name, flavor), ('renamed', 'm1.xlarge')]
        for dev in ('vda', 'vdb'):
            disk = reader.resource.get('instance_disk', '%s-%s' % (new, dev))
            assert (disk['type'], disk['name'], disk['instance_id']) == (
                'instance_disk', dev, new)
    assert polled_sample(published, 'cpu', new)['user_id'] is not None
    fref = FREF.replace('nova-instance-', 'nova-instance-%s-' % run)
    nic = reader.resource.get('instance_network_interface', fref)
    assert (nic['name'], nic['instance_id']) == (
        fref, published['uuids']['b4c1f2a0-0000-4000-8000-000000000001'])
    host = reader.resource.get('host', node)
    assert (host['host_name'], host['user_id'], host['project_id']) == (node, None, None)
    # '/' cannot be in a Gnocchi resource id: the root filesystem of node-x is node-x._
    root = reader.resource.get('host_disk', node + '._')
    assert (root['original_resource_id'], root['mountpoint'], root['host_name']) == (
        node + '._', '/', node)


def test_metrics_have_the_mapping_policies_and_units(published, reader):
    uuid_1 = published['uuids']['b4c1f2a0-0000-4000-8000-000000000001']
    instance = reader.resource.get('instance', uuid_1)
    assert sorted(instance['metrics']) == sorted(
        name for name, meter in compute.METERS.items() if meter.scope in (
            compute.INSTANCE, compute.DISK_TOTAL))
    cpu = reader.metric.get('cpu', resource_id=uuid_1)
    assert (cpu['archive_policy']['name'], cpu['unit']) == ('ceilometer-low-rate', 'ns')
    assert sorted(cpu['archive_policy']['aggregation_methods']) == ['mean', 'rate:mean']
    assert [(d['granularity'], d['points']) for d in cpu['archive_policy']['definition']] == [
        ('0:05:00', 8640)]
    memory = reader.metric.get('memory.usage', resource_id=uuid_1)
    assert (memory['archive_policy']['name'], memory['unit']) == ('ceilometer-low', 'MB')
    used = reader.metric.get('hardware.disk.size.used',
                             resource_id=key_of(published['node'] + './'))
    assert (used['archive_policy']['name'], used['unit']) == ('ceilometer-low', 'KB')


def test_aggregates_are_what_the_volumes_give(published, reader):
    t0 = published['t0']
    buckets = [t0, t0 + datetime.timedelta(seconds=GRANULARITY)]
    checked = 0
    for fields in published['polled']:
        for method, values in expected_aggregates(fields).items():
            measures = reader.metric.get_measures(
                fields['name'], resource_id=key_of(fields['resource_id']), aggregation=method,
                granularity=GRANULARITY, start=t0, refresh=True)
            assert [(stamp, granularity) for stamp, granularity, _ in measures] == [
                (bucket, float(GRANULARITY)) for bucket in buckets], fields['name']
            assert [value for _, _, value in measures] == pytest.approx(values), (
                fields['name'], fields['resource_id'], method)
            checked += 1
    assert checked > 100


def test_by_hand_for_one_gauge_and_one_counter(published, reader):
    uuid_2 = published['uuids']['b4c1f2a0-0000-4000-8000-000000000002']
    vcpus = reader.metric.get_measures('vcpus', resource_id=uuid_2, refresh=True,
                                       start=published['t0'])
    assert [value for _, _, value in vcpus] == [12.0, 32.0]  # 2, 12, 22 | 32
    polled = polled_sample(published, 'cpu', uuid_2)
    rate = reader.metric.get_measures('cpu', resource_id=uuid_2, aggregation='rate:mean',
                                      refresh=True, start=published['t0'])
    assert [value for _, _, value in rate] == [2 * 1048576.0, 5 * 1048576.0]
    mean = reader.metric.get_measures('cpu', resource_id=uuid_2, refresh=True,
                                      start=published['t0'])
    assert [value for _, _, value in mean] == pytest.approx(
        [polled['volume'] + 5 * 1048576 / 3, polled['volume'] + 9 * 1048576])


def test_nothing_was_left_out(published):
    assert published['publisher'].unmapped == {}


def test_a_gnocchi_that_is_down_is_a_retryable_error(gnocchi_endpoint):
    with socket.socket() as probe:  # a port on which nothing listens
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    publisher = make_publisher('gnocchi://127.0.0.1:%d?auth=basic&timeout=2' % port)
    publisher.start()
    samples = cycle(renamed(poll_once(), 'down')[0], datetime.datetime(
        2026, 1, 1, tzinfo=datetime.timezone.utc), 0)
    with pytest.raises(base.RetryablePublishError) as caught:
        publisher.publish(samples)
    assert str(caught.value).startswith('preparing Gnocchi: ')
    assert caught.value.samples == len(samples)
    publisher.stop()


@pytest.fixture
def own_resource_type(reader):
    """A mapping with a resource type of its own (removed at the end, with its resources)."""
    name = 'telewatch_test_%s' % uuid.uuid4().hex[:8]
    yield name
    # Through 'generic': Gnocchi 4.7.1 (SQLAlchemy 2) deleting through the type itself only
    # empties the type's own table, leaving the resources orphaned and the type in use.
    assert reader.resource.batch_delete({'=': {'type': name}}) == {'deleted': 1}
    reader.resource_type.delete(name)


def test_missing_attributes_are_added_to_a_resource_type(
        own_resource_type, reader, tmp_path, endpoint):
    def publish(attributes, volume):
        mapping = tmp_path / ('%s.yaml' % len(attributes))
        mapping.write_text(json.dumps({'resource_types': {own_resource_type: {
            'metrics': {'image.size': None},
            'attributes': {a: 'resource_metadata.%s' % a for a in attributes}}}}))
        publisher = make_publisher(
            '%s?auth=basic&archive_policy=low&resources_definition_file=%s'
            % (endpoint.replace('http://', 'gnocchi://'), mapping))
        publisher.publish([sample_mod.Sample.create(
            name='image.size', type='gauge', unit='B', volume=volume, resource_id='img-1',
            resource_metadata={'name': 'cirros', 'disk_format': 'qcow2'})])
        publisher.stop()

    publish(['name'], 1)
    assert set(reader.resource_type.get(own_resource_type)['attributes']) == {'name'}
    publish(['name', 'disk_format'], 2)
    attributes = reader.resource_type.get(own_resource_type)['attributes']
    assert attributes['disk_format'] == {'type': 'string', 'required': False,
                                         'max_length': 256, 'min_length': 0}
    resource = reader.resource.get(own_resource_type, 'img-1')
    assert (resource['name'], resource['disk_format']) == ('cirros', 'qcow2')
    with pytest.raises(gnocchi_exc.ResourceTypeAlreadyExists):
        reader.resource_type.create({'name': own_resource_type})
