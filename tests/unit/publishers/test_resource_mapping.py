"""archive_resources.yaml: loading (each file under tests/cases/invalid_archive_resources gives
exactly the errors of its .errors file), the shipped file, and grouping real pollster samples
into resources and metrics."""

import collections
import datetime
import pathlib
import socket

import pytest
import stevedore

from telewatch import config_file
from telewatch import sample as sample_mod
from telewatch.archive import policy as policy_mod
from telewatch.notification import meter_definitions
from telewatch.pollsters import base as pollster_base
from telewatch.pollsters import compute
from telewatch.pollsters import host as host_pollsters
from telewatch.publishers import resource_mapping
from tests.unit.pollsters import test_libvirt_inspector as fakes
from tests.unit.pollsters.test_libvirt_inspector import fake_libvirt  # noqa: F401 (fixture)

REPO = pathlib.Path(__file__).resolve().parents[3]
CASES = REPO / 'tests' / 'cases' / 'invalid_archive_resources'
SHIPPED = REPO / 'etc' / 'archive_resources.yaml'
UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
UUID_1 = fakes.UUID_1
FREF = 'nova-instance-instance-00000001-fa163e000001'

MINIMAL = {
    'archive_policy': 'low',
    'resource_types': {
        'instance': {
            'archive_policy': 'medium',
            'metrics': {'cpu': {'archive_policy': 'high'}, 'memory': None},
            'attributes': {'host': ['resource_metadata.instance_host',
                                    'resource_metadata.host'],
                           'flavor_name': 'resource_metadata.flavor.name',
                           'owner': 'project_id'},
        },
        'image': {'metrics': {'image.size': None}},
    },
}


def make_sample(name, volume, resource_id='vm-1', minutes=0, metadata=None, unit='MB',
                project_id='p-1', user_id='u-1'):
    return sample_mod.Sample.create(
        name=name, type='gauge', unit=unit, volume=volume, resource_id=resource_id,
        timestamp=T0 + datetime.timedelta(minutes=minutes), user_id=user_id,
        project_id=project_id, resource_metadata=metadata or {})


def poll_compute(conf):
    """Every compute pollster over one cycle of the fake libvirt: a list of samples."""
    context = pollster_base.PollContext(conf)
    resources = compute.LocalInstancesDiscovery(conf).discover(context)
    return [produced for name in sorted(compute.METERS)
            for produced in compute.ComputePollster(conf, name).get_samples(context, resources)]


@pytest.fixture
def compute_samples(fake_libvirt):  # noqa: F811
    fake_libvirt.connections.append(fakes.standard_connection())
    return poll_compute(fakes.make_conf())


# -- loading --------------------------------------------------------------------------------

@pytest.mark.parametrize('path', sorted(CASES.glob('*.yaml')), ids=lambda path: path.stem)
def test_invalid_mapping_file_reports_exact_errors(path, monkeypatch):
    monkeypatch.chdir(CASES)
    with pytest.raises(config_file.ConfigErrors) as caught:
        resource_mapping.ResourceMapping.load(path.name)
    assert str(caught.value) + '\n' == path.with_suffix('.errors').read_text()


def test_there_are_invalid_cases():
    assert len(list(CASES.glob('*.yaml'))) >= 8


def test_from_dict_validates_the_same_way_without_lines():
    data = {'resource_types': {'instance': {'metrics': {'cpu': None}, 'extra': 1},
                               'host': {'metrics': {'cpu': None}}}}
    with pytest.raises(config_file.ConfigErrors) as caught:
        resource_mapping.ResourceMapping.from_dict(data, source='test')
    assert str(caught.value).splitlines() == [
        'test: resource_types.instance.extra: unknown key (expected one of: archive_policy, '
        'metrics, attributes, event_create, event_delete, event_attributes, '
        'event_associated_resources)',
        "test: resource_types.host.metrics.cpu: meter 'cpu' is already mapped to the resource "
        "type 'instance'"]


def test_resource_types_and_archive_policies():
    mapping = resource_mapping.ResourceMapping.from_dict(MINIMAL)
    assert mapping.resource_types() == {'instance': ['host', 'flavor_name', 'owner'],
                                        'image': []}
    assert mapping.archive_policy_names() == ['high', 'low', 'medium']
    assert mapping.metric_names() == {'cpu': 'instance', 'memory': 'instance',
                                      'image.size': 'image'}


def test_without_a_default_policy_gnocchi_rules_decide():
    mapping = resource_mapping.ResourceMapping.from_dict(
        {'resource_types': {'image': {'metrics': {'image.size': None}}}})
    batch = mapping.group([make_sample('image.size', 5, resource_id='img')])
    assert batch.resources['img'].metrics['image.size'].archive_policy_name is None
    assert mapping.archive_policy_names() == []


