"""Unit tests of the compute pollsters and the local_instances discovery, on the fake libvirt
of test_libvirt_inspector: meters, resource ids, metadata, and libvirt calls per cycle."""

import collections
import datetime
import hashlib
import socket
import sys

import pytest
import stevedore

from telewatch.pollsters import base
from telewatch.pollsters import compute
from telewatch.pollsters import libvirt_inspector
from tests.unit.pollsters import test_libvirt_inspector as fakes
from tests.unit.pollsters.test_libvirt_inspector import fake_libvirt  # noqa: F401 (fixture)

UUID_1, UUID_2 = fakes.UUID_1, fakes.UUID_2

# name: (type, unit), as Ceilometer defines them.
EXPECTED_METERS = {
    'cpu': ('cumulative', 'ns'),
    'vcpus': ('gauge', 'vcpu'),
    'memory': ('gauge', 'MB'),
    'memory.usage': ('gauge', 'MB'),
    'memory.resident': ('gauge', 'MB'),
    'disk.device.read.bytes': ('cumulative', 'B'),
    'disk.device.read.requests': ('cumulative', 'request'),
    'disk.device.write.bytes': ('cumulative', 'B'),
    'disk.device.write.requests': ('cumulative', 'request'),
    'disk.device.capacity': ('gauge', 'B'),
    'disk.device.allocation': ('gauge', 'B'),
    'disk.device.usage': ('gauge', 'B'),
    'disk.read.bytes': ('cumulative', 'B'),
    'disk.read.requests': ('cumulative', 'request'),
    'disk.write.bytes': ('cumulative', 'B'),
    'disk.write.requests': ('cumulative', 'request'),
    'network.incoming.bytes': ('cumulative', 'B'),
    'network.incoming.packets': ('cumulative', 'packet'),
    'network.outgoing.bytes': ('cumulative', 'B'),
    'network.outgoing.packets': ('cumulative', 'packet'),
    'network.incoming.packets.drop': ('cumulative', 'packet'),
    'network.incoming.packets.error': ('cumulative', 'packet'),
    'network.outgoing.packets.drop': ('cumulative', 'packet'),
    'network.outgoing.packets.error': ('cumulative', 'packet'),
    'power.state': ('gauge', 'state'),
}
FREF = 'nova-instance-instance-00000001-fa163e000001'
NIC_2 = 'instance-00000001-%s-tap0002' % UUID_1
PLAIN_NIC = 'plain-%s-vnet9' % UUID_2

# (meter, resource id): volume, for both fake domains (per-domain and bulk paths alike).
EXPECTED_VOLUMES = {
    ('cpu', UUID_1): 5e9, ('cpu', UUID_2): 7e9,
    ('vcpus', UUID_1): 2, ('vcpus', UUID_2): 1,
    ('memory', UUID_1): 2048, ('memory', UUID_2): 512,
    ('memory.usage', UUID_1): 1000, ('memory.resident', UUID_1): 500,
    ('power.state', UUID_1): 1, ('power.state', UUID_2): 1,
}
for _uuid, _disks in ((UUID_1, ('vda', 'vdb')), (UUID_2, ('sda',))):
    for _name, _index in (('read.requests', 0), ('read.bytes', 1), ('write.requests', 2),
                          ('write.bytes', 3)):
        for _dev in _disks:
            EXPECTED_VOLUMES['disk.device.' + _name, '%s-%s' % (_uuid, _dev)] = (
                fakes.block_stats(_dev)[_index])
        EXPECTED_VOLUMES['disk.' + _name, _uuid] = sum(
            fakes.block_stats(dev)[_index] for dev in _disks)
    for _name, _index in (('capacity', 0), ('allocation', 1), ('usage', 2)):
        for _dev in _disks:
            EXPECTED_VOLUMES['disk.device.' + _name, '%s-%s' % (_uuid, _dev)] = (
                fakes.block_info(_dev)[_index])
for _rid, _dev in ((FREF, 'tap0001'), (NIC_2, 'tap0002'), (PLAIN_NIC, 'vnet9')):
    for _name, _index in (('incoming.bytes', 0), ('incoming.packets', 1),
                          ('incoming.packets.error', 2), ('incoming.packets.drop', 3),
                          ('outgoing.bytes', 4), ('outgoing.packets', 5),
                          ('outgoing.packets.error', 6), ('outgoing.packets.drop', 7)):
        EXPECTED_VOLUMES['network.' + _name, _rid] = fakes.interface_stats(_dev)[_index]


def _setup(fake_module, bulk=False):
    connection = fakes.standard_connection(bulk=bulk)
    fake_module.connections.append(connection)
    conf = fakes.make_conf()
    return conf, connection


