"""The compute pollsters against libvirt's real test driver (test:///<node file>): every
meter of every running domain, the shut-off one left out, and libvirt calls per cycle."""

import json
import pathlib
import subprocess
import sys

import libvirt  # noqa: F401  (required: a missing libvirt-python must fail, not skip)
import pytest
import stevedore
from oslo_config import cfg

from telewatch.pollsters import base
from telewatch.pollsters import compute
from telewatch.pollsters import libvirt_inspector

NODE = pathlib.Path(__file__).resolve().parent / 'data' / 'libvirt-node.xml'
RUNNING = {  # uuid: (libvirt name, display name, vcpus, MB, project, user, flavor)
    'b4c1f2a0-0000-4000-8000-000000000001': ('instance-00000001', 'web-1', 1, 2048,
                                             'project-a', 'user-a', 'm1.small'),
    'b4c1f2a0-0000-4000-8000-000000000002': ('instance-00000002', 'web-2', 2, 4096,
                                             'project-a', 'user-a', 'm1.medium'),
    'b4c1f2a0-0000-4000-8000-000000000003': ('instance-00000003', 'db-1', 4, 8192,
                                             'project-b', 'user-b', 'm1.large'),
}
SHUT_OFF = 'b4c1f2a0-0000-4000-8000-0000000000ff'
FREF = 'nova-instance-instance-00000001-fa163e000101'
INSTANCE_METERS = ('cpu', 'vcpus', 'memory', 'memory.usage', 'memory.resident', 'power.state',
                   'disk.read.bytes', 'disk.read.requests', 'disk.write.bytes',
                   'disk.write.requests')
DISK_METERS = ('disk.device.read.bytes', 'disk.device.read.requests',
               'disk.device.write.bytes', 'disk.device.write.requests',
               'disk.device.capacity', 'disk.device.allocation', 'disk.device.usage')
NIC_METERS = ('network.incoming.bytes', 'network.incoming.packets', 'network.outgoing.bytes',
              'network.outgoing.packets', 'network.incoming.packets.drop',
              'network.incoming.packets.error', 'network.outgoing.packets.drop',
              'network.outgoing.packets.error')
UNITS = {'cpu': ('cumulative', 'ns'), 'vcpus': ('gauge', 'vcpu'), 'memory': ('gauge', 'MB'),
         'memory.usage': ('gauge', 'MB'), 'memory.resident': ('gauge', 'MB'),
         'power.state': ('gauge', 'state'), 'disk.device.capacity': ('gauge', 'B'),
         'disk.device.allocation': ('gauge', 'B'), 'disk.device.usage': ('gauge', 'B')}


def _unit(meter):
    if meter in UNITS:
        return UNITS[meter]
    if meter.startswith('network.'):
        return ('cumulative', 'B' if meter.endswith('.bytes') else 'packet')
    return ('cumulative', 'B' if meter.endswith('.bytes') else 'request')


def _nic_resource(uuid, dev):
    if dev == 'tap101':
        return FREF
    return '%s-%s-%s' % (RUNNING[uuid][0], uuid, dev)


def _expected_keys():
    keys = set()
    for uuid in RUNNING:
        index = int(uuid[-1])
        keys.update((meter, uuid) for meter in INSTANCE_METERS)
        keys.update((meter, '%s-%s' % (uuid, dev)) for meter in DISK_METERS
                    for dev in ('vda', 'vdb'))
        keys.update((meter, _nic_resource(uuid, 'tap%d0%d' % (index, nic)))
                    for meter in NIC_METERS for nic in (1, 2))
    return keys


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    libvirt_inspector.register_opts(conf)
    conf([])
    conf.set_override('libvirt_uri', 'test://%s' % NODE, group='compute')
    return conf


def _cycle(conf):
    """Discovery and every pollster loaded through stevedore, as the agent does."""
    context = base.PollContext(conf)
    resources = compute.LocalInstancesDiscovery(conf).discover(context)
    manager = stevedore.ExtensionManager('telewatch.poll.compute')
    samples = {}
    for extension in manager:
        pollster = extension.plugin(conf, extension.name)
        for produced in pollster.get_samples(context, resources):
            samples[produced.name, produced.resource_id] = produced
    return resources, samples


