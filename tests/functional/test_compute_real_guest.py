"""The compute pollsters against a real QEMU guest under libvirtd: the bulk statistics path
(one getAllDomainStats call per cycle) gives every meter, with moving counters."""

import collections
import json
import pathlib
import subprocess
import sys
import time

from oslo_config import cfg

from telewatch.polling import loader
from telewatch.pollsters import base
from telewatch.pollsters import libvirt_inspector

BIN = pathlib.Path(sys.executable).parent
REPO = pathlib.Path(__file__).resolve().parents[2]
PER_DOMAIN_CALLS = {'info', 'memoryStats', 'blockStats', 'interfaceStats', 'state'}


def _poll_once(conf, pollsters, discovery):
    context = base.PollContext(conf)
    resources = discovery.discover(context)
    samples = []
    for pollster in pollsters.values():
        samples.extend(pollster.get_samples(context, resources))
    return samples, resources


def test_every_cycle_is_one_bulk_call_and_counters_move(real_guest):
    conf = cfg.ConfigOpts()
    libvirt_inspector.register_opts(conf)
    conf([])
    conf.set_override('libvirt_uri', real_guest.uri, group='compute')
    pollsters = loader.load_pollsters(conf, ['compute'])
    discovery = loader.load_discoveries(conf)['local_instances']
    inspector = libvirt_inspector.get_inspector(conf)

    first, _ = _poll_once(conf, pollsters, discovery)
    calls_before = collections.Counter(inspector.calls)
    time.sleep(3)
    second, domains = _poll_once(conf, pollsters, discovery)

    assert inspector.mode == libvirt_inspector.BULK
    assert not PER_DOMAIN_CALLS & set(inspector.calls)
    # A whole cycle of 25 pollsters, once the domains are described: one liveness check
    # and one listing call carrying every statistic, however many domains there are.
    assert domains and inspector.calls - calls_before == {'isAlive': 1,
                                                          'getAllDomainStats': 1}

    def value(samples, name, resource):
        return [s.volume for s in samples if s.name == name and s.resource_id == resource]
    uuid = real_guest.uuid
    for name, resource in (('cpu', uuid), ('disk.device.write.bytes', uuid + '-vda'),
                           ('disk.write.bytes', uuid)):
        (before,), (after,) = value(first, name, resource), value(second, name, resource)
        assert after > before, name


def test_test_mode_prints_every_meter_of_the_guest(real_guest):
    result = subprocess.run(
        [str(BIN / 'telewatch-polling'), '--test', '--namespace', 'compute', '--libvirt-uri',
         real_guest.uri, '--polling-file', str(REPO / 'etc' / 'polling.yaml')],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    samples = [json.loads(line) for line in result.stdout.splitlines()]
    mine = [s for s in samples if s['resource_id'].startswith(real_guest.uuid) or
            s['resource_metadata'].get('instance_id') == real_guest.uuid]
    names = {s['name'] for s in mine}
    assert names == {
        'cpu', 'vcpus', 'memory', 'memory.usage', 'memory.resident', 'power.state',
        'disk.device.read.bytes', 'disk.device.read.requests', 'disk.device.write.bytes',
        'disk.device.write.requests', 'disk.device.capacity', 'disk.device.allocation',
        'disk.device.usage', 'disk.read.bytes', 'disk.read.requests', 'disk.write.bytes',
        'disk.write.requests', 'network.incoming.bytes', 'network.incoming.packets',
        'network.outgoing.bytes', 'network.outgoing.packets',
        'network.incoming.packets.drop', 'network.incoming.packets.error',
        'network.outgoing.packets.drop', 'network.outgoing.packets.error'}
    cpu = next(s for s in mine if s['name'] == 'cpu')
    assert (cpu['type'], cpu['unit'], cpu['resource_id']) == ('cumulative', 'ns',
                                                              real_guest.uuid)
    assert cpu['resource_metadata']['display_name'] == 'guest-1'
    assert cpu['resource_metadata']['cpu_number'] == 1
    assert (cpu['project_id'], cpu['user_id']) == ('5e1f1a1e-0000-4000-8000-0000000000b1',
                                                   '5e1f1a1e-0000-4000-8000-0000000000a1')
    vcpus = next(s for s in mine if s['name'] == 'vcpus')
    assert vcpus['volume'] == 1.0