def _poll_all(conf, context=None):
    """Discovery and every compute pollster over one cycle: {(meter, resource id): sample}."""
    context = context or base.PollContext(conf)
    resources = compute.LocalInstancesDiscovery(conf).discover(context)
    samples = {}
    for name in sorted(compute.METERS):
        for produced in compute.ComputePollster(conf, name).get_samples(context, resources):
            key = (produced.name, produced.resource_id)
            assert key not in samples
            samples[key] = produced
    return samples


def test_table_has_exactly_the_meters_types_and_units():
    assert {name: (row.type, row.unit) for name, row in compute.METERS.items()} == (
        EXPECTED_METERS)


def test_entry_points_match_the_table():
    names = stevedore.ExtensionManager('telewatch.poll.compute').names()
    assert set(names) == set(compute.METERS)


def test_unknown_meter_is_refused(fake_libvirt):  # noqa: F811
    with pytest.raises(ValueError, match='not a compute meter'):
        compute.ComputePollster(fakes.make_conf(), 'cpu_util')


@pytest.mark.parametrize('bulk', [False, True], ids=['per-domain', 'bulk'])
def test_every_meter_of_every_running_domain(fake_libvirt, bulk):  # noqa: F811
    conf, _ = _setup(fake_libvirt, bulk=bulk)
    samples = _poll_all(conf)
    assert {key: produced.volume for key, produced in samples.items()} == EXPECTED_VOLUMES
    for (name, _), produced in samples.items():
        assert (produced.type, produced.unit) == EXPECTED_METERS[name]
    owners = {(s.user_id, s.project_id) for (_, rid), s in samples.items()
              if UUID_1 in rid or rid == FREF}
    assert owners == {('user-1', 'project-1')}
    assert {(s.user_id, s.project_id) for (_, rid), s in samples.items()
            if UUID_2 in rid} == {(None, None)}


