"""The host pollster: every hardware.* meter from psutil (faked for exact values, then
real on this machine), one psutil call per cycle, and the local_node discovery."""

import collections
import datetime
import importlib.metadata
import os
import socket
import threading
import time

import psutil
import pytest
from oslo_config import cfg

from telewatch.pollsters import base
from telewatch.pollsters import host

CpuTimes = collections.namedtuple('CpuTimes', 'user nice system idle iowait guest guest_nice')
Memory = collections.namedtuple('Memory', 'total available used free')
Partition = collections.namedtuple('Partition', 'device mountpoint fstype opts')
Usage = collections.namedtuple('Usage', 'total used free percent')
NicCounters = collections.namedtuple('NicCounters',
                                     'bytes_sent bytes_recv packets_sent packets_recv')
DiskCounters = collections.namedtuple('DiskCounters',
                                      'read_count write_count read_bytes write_bytes')

GIB = 1024 ** 3
HOST = 'node-1'


class FakePsutil:
    """Fixed psutil answers; ``calls`` counts each function's calls."""

    def __init__(self, monkeypatch):
        self.calls = collections.Counter()
        # user includes guest: total 110 - 10 = 100, of which busy 100 - idle - iowait = 50.
        self.cpu = CpuTimes(user=35.0, nice=5.0, system=10.0, idle=40.0, iowait=10.0,
                            guest=10.0, guest_nice=0.0)
        self.memory = Memory(total=8 * GIB, available=6 * GIB, used=GIB, free=5 * GIB)
        self.partitions = [Partition('/dev/sda1', '/', 'ext4', 'rw'),
                           Partition('/dev/sda1', '/', 'ext4', 'rw'),  # a bind mount
                           Partition('/dev/sdb1', '/srv/data', 'xfs', 'rw'),
                           Partition('/dev/sdc1', '/mnt/gone', 'ext4', 'rw')]
        self.usage = {'/': Usage(100 * GIB, 40 * GIB, 60 * GIB, 40.0),
                      '/srv/data': Usage(2048, 1024, 1024, 50.0)}
        self.nics = {'lo': NicCounters(5, 5, 1, 1), 'eth0': NicCounters(2000, 1000, 4, 3),
                     'br-ex': NicCounters(20, 10, 2, 1)}
        self.disk_io = DiskCounters(read_count=30, write_count=40, read_bytes=3 * GIB,
                                    write_bytes=4 * GIB)
        for name in ('cpu_times', 'virtual_memory', 'disk_partitions', 'disk_usage',
                     'net_io_counters', 'disk_io_counters'):
            monkeypatch.setattr(psutil, name, getattr(self, name))
        monkeypatch.setattr(os, 'getloadavg', self.getloadavg)

    def cpu_times(self, percpu=False):
        self.calls['cpu_times'] += 1
        assert not percpu
        return self.cpu

    def virtual_memory(self):
        self.calls['virtual_memory'] += 1
        return self.memory

    def disk_partitions(self, all=True):
        self.calls['disk_partitions'] += 1
        assert all is False, 'pseudo filesystems must be left out'
        return self.partitions

    def disk_usage(self, path):
        self.calls['disk_usage'] += 1
        if path not in self.usage:
            raise PermissionError(13, 'Permission denied', path)
        return self.usage[path]

    def net_io_counters(self, pernic=False):
        self.calls['net_io_counters'] += 1
        assert pernic
        return self.nics

    def disk_io_counters(self, perdisk=True):
        self.calls['disk_io_counters'] += 1
        assert perdisk is False, 'the whole node: the disks without their partitions'
        return self.disk_io

    def getloadavg(self):
        self.calls['getloadavg'] += 1
        return (1.5, 1.0, 0.5)


@pytest.fixture
def fake(monkeypatch):
    return FakePsutil(monkeypatch)


@pytest.fixture
def conf():
    return cfg.ConfigOpts()  # the host pollster reads no option


def poll(conf, meter, resources=(HOST,), context=None):
    pollster = host.HostPollster(conf, meter)
    return list(pollster.get_samples(context or base.PollContext(conf), list(resources)))


def rows(samples):
    return [(s.name, s.type, s.unit, s.volume, s.resource_id, s.resource_metadata)
            for s in samples]