def test_every_meter_of_every_running_domain(conf):
    resources, samples = _cycle(conf)
    assert sorted(r.id for r in resources) == sorted(RUNNING)
    assert set(samples) == _expected_keys()
    for (meter, _), produced in samples.items():
        assert (produced.type, produced.unit) == _unit(meter), meter
        assert produced.volume >= 0 and produced.monotonic_time is not None
    assert not [key for key in samples if SHUT_OFF in key[1]]


def test_test_mode_of_the_agent_prints_exactly_these_samples():
    repo = pathlib.Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / 'telewatch-polling'), '--test',
         '--namespace', 'compute', '--libvirt-uri', 'test://%s' % NODE,
         '--polling-file', str(repo / 'etc' / 'polling.yaml')],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(s['name'], s['resource_id']) for s in printed} == _expected_keys()
    assert len(printed) == len(_expected_keys())
    for produced in printed:
        assert (produced['type'], produced['unit']) == _unit(produced['name'])


def test_values_and_owners(conf):
    _, samples = _cycle(conf)
    for uuid, (name, display, vcpus, memory, project, user, flavor) in RUNNING.items():
        assert samples['vcpus', uuid].volume == vcpus
        assert samples['memory', uuid].volume == memory
        assert samples['power.state', uuid].volume == libvirt.VIR_DOMAIN_RUNNING
        # The test driver's balloon: available = the memory, usable = rss = half of it.
        assert samples['memory.usage', uuid].volume == memory / 2
        assert samples['memory.resident', uuid].volume == memory / 2
        assert samples['cpu', uuid].volume > 0
        total = sum(samples['disk.device.read.bytes', '%s-%s' % (uuid, dev)].volume
                    for dev in ('vda', 'vdb'))
        assert samples['disk.read.bytes', uuid].volume == total
        for produced in samples.values():
            if uuid in produced.resource_id or (uuid.endswith('1') and
                                                produced.resource_id == FREF):
                assert (produced.project_id, produced.user_id) == (project, user)
        metadata = samples['cpu', uuid].resource_metadata
        assert (metadata['name'], metadata['display_name'], metadata['instance_type'],
                metadata['status'], metadata['instance_id']) == (
                    name, display, flavor, 'active', uuid)


def test_device_metadata(conf):
    _, samples = _cycle(conf)
    uuid = 'b4c1f2a0-0000-4000-8000-000000000001'
    assert samples['disk.device.usage', uuid + '-vdb'].resource_metadata['disk_name'] == 'vdb'
    assert samples['disk.write.requests', uuid].resource_metadata['device'] == ['vda', 'vdb']
    nic = samples['network.incoming.bytes', FREF].resource_metadata
    assert (nic['name'], nic['mac'], nic['fref'], nic['vnic_name'], nic['instance_id'],
            nic['parameters']) == ('tap101', 'fa:16:3e:00:01:01', FREF, FREF, uuid,
                                   {'IP': '10.0.0.11'})
    other = samples['network.outgoing.bytes', _nic_resource(uuid, 'tap102')].resource_metadata
    assert (other['name'], other['fref'], other['vnic_name']) == ('tap102', None, 'tap102')


def test_per_domain_path_calls(conf):
    _cycle(conf)
    inspector = libvirt_inspector.get_inspector(conf)
    assert inspector.mode == libvirt_inspector.PER_DOMAIN  # the test driver: state.* only
    domains = len(RUNNING)
    assert inspector.calls == {'openReadOnly': 1, 'getAllDomainStats': 1,
                               'XMLDesc': domains, 'info': domains, 'memoryStats': domains,
                               'blockStats': 2 * domains, 'blockInfo': 2 * domains,
                               'interfaceStats': 2 * domains}
    _cycle(conf)  # a second cycle on the same connection: the same calls again, plus isAlive
    assert inspector.calls['isAlive'] == 1 and inspector.calls['openReadOnly'] == 1
    assert inspector.calls['blockStats'] == 4 * domains


def test_dropped_connection_is_reopened_on_the_next_cycle(conf):
    _cycle(conf)
    inspector = libvirt_inspector.get_inspector(conf)
    inspector.connection.close()  # behind the inspector's back: isAlive() now fails
    resources, samples = _cycle(conf)
    assert len(resources) == len(RUNNING) and inspector.calls['openReadOnly'] == 2
    assert set(samples) == _expected_keys()