def test_instance_metadata(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    metadata = _poll_all(conf)['cpu', UUID_1].resource_metadata
    host = socket.gethostname()
    assert metadata == {
        'name': 'instance-00000001', 'instance_id': UUID_1, 'display_name': 'web-1',
        'vcpus': 2, 'cpu_number': 2, 'memory_mb': 2048, 'status': 'active',
        'state': 'active', 'instance_host': host,
        'host': hashlib.sha224(('project-1' + host).encode()).hexdigest(),
        'image_ref': 'image-1', 'image': {'id': 'image-1'}, 'os_type': 'hvm',
        'architecture': 'x86_64', 'instance_type': 'm1.small',
        'flavor': {'name': 'm1.small', 'vcpus': 2, 'ram': 2048, 'disk': 20, 'ephemeral': 5,
                   'swap': 512},
        'disk_gb': 20, 'ephemeral_gb': 5, 'root_gb': 15}


def test_device_metadata(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    samples = _poll_all(conf)
    instance = samples['cpu', UUID_1].resource_metadata
    assert samples['disk.device.read.bytes', UUID_1 + '-vdb'].resource_metadata == dict(
        instance, disk_name='vdb')
    assert samples['disk.read.bytes', UUID_1].resource_metadata == dict(
        instance, device=['vda', 'vdb'])
    assert samples['network.incoming.bytes', FREF].resource_metadata == {
        'name': 'tap0001', 'vnic_name': FREF, 'mac': 'fa:16:3e:00:00:01', 'fref': FREF,
        'parameters': {'IP': '10.0.0.5'}, 'instance_id': UUID_1, 'instance_type': 'm1.small',
        'display_name': 'web-1'}
    assert samples['network.outgoing.packets', NIC_2].resource_metadata == {
        'name': 'tap0002', 'vnic_name': 'tap0002', 'mac': 'fa:16:3e:00:00:02', 'fref': None,
        'parameters': None, 'instance_id': UUID_1, 'instance_type': 'm1.small',
        'display_name': 'web-1'}


def test_times(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    before = datetime.datetime.now(datetime.timezone.utc)
    samples = _poll_all(conf)
    timestamps = {s.timestamp for s in samples.values()}
    assert len(timestamps) == 1 and before <= timestamps.pop()
    assert all(isinstance(s.monotonic_time, float) for s in samples.values())
    assert (samples['cpu', UUID_1].monotonic_time
            <= samples['network.incoming.bytes', FREF].monotonic_time)


def test_per_domain_path_calls_each_statistic_once_for_all_pollsters(fake_libvirt):  # noqa
    conf, connection = _setup(fake_libvirt)
    _poll_all(conf)
    nova, plain, off = connection.domains
    # nova: 2 disks, 2 NICs, a balloon; plain: 1 disk, 1 NIC, no balloon.
    assert nova.calls == {'XMLDesc': 1, 'info': 1, 'memoryStats': 1, 'blockStats': 2,
                          'blockInfo': 2, 'interfaceStats': 2}
    assert plain.calls == {'XMLDesc': 1, 'info': 1, 'blockStats': 1, 'blockInfo': 1,
                           'interfaceStats': 1}
    assert off.calls == {}
    assert connection.calls == {'getAllDomainStats': 1}
    inspector = libvirt_inspector.get_inspector(conf)
    assert sum(inspector.calls.values()) == 1 + 1 + 9 + 5  # open, listing, the domains


def test_bulk_path_calls_do_not_grow_with_pollsters(fake_libvirt):  # noqa: F811
    conf, connection = _setup(fake_libvirt, bulk=True)
    _poll_all(conf)
    inspector = libvirt_inspector.get_inspector(conf)
    assert inspector.calls == {'openReadOnly': 1, 'getAllDomainStats': 1, 'XMLDesc': 2}
    assert fakes.domain_calls(connection) == {'XMLDesc': 2}


def test_pollsters_and_discovery_share_one_inspector(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    inspectors = {id(compute.ComputePollster(conf, name).inspector) for name in compute.METERS}
    inspectors.add(id(compute.LocalInstancesDiscovery(conf).inspector))
    assert len(inspectors) == 1


def test_discovery_returns_running_instances(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    resources = compute.LocalInstancesDiscovery(conf).discover(base.PollContext(conf))
    assert [base.resource_key(r) for r in resources] == [UUID_1, UUID_2]


def test_memory_usage_falls_back_to_unused_and_skips_missing_statistics(fake_libvirt):  # noqa
    connection = fakes.standard_connection()
    connection.domains[0].balloon = {'available': 4096, 'unused': 1024}
    connection.domains[1].balloon = {'available': 4096}
    fake_libvirt.connections.append(connection)
    conf = fakes.make_conf()
    context = base.PollContext(conf)
    resources = compute.LocalInstancesDiscovery(conf).discover(context)
    usage = compute.ComputePollster(conf, 'memory.usage').get_samples(context, resources)
    resident = compute.ComputePollster(conf, 'memory.resident').get_samples(context, resources)
    assert [(s.resource_id, s.volume) for s in usage] == [(UUID_1, 3.0)]
    assert resident == []


def test_static_resources_and_unknown_ones(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    samples = compute.ComputePollster(conf, 'vcpus').get_samples(
        base.PollContext(conf), [UUID_2, 'not-on-this-host'])
    assert [(s.resource_id, s.volume) for s in samples] == [(UUID_2, 1)]


def test_unsupported_statistic_is_a_permanent_error(fake_libvirt):  # noqa: F811
    conf, connection = _setup(fake_libvirt)
    for dom in connection.domains:
        dom.errors['blockInfo'] = fakes.error(fakes.C.VIR_ERR_NO_SUPPORT)
    context = base.PollContext(conf)
    resources = compute.LocalInstancesDiscovery(conf).discover(context)
    with pytest.raises(base.PermanentPollError) as caught:
        compute.ComputePollster(conf, 'disk.device.capacity').get_samples(context, resources)
    assert caught.value.resources == resources
    assert len(compute.ComputePollster(conf, 'disk.read.bytes').get_samples(
        context, resources)) == 2


def test_domain_without_disk_statistics_now_yields_no_disk_samples(fake_libvirt):  # noqa
    conf, connection = _setup(fake_libvirt)
    connection.domains[0].errors['blockStats'] = fakes.error(8, 'invalid argument')
    context = base.PollContext(conf)
    resources = compute.LocalInstancesDiscovery(conf).discover(context)
    samples = compute.ComputePollster(conf, 'disk.read.bytes').get_samples(context, resources)
    assert [s.resource_id for s in samples] == [UUID_2]


def test_plugin_unavailable_without_libvirt(monkeypatch):
    monkeypatch.setitem(sys.modules, 'libvirt', None)
    conf = fakes.make_conf()
    with pytest.raises(base.PluginUnavailable, match='libvirt-python is not installed'):
        compute.ComputePollster(conf, 'cpu')
    with pytest.raises(base.PluginUnavailable):
        compute.LocalInstancesDiscovery(conf)


def test_views_are_built_once_per_cycle(fake_libvirt):  # noqa: F811
    conf, _ = _setup(fake_libvirt)
    context = base.PollContext(conf)
    samples = _poll_all(conf, context)
    assert samples['cpu', UUID_1].resource_metadata is samples[
        'power.state', UUID_1].resource_metadata
    by_metadata = collections.Counter(id(s.resource_metadata) for s in samples.values())
    assert len(by_metadata) == 2 + 3 + 2 + 3  # instances, disks, disk totals, NICs