EXPECTED = {
    'hardware.cpu.util': [
        ('hardware.cpu.util', 'gauge', '%', 50.0, HOST, {'host': HOST})],
    'hardware.memory.used': [
        ('hardware.memory.used', 'gauge', 'KB', 2 * 1024 * 1024, HOST, {'host': HOST})],
    'hardware.memory.total': [
        ('hardware.memory.total', 'gauge', 'KB', 8 * 1024 * 1024, HOST, {'host': HOST})],
    'hardware.disk.size.used': [
        ('hardware.disk.size.used', 'gauge', 'KB', 40 * 1024 * 1024, 'node-1./',
         {'host': HOST, 'device': '/dev/sda1', 'mountpoint': '/', 'fstype': 'ext4'}),
        ('hardware.disk.size.used', 'gauge', 'KB', 1, 'node-1./srv/data',
         {'host': HOST, 'device': '/dev/sdb1', 'mountpoint': '/srv/data', 'fstype': 'xfs'})],
    'hardware.disk.size.total': [
        ('hardware.disk.size.total', 'gauge', 'KB', 100 * 1024 * 1024, 'node-1./',
         {'host': HOST, 'device': '/dev/sda1', 'mountpoint': '/', 'fstype': 'ext4'}),
        ('hardware.disk.size.total', 'gauge', 'KB', 2, 'node-1./srv/data',
         {'host': HOST, 'device': '/dev/sdb1', 'mountpoint': '/srv/data', 'fstype': 'xfs'})],
    'hardware.network.incoming.bytes': [
        ('hardware.network.incoming.bytes', 'cumulative', 'B', 10, 'node-1.br-ex',
         {'host': HOST, 'name': 'br-ex'}),
        ('hardware.network.incoming.bytes', 'cumulative', 'B', 1000, 'node-1.eth0',
         {'host': HOST, 'name': 'eth0'})],
    'hardware.network.outgoing.bytes': [
        ('hardware.network.outgoing.bytes', 'cumulative', 'B', 20, 'node-1.br-ex',
         {'host': HOST, 'name': 'br-ex'}),
        ('hardware.network.outgoing.bytes', 'cumulative', 'B', 2000, 'node-1.eth0',
         {'host': HOST, 'name': 'eth0'})],
    'hardware.network.incoming.packets': [
        ('hardware.network.incoming.packets', 'cumulative', 'packet', 1, 'node-1.br-ex',
         {'host': HOST, 'name': 'br-ex'}),
        ('hardware.network.incoming.packets', 'cumulative', 'packet', 3, 'node-1.eth0',
         {'host': HOST, 'name': 'eth0'})],
    'hardware.network.outgoing.packets': [
        ('hardware.network.outgoing.packets', 'cumulative', 'packet', 2, 'node-1.br-ex',
         {'host': HOST, 'name': 'br-ex'}),
        ('hardware.network.outgoing.packets', 'cumulative', 'packet', 4, 'node-1.eth0',
         {'host': HOST, 'name': 'eth0'})],
    'hardware.disk.read.bytes': [
        ('hardware.disk.read.bytes', 'cumulative', 'B', 3 * GIB, HOST, {'host': HOST})],
    'hardware.disk.read.requests': [
        ('hardware.disk.read.requests', 'cumulative', 'request', 30, HOST, {'host': HOST})],
    'hardware.disk.write.bytes': [
        ('hardware.disk.write.bytes', 'cumulative', 'B', 4 * GIB, HOST, {'host': HOST})],
    'hardware.disk.write.requests': [
        ('hardware.disk.write.requests', 'cumulative', 'request', 40, HOST, {'host': HOST})],
    'hardware.system_stats.load.1': [
        ('hardware.system_stats.load.1', 'gauge', 'process', 1.5, HOST, {'host': HOST})],
}


@pytest.mark.parametrize('meter', sorted(EXPECTED))
def test_each_meter_gives_its_exact_samples(fake, conf, meter):
    assert rows(poll(conf, meter)) == EXPECTED[meter]


def test_the_table_is_what_setup_cfg_registers():
    entry_points = importlib.metadata.entry_points(group='telewatch.poll.host')
    assert {ep.name: ep.value for ep in entry_points} == {
        name: 'telewatch.pollsters.host:HostPollster' for name in EXPECTED}
    assert set(host.METERS) == set(EXPECTED)
    discoveries = importlib.metadata.entry_points(group='telewatch.discover')
    assert discoveries['local_node'].value == 'telewatch.pollsters.host:LocalNodeDiscovery'


def test_samples_carry_the_time_of_the_reading_in_utc(fake, conf):
    before = datetime.datetime.now(datetime.timezone.utc)
    started = time.monotonic()
    samples = poll(conf, 'hardware.network.incoming.bytes')
    assert len({(s.timestamp, s.monotonic_time) for s in samples}) == 1
    assert samples[0].timestamp.tzinfo == datetime.timezone.utc
    assert before <= samples[0].timestamp <= datetime.datetime.now(datetime.timezone.utc)
    assert started <= samples[0].monotonic_time <= time.monotonic()


def test_each_psutil_function_is_read_once_per_cycle(fake, conf):
    context = base.PollContext(conf)
    for meter in sorted(EXPECTED):
        poll(conf, meter, context=context)
    assert fake.calls == {'cpu_times': 1, 'virtual_memory': 1, 'disk_partitions': 1,
                          'disk_usage': 3, 'net_io_counters': 1, 'disk_io_counters': 1,
                          'getloadavg': 1}
    poll(conf, 'hardware.memory.used', context=base.PollContext(conf))
    assert fake.calls['virtual_memory'] == 2, 'the next cycle reads again'


