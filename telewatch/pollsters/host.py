"""Host meters (``hardware.*``) of the node the polling agent runs on, read with psutil.

One pollster class driven by the table METERS; the discovery ``local_node`` names the node.
"""

import collections
import datetime
import os
import socket
import threading
import time

try:
    import psutil
except ImportError:  # optional: without it the host meters are skipped with a reason
    psutil = None

from telewatch import sample as sample_mod
from telewatch.pollsters import base

_UTC = datetime.timezone.utc
_CACHE_KEY = 'telewatch.pollsters.host.%s'
# On Linux, user and nice already include guest and guest_nice (as psutil counts them).
_COUNTED_TWICE = ('guest', 'guest_nice')
_NOT_BUSY = ('idle', 'iowait')


class Reading(collections.namedtuple('Reading', 'value timestamp monotonic_time')):
    """What one psutil call returned, and when (UTC, and on the monotonic clock)."""


def _read_disks():
    """[(partition, usage)] of every mounted physical filesystem, each mountpoint once."""
    disks, seen = [], set()
    for partition in psutil.disk_partitions(all=False):
        if partition.mountpoint in seen:
            continue
        seen.add(partition.mountpoint)
        try:
            usage = psutil.disk_usage(partition.mountpoint)
        except OSError:
            continue  # unmounted meanwhile, or not readable by this user: nothing to report
        disks.append((partition, usage))
    return disks


#: What the meters read, by name; each is called at most once per polling cycle.
READS = {
    'cpu_times': lambda: psutil.cpu_times(),
    'virtual_memory': lambda: psutil.virtual_memory(),
    'disks': _read_disks,
    'net_io_counters': lambda: psutil.net_io_counters(pernic=True),
    # The whole node: psutil sums the disks and leaves their partitions out. None on a host
    # without block devices psutil can read (some containers).
    'disk_io_counters': lambda: psutil.disk_io_counters(perdisk=False),
    'loadavg': lambda: os.getloadavg(),
}


def read(context, name):
    """The Reading of ``READS[name]`` for this cycle, shared through ``context.cache``."""
    key = _CACHE_KEY % name
    reading = context.cache.get(key)
    if reading is None:
        value = READS[name]()
        reading = context.cache[key] = Reading(value, datetime.datetime.now(_UTC),
                                               time.monotonic())
    return reading


def _busy_and_total(times):
    total = sum(times) - sum(getattr(times, field, 0.0) for field in _COUNTED_TWICE)
    return total - sum(getattr(times, field, 0.0) for field in _NOT_BUSY), total