# -- grouping -------------------------------------------------------------------------------

def test_group_keeps_input_order_and_counts_unmapped():
    mapping = resource_mapping.ResourceMapping.from_dict(MINIMAL)
    samples = [make_sample('memory', 100, minutes=1),
               make_sample('cpu', 5e9, minutes=1, unit='ns'),
               make_sample('memory', 300, minutes=3),
               make_sample('memory.usage', 7, minutes=3),
               make_sample('memory', 200, minutes=2),
               make_sample('image.size', 2e9, resource_id='img-1', unit='B', project_id=None,
                           user_id=None),
               make_sample('vcpus', 2), make_sample('vcpus', 2)]
    batch = mapping.group(samples)
    assert batch.unmapped == collections.Counter({'vcpus': 2, 'memory.usage': 1})
    assert list(batch.resources) == ['vm-1', 'img-1']
    vm = batch.resources['vm-1']
    assert (vm.original_resource_id, vm.resource_type, vm.user_id, vm.project_id) == (
        'vm-1', 'instance', 'u-1', 'p-1')
    assert list(vm.metrics) == ['memory', 'cpu']
    memory = vm.metrics['memory']
    assert (memory.name, memory.unit, memory.archive_policy_name) == ('memory', 'MB', 'medium')
    assert memory.values == [100.0, 300.0, 200.0]
    assert memory.timestamps == [T0 + datetime.timedelta(minutes=m) for m in (1, 3, 2)]
    assert all(t.tzinfo is not None and t.utcoffset() == datetime.timedelta(0)
               for t in memory.timestamps)
    assert vm.metrics['cpu'] == resource_mapping.MappedMetric(
        'cpu', 'ns', 'high', [T0 + datetime.timedelta(minutes=1)], [5e9])
    image = batch.resources['img-1']
    assert (image.resource_type, image.user_id, image.project_id, image.attributes) == (
        'image', None, None, {})
    assert image.metrics['image.size'].archive_policy_name == 'low'


def test_attributes_come_from_the_last_sample_and_missing_values_are_left_out():
    mapping = resource_mapping.ResourceMapping.from_dict(MINIMAL)
    first = {'host': 'hashed', 'instance_host': 'cmp-1', 'flavor': {'name': 'm1.small'}}
    last = {'host': 'cmp-2', 'flavor': {'name': None}}
    batch = mapping.group([make_sample('memory', 1, metadata=first),
                           make_sample('memory', 2, metadata=last, project_id='p-2'),
                           make_sample('vcpus', 3, metadata=first)])
    vm = batch.resources['vm-1']
    # [instance_host, host]: the first that has a value; flavor.name is null: left out.
    assert vm.attributes == {'host': 'cmp-2', 'owner': 'p-2'}
    assert vm.project_id == 'p-2'
    batch = mapping.group([make_sample('memory', 2, metadata=last),
                           make_sample('memory', 1, metadata=first)])
    assert batch.resources['vm-1'].attributes == {
        'host': 'cmp-1', 'flavor_name': 'm1.small', 'owner': 'p-1'}


def test_a_resource_keeps_the_type_of_its_first_sample():
    mapping = resource_mapping.ResourceMapping.from_dict(MINIMAL)
    batch = mapping.group([make_sample('image.size', 1, resource_id='x'),
                           make_sample('memory', 2, resource_id='x',
                                       metadata={'host': 'cmp-1'})])
    resource = batch.resources['x']
    assert resource.resource_type == 'image'
    assert sorted(resource.metrics) == ['image.size', 'memory']
    assert resource.attributes == {}  # image has no attributes


def test_resource_ids_are_kept_as_they_are():
    mapping = resource_mapping.ResourceMapping.load(SHIPPED)
    batch = mapping.group([make_sample('hardware.disk.size.used', 10, resource_id='cmp-1./boot',
                                       metadata={'host': 'cmp-1', 'mountpoint': '/boot'})])
    assert list(batch.resources) == ['cmp-1./boot']
    assert batch.resources['cmp-1./boot'].original_resource_id == 'cmp-1./boot'


def test_an_empty_batch():
    batch = resource_mapping.ResourceMapping.from_dict(MINIMAL).group([])
    assert batch == resource_mapping.MappedBatch({}, collections.Counter())


# -- the shipped file -----------------------------------------------------------------------

def shipped_meters():
    names = set()
    for namespace in ('telewatch.poll.compute', 'telewatch.poll.host'):
        names.update(stevedore.ExtensionManager(namespace).names())
    definitions = meter_definitions.load_definitions(str(REPO / 'etc' / 'meters.yaml'))
    names.update(definition.name for definition in definitions.definitions)
    return names


