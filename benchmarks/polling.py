"""One polling cycle of every libvirt compute pollster over N test-driver domains: time, memory,
samples and libvirt calls. Prints one JSON document on stdout (logs go to stderr).

The node file (N running domains, 2 disks and 2 NICs each, nova metadata, a balloon) is
written to a temporary directory and opened as test:///<path>. The test driver lives in this
process, so its own memory (its copy of the N domains) is part of the RSS: the JSON gives it
apart (``test_driver_rss_mb``). Opening the connection (the driver parsing the node file) is
timed apart too; the cycle is discovery plus every pollster with a fresh PollContext, as the
agent runs it (each pollster's samples are dropped once counted, as the agent hands them on).
"""

import argparse
import collections
import json
import logging
import os
import resource
import sys
import tempfile
import time

import psutil
import stevedore
from oslo_config import cfg

from telewatch.pollsters import base
from telewatch.pollsters import libvirt_inspector

TARGET_CPU_SECONDS = 0.5
TARGET_RSS_MB = 80
DISKS, NICS = ('vda', 'vdb'), 2
# libvirt method: how many devices of a domain it is called for (1: the domain itself).
DEVICES_PER_CALL = {'XMLDesc': 1, 'info': 1, 'state': 1, 'memoryStats': 1,
                    'blockStats': len(DISKS), 'blockInfo': len(DISKS),
                    'interfaceStats': NICS}

DOMAIN = """  <domain type='test'>
    <name>instance-%(index)08x</name>
    <uuid>%(uuid)s</uuid>
    <metadata>
      <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
        <nova:package version="27.1.0"/>
        <nova:name>bench-%(index)d</nova:name>
        <nova:flavor name="m1.small">
          <nova:memory>2048</nova:memory><nova:disk>20</nova:disk><nova:swap>0</nova:swap>
          <nova:ephemeral>0</nova:ephemeral><nova:vcpus>2</nova:vcpus>
        </nova:flavor>
        <nova:owner>
          <nova:user uuid="user-%(owner)d">user</nova:user>
          <nova:project uuid="project-%(owner)d">project</nova:project>
        </nova:owner>
        <nova:root type="image" uuid="image-1"/>
      </nova:instance>
    </metadata>
    <memory unit='MiB'>2048</memory>
    <vcpu>2</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <devices>
%(disks)s%(nics)s      <memballoon model='virtio'><stats period='10'/></memballoon>
    </devices>
  </domain>
"""
DISK = """      <disk type='file' device='disk'>
        <source file='/var/lib/nova/instances/%(uuid)s/%(dev)s'/>
        <target dev='%(dev)s' bus='virtio'/>
      </disk>
"""
NIC = """      <interface type='ethernet'>
        <mac address='fa:16:3e:%(a)02x:%(b)02x:%(nic)02x'/>
        <target dev='tap%(index)x-%(nic)d'/>%(filterref)s
      </interface>
"""
FILTERREF = ("<filterref filter='nova-instance-instance-%(index)08x-"
             "fa163e%(a)02x%(b)02x%(nic)02x'/>")


def node_xml(domains):
    """A test-driver node document with ``domains`` running nova instances."""
    parts = ['<node>\n']
    for index in range(domains):
        uuid = '5f0e0000-0000-4000-8000-%012x' % index
        values = dict(index=index, uuid=uuid, owner=index % 10, a=index // 256 % 256,
                      b=index % 256)
        values['disks'] = ''.join(DISK % dict(uuid=uuid, dev=dev) for dev in DISKS)
        values['nics'] = ''.join(
            NIC % dict(values, nic=nic, filterref=FILTERREF % dict(values, nic=nic)
                       if nic == 0 else '') for nic in range(NICS))
        parts.append(DOMAIN % values)
    parts.append('</node>\n')
    return ''.join(parts)


def _rss_mb():
    return psutil.Process().memory_info().rss / 2 ** 20


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _conf(uri):
    conf = cfg.ConfigOpts()
    libvirt_inspector.register_opts(conf)
    conf([])
    conf.set_override('libvirt_uri', uri, group='compute')
    return conf


def _plugins(conf):
    pollsters = [extension.plugin(conf, extension.name)
                 for extension in stevedore.ExtensionManager('telewatch.poll.compute')]
    discoveries = stevedore.NamedExtensionManager('telewatch.discover', ['local_instances'])
    return pollsters, discoveries['local_instances'].plugin(conf)