def test_a_host_without_readable_disks_gives_no_disk_io_samples(fake, conf):
    fake.disk_io = None  # psutil's answer when /proc/diskstats lists nothing
    assert poll(conf, 'hardware.disk.read.bytes') == []


def test_every_resource_is_a_name_of_this_node(fake, conf):
    samples = poll(conf, 'hardware.disk.size.used', resources=['a.example.org', 'b'])
    assert [(s.resource_id, s.resource_metadata['host']) for s in samples] == [
        ('a.example.org./', 'a.example.org'), ('a.example.org./srv/data', 'a.example.org'),
        ('b./', 'b'), ('b./srv/data', 'b')]


def test_cpu_util_is_since_the_previous_poll_and_first_since_boot(fake, conf):
    pollster = host.HostPollster(conf, 'hardware.cpu.util')

    def util():
        return pollster.get_samples(base.PollContext(conf), [HOST])[0].volume

    assert util() == 50.0  # since boot
    fake.cpu = fake.cpu._replace(user=fake.cpu.user + 9, idle=fake.cpu.idle + 1)
    assert util() == 90.0
    assert util() == 53.6, 'no time went by: the average since boot (59 of 110)'
    fake.cpu = fake.cpu._replace(system=fake.cpu.system + 4, iowait=fake.cpu.iowait + 4)
    polled = []
    # psutil.cpu_percent would start again from nothing in a new thread; this must not.
    thread = threading.Thread(target=lambda: polled.append(util()))
    thread.start()
    thread.join()
    assert polled == [50.0]


def test_cpu_util_pollsters_keep_their_own_previous_reading(fake, conf):
    first = host.HostPollster(conf, 'hardware.cpu.util')
    first.get_samples(base.PollContext(conf), [HOST])
    second = host.HostPollster(conf, 'hardware.cpu.util')
    assert second.get_samples(base.PollContext(conf), [HOST])[0].volume == 50.0


def test_without_psutil_the_pollster_is_unavailable(monkeypatch, conf):
    monkeypatch.setattr(host, 'psutil', None)
    with pytest.raises(base.PluginUnavailable, match='^psutil is not installed$'):
        host.HostPollster(conf, 'hardware.memory.used')


def test_without_getloadavg_the_load_meter_is_unavailable(monkeypatch, conf):
    monkeypatch.delattr(os, 'getloadavg')
    with pytest.raises(base.PluginUnavailable, match='getloadavg'):
        host.HostPollster(conf, 'hardware.system_stats.load.1')
    host.HostPollster(conf, 'hardware.memory.used')


def test_an_unknown_meter_is_refused(conf):
    with pytest.raises(ValueError, match="'hardware.cpu.idle' is not a host meter"):
        host.HostPollster(conf, 'hardware.cpu.idle')


def test_local_node_is_this_host(monkeypatch, conf):
    monkeypatch.setattr(socket, 'gethostname', lambda: 'compute-7')
    assert host.HostPollster.default_discovery == 'local_node'
    discovery = host.LocalNodeDiscovery(conf)
    assert discovery.discover(base.PollContext(conf)) == ['compute-7']


# -- for real on this machine ------------------------------------------------------------

def _real(conf, meter):
    context = base.PollContext(conf)
    resources = host.LocalNodeDiscovery(conf).discover(context)
    return {s.resource_id: s for s in poll(conf, meter, resources, context)}


def test_real_readings_are_plausible(conf):
    name = socket.gethostname()
    memory_used = _real(conf, 'hardware.memory.used')[name].volume
    memory_total = _real(conf, 'hardware.memory.total')[name].volume
    assert memory_total > memory_used > 0
    disks_used = _real(conf, 'hardware.disk.size.used')
    disks_total = _real(conf, 'hardware.disk.size.total')
    assert disks_used and set(disks_used) == set(disks_total)
    assert all(disks_total[key].volume >= disks_used[key].volume >= 0 for key in disks_used)
    assert any(disks_total[key].volume > disks_used[key].volume > 0 for key in disks_used)
    assert 0.0 <= _real(conf, 'hardware.cpu.util')[name].volume <= 100.0
    assert _real(conf, 'hardware.system_stats.load.1')[name].volume >= 0.0
    incoming = _real(conf, 'hardware.network.incoming.bytes')
    assert name + '.lo' not in incoming
    assert set(incoming) == set(_real(conf, 'hardware.network.outgoing.bytes'))
    assert all(sample.volume >= 0 for sample in incoming.values())
    packets = _real(conf, 'hardware.network.incoming.packets')
    assert set(packets) == set(incoming)
    assert all(sample.volume >= 0 for sample in packets.values())
    if psutil.disk_io_counters(perdisk=False) is not None:  # a container may list no disk
        reads = _real(conf, 'hardware.disk.read.requests')[name].volume
        assert reads >= 0 and _real(conf, 'hardware.disk.write.bytes')[name].volume >= 0