# What the shipped etc/pipeline.yaml derives (its rate_of_change and delta sinks).
DERIVED = {'cpu_util', 'cpu.delta'} | {
    '%s.%s.%s.rate' % (prefix, way, unit)
    for prefix in ('disk', 'disk.device') for way in ('read', 'write')
    for unit in ('bytes', 'requests')} | {
    '%snetwork.%s.%s.rate' % (prefix, way, unit) for prefix in ('', 'hardware.')
    for way in ('incoming', 'outgoing') for unit in ('bytes', 'packets')} | {
    'hardware.disk.%s.%s.rate' % (way, unit)
    for way in ('read', 'write') for unit in ('bytes', 'requests')}


def test_shipped_file_maps_every_meter_telewatch_ships_and_nothing_else():
    mapping = resource_mapping.ResourceMapping.load(SHIPPED)
    meters = shipped_meters()
    assert len(meters) == 44  # 25 compute, 14 host, 5 more from meters.yaml
    assert set(mapping.metric_names()) == meters | DERIVED


def test_shipped_file_archives_counters_with_a_rate_and_names_known_policies():
    mapping = resource_mapping.ResourceMapping.load(SHIPPED)
    known = policy_mod.builtin_policies()
    assert set(mapping.archive_policy_names()) <= set(known)
    cumulative = {name for name, meter in compute.METERS.items() if meter.type == 'cumulative'}
    cumulative |= {name for name, meter in host_pollsters.METERS.items()
                   if meter.type == 'cumulative'}
    samples = [make_sample(name, 1, resource_id=name) for name in sorted(shipped_meters())]
    batch = mapping.group(samples)
    assert not batch.unmapped
    for name in shipped_meters():
        policy = batch.resources[name].metrics[name].archive_policy_name
        assert known[policy].has_rate == (name in cumulative), name


def test_shipped_file_on_a_polling_cycle(compute_samples):
    mapping = resource_mapping.ResourceMapping.load(SHIPPED)
    batch = mapping.group(compute_samples)
    assert not batch.unmapped
    types = collections.Counter(r.resource_type for r in batch.resources.values())
    assert types == {'instance': 2, 'instance_disk': 3, 'instance_network_interface': 3}
    instance = batch.resources[UUID_1]
    assert instance.attributes == {
        'host': socket.gethostname(), 'image_ref': 'image-1', 'display_name': 'web-1',
        'flavor_name': 'm1.small'}
    assert (instance.user_id, instance.project_id) == ('user-1', 'project-1')
    assert len(instance.metrics) == 10
    assert instance.metrics['cpu'].archive_policy_name == 'ceilometer-low-rate'
    assert instance.metrics['memory'].archive_policy_name == 'ceilometer-low'
    disk = batch.resources[UUID_1 + '-vdb']
    assert (disk.resource_type, disk.attributes) == (
        'instance_disk', {'name': 'vdb', 'instance_id': UUID_1})
    assert len(disk.metrics) == 7
    nic = batch.resources[FREF]
    assert (nic.resource_type, nic.attributes) == (
        'instance_network_interface', {'name': FREF, 'instance_id': UUID_1})
    assert sorted(nic.metrics) == sorted(m for m in compute.METERS if m.startswith('network.'))
    measures = sum(len(m.values) for r in batch.resources.values() for m in r.metrics.values())
    assert measures == len(compute_samples)


def test_shipped_file_on_notification_meters():
    mapping = resource_mapping.ResourceMapping.load(SHIPPED)
    nova = {'host': 'cmp-07', 'flavor_id': '2', 'flavor_name': 'm1.small',
            'display_name': 'web-01', 'state': 'active', 'image_ref': 'img-9',
            'launched_at': '2024-05-14T09:31:06.881904', 'created_at': '2024-05-14 09:30:41'}
    cinder = {'display_name': 'db-data', 'volume_type': 'lvm', 'status': 'available',
              'image_id': 'img-9'}
    batch = mapping.group([make_sample('instance', 1, resource_id='vm', metadata=nova),
                           make_sample('volume.size', 100, resource_id='vol', metadata=cinder)])
    assert batch.resources['vm'].attributes == {
        'host': 'cmp-07', 'flavor_id': '2', 'flavor_name': 'm1.small',
        'display_name': 'web-01', 'image_ref': 'img-9',
        'launched_at': '2024-05-14T09:31:06.881904', 'created_at': '2024-05-14 09:30:41'}
    assert batch.resources['vol'].attributes == {
        'display_name': 'db-data', 'volume_type': 'lvm', 'image_id': 'img-9'}