class CpuUtil:
    """The rows of ``hardware.cpu.util``: CPU utilisation in % since the previous call.

    psutil's formula (busy is all but idle and iowait), but not psutil.cpu_percent: that
    keeps its previous reading per thread, and the agent polls from one thread per interval
    group. The first call, having no previous reading, gives the average since boot; so
    does a call that comes before the CPU times have moved.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._previous = (0.0, 0.0)

    def __call__(self, times):
        busy, total = _busy_and_total(times)
        with self._lock:
            previous_busy, previous_total = self._previous
            self._previous = (busy, total)
        if total <= previous_total:
            previous_busy = previous_total = 0.0
        busy_delta = min(max(busy - previous_busy, 0.0), total - previous_total)
        percent = round(100.0 * busy_delta / (total - previous_total), 1) if total else 0.0
        return [(None, percent, {})]


# Each ``rows`` factory below is called once per pollster and returns the function from
# the value read to the rows [(resource id suffix or None, volume, extra metadata)].

def _whole_node(volume_of):
    return lambda: lambda value: [(None, volume_of(value), {})]


def _per_disk(field):
    def rows(disks):
        return [(partition.mountpoint, getattr(usage, field) // 1024,
                 {'device': partition.device, 'mountpoint': partition.mountpoint,
                  'fstype': partition.fstype})
                for partition, usage in disks]
    return lambda: rows


def _per_nic(field):
    def rows(counters):
        return [(nic, getattr(counters[nic], field), {'name': nic})
                for nic in sorted(counters) if nic != 'lo']
    return lambda: rows


def _all_disks(field):
    def rows(counters):
        return [] if counters is None else [(None, getattr(counters, field), {})]
    return lambda: rows


class Meter(collections.namedtuple('Meter', 'type unit reads rows')):
    """One host meter: type, unit, the READS entry it uses and its ``rows`` factory."""


GAUGE, CUMULATIVE = sample_mod.TYPE_GAUGE, sample_mod.TYPE_CUMULATIVE

METERS = {
    'hardware.cpu.util': Meter(GAUGE, '%', 'cpu_times', CpuUtil),
    # KB as Ceilometer's SNMP meters; used is what applications hold (total - available).
    'hardware.memory.used': Meter(GAUGE, 'KB', 'virtual_memory', _whole_node(
        lambda memory: (memory.total - memory.available) // 1024)),
    'hardware.memory.total': Meter(GAUGE, 'KB', 'virtual_memory', _whole_node(
        lambda memory: memory.total // 1024)),
    'hardware.disk.size.used': Meter(GAUGE, 'KB', 'disks', _per_disk('used')),
    'hardware.disk.size.total': Meter(GAUGE, 'KB', 'disks', _per_disk('total')),
    'hardware.network.incoming.bytes': Meter(CUMULATIVE, 'B', 'net_io_counters',
                                             _per_nic('bytes_recv')),
    'hardware.network.outgoing.bytes': Meter(CUMULATIVE, 'B', 'net_io_counters',
                                             _per_nic('bytes_sent')),
    'hardware.network.incoming.packets': Meter(CUMULATIVE, 'packet', 'net_io_counters',
                                               _per_nic('packets_recv')),
    'hardware.network.outgoing.packets': Meter(CUMULATIVE, 'packet', 'net_io_counters',
                                               _per_nic('packets_sent')),
    # Reads and writes of all the node's disks, since boot.
    'hardware.disk.read.bytes': Meter(CUMULATIVE, 'B', 'disk_io_counters',
                                      _all_disks('read_bytes')),
    'hardware.disk.read.requests': Meter(CUMULATIVE, 'request', 'disk_io_counters',
                                         _all_disks('read_count')),
    'hardware.disk.write.bytes': Meter(CUMULATIVE, 'B', 'disk_io_counters',
                                       _all_disks('write_bytes')),
    'hardware.disk.write.requests': Meter(CUMULATIVE, 'request', 'disk_io_counters',
                                          _all_disks('write_count')),
    'hardware.system_stats.load.1': Meter(GAUGE, 'process', 'loadavg',
                                          _whole_node(lambda load: load[0])),
}


class HostPollster(base.Pollster):
    """Any meter of METERS, for the node the agent runs on.

    Resources are the names this node is reported under: ``local_node`` gives
    ``socket.gethostname()``; a source's static ``resources`` may give another (a FQDN).
    psutil always reads the node the agent runs on. A meter of the whole node (the disk
    I/O counters included: all disks together) has the resource id ``<host>``; per
    filesystem ``<host>.<mountpoint>`` (physical filesystems
    only: psutil.disk_partitions(all=False)); per network interface ``<host>.<nic>`` (all
    but ``lo``). Every sample carries ``host`` in its metadata, and the time of the reading
    (timestamp in UTC and monotonic_time, for rates of the cumulative byte counters).

    ``hardware.cpu.util`` is the utilisation since this pollster's previous poll; the first
    poll after start-up gives the average since boot.
    """

    default_discovery = 'local_node'

    def __init__(self, conf, name):
        super().__init__(conf, name)
        if psutil is None:
            raise base.PluginUnavailable('psutil is not installed')
        if name not in METERS:
            raise ValueError('%r is not a host meter (known: %s)' % (name, ', '.join(METERS)))
        self.meter = METERS[name]
        if self.meter.reads == 'loadavg' and not hasattr(os, 'getloadavg'):
            raise base.PluginUnavailable('os.getloadavg is not available on this platform')
        self._rows = self.meter.rows()

    def get_samples(self, context, resources):
        reading = read(context, self.meter.reads)
        rows = self._rows(reading.value)
        samples = []
        for resource in resources:
            host = base.resource_key(resource)
            for suffix, volume, metadata in rows:
                samples.append(sample_mod.Sample.create(
                    name=self.name, type=self.meter.type, unit=self.meter.unit, volume=volume,
                    resource_id=host if suffix is None else '%s.%s' % (host, suffix),
                    timestamp=reading.timestamp, monotonic_time=reading.monotonic_time,
                    resource_metadata=dict(metadata, host=host)))
        return samples


class LocalNodeDiscovery(base.Discovery):
    """``local_node``: this node, as one resource named ``socket.gethostname()``."""

    def discover(self, context, param=None):
        return [socket.gethostname()]