def run_cycle(conf, pollsters, discovery):
    """Discovery and every pollster once: (samples by meter, wall s, CPU s)."""
    produced = collections.Counter()
    wall, cpu = time.perf_counter(), time.process_time()
    context = base.PollContext(conf)
    resources = discovery.discover(context)
    for pollster in pollsters:
        produced[pollster.name] += len(list(pollster.get_samples(context, resources)))
    return produced, time.perf_counter() - wall, time.process_time() - cpu


def calls_report(calls, domains):
    per_domain = {method: round(count / domains, 3) for method, count in sorted(calls.items())}
    per_device = {method: count / (domains * DEVICES_PER_CALL[method])
                  for method, count in calls.items() if method in DEVICES_PER_CALL}
    return {'by_method': dict(sorted(calls.items())), 'total': sum(calls.values()),
            'per_domain_by_method': per_domain,
            'per_domain_total': round(sum(calls.values()) / domains, 3),
            'max_per_domain_statistic_and_device': max(per_device.values(), default=0)}


def benchmark(domains):
    with tempfile.TemporaryDirectory(prefix='telewatch-polling-') as tmp:
        path = os.path.join(tmp, 'node.xml')
        with open(path, 'w') as stream:
            stream.write(node_xml(domains))
        conf = _conf('test://' + path)
        pollsters, discovery = _plugins(conf)
        inspector = libvirt_inspector.get_inspector(conf)
        rss_before_connect = _rss_mb()
        started = time.perf_counter()
        inspector.connect()
        connect_seconds = time.perf_counter() - started
        rss_before_cycle = _rss_mb()
        calls_before = collections.Counter(inspector.calls)
        produced, wall, cpu = run_cycle(conf, pollsters, discovery)
        calls = inspector.calls - calls_before
        # The steady state: every domain already described, as in all later cycles.
        calls_before = collections.Counter(inspector.calls)
        _, steady_wall, steady_cpu = run_cycle(conf, pollsters, discovery)
        steady_calls = inspector.calls - calls_before
    return {
        'domains': domains, 'pollsters': len(pollsters), 'libvirt_mode': inspector.mode,
        'cycle': {'wall_seconds': round(wall, 4), 'cpu_seconds': round(cpu, 4),
                  'samples': sum(produced.values()),
                  'samples_per_cpu_second': round(sum(produced.values()) / cpu),
                  'samples_by_meter': dict(sorted(produced.items()))},
        'connect_seconds': round(connect_seconds, 4),
        'memory': {'peak_rss_mb': round(_peak_rss_mb(), 1),
                   'rss_before_connect_mb': round(rss_before_connect, 1),
                   'test_driver_rss_mb': round(rss_before_cycle - rss_before_connect, 1),
                   'rss_before_cycle_mb': round(rss_before_cycle, 1),
                   'rss_after_cycle_mb': round(_rss_mb(), 1)},
        'libvirt_calls': calls_report(calls, domains),
        'steady_cycle': {'wall_seconds': round(steady_wall, 4),
                         'cpu_seconds': round(steady_cpu, 4),
                         'libvirt_calls': calls_report(steady_calls, domains)},
    }


def targets(result):
    memory = result['memory']
    agent_peak = memory['peak_rss_mb'] - memory['test_driver_rss_mb']
    per_device = result['libvirt_calls']['max_per_domain_statistic_and_device']
    return {
        'cpu_seconds_per_cycle': {'target': TARGET_CPU_SECONDS,
                                  'value': result['cycle']['cpu_seconds'],
                                  'met': result['cycle']['cpu_seconds'] <= TARGET_CPU_SECONDS},
        'peak_rss_mb': {'target': TARGET_RSS_MB, 'value': memory['peak_rss_mb'],
                        'met': memory['peak_rss_mb'] <= TARGET_RSS_MB},
        'peak_rss_mb_without_test_driver': {'target': TARGET_RSS_MB,
                                            'value': round(agent_peak, 1),
                                            'met': agent_peak <= TARGET_RSS_MB},
        'calls_per_domain_statistic_and_device': {'target': 1, 'value': per_device,
                                                  'met': per_device <= 1},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--domains', type=int, default=1000,
                        help='running test-driver domains (default 1000)')
    parser.add_argument('--quick', action='store_true', help='50 domains')
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    result = benchmark(50 if args.quick else args.domains)
    result['targets'] = targets(result)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
