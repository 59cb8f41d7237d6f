"""The libvirt compute pollsters, one generic class driven by the METERS table, and the
discovery of this host's running instances; all read the inspector's per-cycle data."""

import collections
import functools
import hashlib
import socket
import types

from telewatch.pollsters import base
from telewatch.pollsters import libvirt_inspector as inspector_mod
from telewatch import sample

# What a meter measures, so what its resource is.
INSTANCE = 'instance'        # resource: the instance uuid
DISK = 'disk'                # resource: '<uuid>-<dev>', one sample per disk
DISK_TOTAL = 'disk total'    # resource: the instance, summed over its disks
NIC = 'nic'                  # resource: nova's nwfilter name, else '<name>-<uuid>-<dev>'

VIEWS_KEY = 'compute.resources'
_NO_STATS = types.MappingProxyType({})
CUMULATIVE, GAUGE = sample.TYPE_CUMULATIVE, sample.TYPE_GAUGE

# Nova's instance status for a libvirt domain state (as Ceilometer's libvirt_metadata).
LIBVIRT_STATUS = {0: 'building', 1: 'active', 2: 'active', 3: 'paused', 4: 'stopped',
                  5: 'stopped', 6: 'error', 7: 'suspended'}


class Meter(collections.namedtuple('Meter', 'type unit scope kind value')):
    """One row of the table: the sample's type and unit; its ``scope`` (INSTANCE, DISK,
    DISK_TOTAL, NIC); the ``kind`` of libvirt statistics it needs (None: the XML); and
    ``value``: a key of the statistics record (``Domain.stats`` for INSTANCE, the device's
    record otherwise) or a function of the Domain. A missing value means no sample."""

    __slots__ = ()


def _vcpus(domain):
    return domain.vcpus


def _memory(domain):
    return domain.memory_mb


def _memory_usage(domain):
    stats = domain.stats
    available = stats.get('balloon.available')
    free = stats.get('balloon.usable', stats.get('balloon.unused'))
    if available is None or free is None:
        return None
    return (available - free) / 1024


def _memory_resident(domain):
    rss = domain.stats.get('balloon.rss')
    return None if rss is None else rss / 1024


_CPU, _STATE, _BALLOON = inspector_mod.CPU, inspector_mod.STATE, inspector_mod.BALLOON
_BLOCK, _BLOCK_INFO, _NET = inspector_mod.BLOCK, inspector_mod.BLOCK_INFO, inspector_mod.NET

METERS = {
    'cpu': Meter(CUMULATIVE, 'ns', INSTANCE, _CPU, 'cpu.time'),
    'vcpus': Meter(GAUGE, 'vcpu', INSTANCE, None, _vcpus),
    'memory': Meter(GAUGE, 'MB', INSTANCE, None, _memory),
    'memory.usage': Meter(GAUGE, 'MB', INSTANCE, _BALLOON, _memory_usage),
    'memory.resident': Meter(GAUGE, 'MB', INSTANCE, _BALLOON, _memory_resident),
    'power.state': Meter(GAUGE, 'state', INSTANCE, _STATE, 'state.state'),
    'disk.device.read.bytes': Meter(CUMULATIVE, 'B', DISK, _BLOCK, 'rd.bytes'),
    'disk.device.read.requests': Meter(CUMULATIVE, 'request', DISK, _BLOCK, 'rd.reqs'),
    'disk.device.write.bytes': Meter(CUMULATIVE, 'B', DISK, _BLOCK, 'wr.bytes'),
    'disk.device.write.requests': Meter(CUMULATIVE, 'request', DISK, _BLOCK, 'wr.reqs'),
    'disk.device.capacity': Meter(GAUGE, 'B', DISK, _BLOCK_INFO, 'capacity'),
    'disk.device.allocation': Meter(GAUGE, 'B', DISK, _BLOCK_INFO, 'allocation'),
    'disk.device.usage': Meter(GAUGE, 'B', DISK, _BLOCK_INFO, 'physical'),
    'disk.read.bytes': Meter(CUMULATIVE, 'B', DISK_TOTAL, _BLOCK, 'rd.bytes'),
    'disk.read.requests': Meter(CUMULATIVE, 'request', DISK_TOTAL, _BLOCK, 'rd.reqs'),
    'disk.write.bytes': Meter(CUMULATIVE, 'B', DISK_TOTAL, _BLOCK, 'wr.bytes'),
    'disk.write.requests': Meter(CUMULATIVE, 'request', DISK_TOTAL, _BLOCK, 'wr.reqs'),
    'network.incoming.bytes': Meter(CUMULATIVE, 'B', NIC, _NET, 'rx.bytes'),
    'network.incoming.packets': Meter(CUMULATIVE, 'packet', NIC, _NET, 'rx.pkts'),
    'network.outgoing.bytes': Meter(CUMULATIVE, 'B', NIC, _NET, 'tx.bytes'),
    'network.outgoing.packets': Meter(CUMULATIVE, 'packet', NIC, _NET, 'tx.pkts'),
    'network.incoming.packets.drop': Meter(CUMULATIVE, 'packet', NIC, _NET, 'rx.drop'),
    'network.incoming.packets.error': Meter(CUMULATIVE, 'packet', NIC, _NET, 'rx.errs'),
    'network.outgoing.packets.drop': Meter(CUMULATIVE, 'packet', NIC, _NET, 'tx.drop'),
    'network.outgoing.packets.error': Meter(CUMULATIVE, 'packet', NIC, _NET, 'tx.errs'),
}


class ComputePollster(base.Pollster):
    """Any meter of METERS, for the running instances of this host (read through libvirt).

    The samples' timestamp is the cycle's listing time (UTC); ``monotonic_time`` is when
    the statistic was read. Raises PermanentPollError when libvirt here does not support
    the statistic at all; an instance that lacks it now (no balloon, no counter) simply
    yields no sample.
    """

    default_discovery = 'local_instances'

    def __init__(self, conf, name):
        super().__init__(conf, name)
        if name not in METERS:
            raise ValueError('%r is not a compute meter; known: %s' % (
                name, ', '.join(sorted(METERS))))
        self.meter = METERS[name]
        self.inspector = inspector_mod.get_inspector(conf)
        self._add_samples = {INSTANCE: self._instance_samples, DISK: self._device_samples,
                             DISK_TOTAL: self._disk_total_samples,
                             NIC: self._device_samples}[self.meter.scope]

    def get_samples(self, context, resources):
        cycle = self.inspector.cycle(context)
        kind = self.meter.kind
        cycle.load(kind)
        if kind is not None and cycle.unsupported(kind):
            raise base.PermanentPollError(
                resources, 'libvirt at %s cannot read %s statistics' % (
                    self.conf[inspector_mod.GROUP].libvirt_uri, kind))
        views = _views(context)
        samples = []
        for resource in resources:
            domain = cycle.by_id.get(base.resource_key(resource))
            if domain is not None:
                view = views.get(domain.id) or _add_view(views, domain)
                self._add_samples(samples, cycle, domain, view)
        return samples

    def _make(self, volume, resource_id, domain, metadata, cycle):
        kind = self.meter.kind
        monotonic = cycle.monotonic if kind is None else domain.monotonic.get(kind)
        return sample.Sample.create(
            name=self.name, type=self.meter.type, unit=self.meter.unit, volume=volume,
            resource_id=resource_id, timestamp=cycle.timestamp, user_id=domain.user_id,
            project_id=domain.project_id, resource_metadata=metadata,
            monotonic_time=monotonic)

    def _instance_samples(self, samples, cycle, domain, view):
        value = self.meter.value
        volume = value(domain) if callable(value) else domain.stats.get(value)
        if volume is not None:
            samples.append(self._make(volume, domain.id, domain, view.metadata, cycle))

    def _device_samples(self, samples, cycle, domain, view):
        """One sample per disk (DISK) or per interface (NIC)."""
        key = self.meter.value
        devices, stats = ((view.disks, domain.disk_stats) if self.meter.scope == DISK
                          else (view.nics, domain.nic_stats))
        for dev, resource_id, metadata in devices:
            volume = stats.get(dev, _NO_STATS).get(key)
            if volume is not None:
                samples.append(self._make(volume, resource_id, domain, metadata, cycle))

    def _disk_total_samples(self, samples, cycle, domain, view):
        key, total, devices = self.meter.value, 0, []
        for dev in domain.disks:
            volume = domain.disk_stats.get(dev, _NO_STATS).get(key)
            if volume is not None:
                total += volume
                devices.append(dev)
        if devices:
            metadata = view.disk_total_metadata
            if len(devices) != len(domain.disks):
                metadata = dict(view.metadata, device=devices)
            samples.append(self._make(total, domain.id, domain, metadata, cycle))


class LocalInstancesDiscovery(base.Discovery):
    """The running libvirt domains of this host (``.id`` = instance uuid), from the same
    per-cycle data as the pollsters; SHUTOFF domains are left out."""

    def __init__(self, conf):
        super().__init__(conf)
        self.inspector = inspector_mod.get_inspector(conf)

    def discover(self, context, param=None):
        return list(self.inspector.cycle(context).domains)


# -- what samples say about their resources, built once per domain and cycle ----------------

_View = collections.namedtuple('_View', 'metadata disks disk_total_metadata nics')


def _views(context):
    views = context.cache.get(VIEWS_KEY)
    if views is None:
        views = context.cache[VIEWS_KEY] = {}
    return views


def _add_view(views, domain):
    metadata = instance_metadata(domain)
    disks = [(dev, '%s-%s' % (domain.id, dev), dict(metadata, disk_name=dev))
             for dev in domain.disks]
    nics = [(nic.dev, _nic_resource_id(domain, nic), _nic_metadata(domain, nic))
            for nic in domain.nics]
    view = views[domain.id] = _View(metadata, disks, dict(metadata, device=list(domain.disks)),
                                    nics)
    return view


def instance_metadata(domain):
    """Ceilometer's resource_metadata of an instance, from what the domain XML says."""
    status = LIBVIRT_STATUS.get(domain.state)
    metadata = {'name': domain.name, 'instance_id': domain.id,
                'display_name': domain.display_name, 'vcpus': domain.vcpus,
                'cpu_number': domain.vcpus, 'memory_mb': domain.memory_mb,
                'status': status, 'state': status, 'instance_host': _hostname(),
                'host': _host_id(domain.project_id), 'image_ref': domain.image_ref,
                'image': {'id': domain.image_ref} if domain.image_ref else None,
                'os_type': domain.os_type, 'architecture': domain.architecture}
    flavor = domain.flavor
    if flavor is not None:
        metadata.update(instance_type=flavor['name'], flavor=flavor,
                        disk_gb=flavor['disk'], ephemeral_gb=flavor['ephemeral'])
        if flavor['disk'] is not None:
            metadata['root_gb'] = flavor['disk'] - (flavor['ephemeral'] or 0)
        if domain.memory_mb is None:
            metadata['memory_mb'] = flavor['ram']
    return metadata


def _nic_resource_id(domain, nic):
    return nic.fref or '%s-%s-%s' % (domain.name, domain.id, nic.dev)


def _nic_metadata(domain, nic):
    return {'name': nic.dev, 'mac': nic.mac, 'fref': nic.fref, 'parameters': nic.parameters,
            'vnic_name': nic.fref or nic.dev, 'instance_id': domain.id,
            'instance_type': domain.flavor['name'] if domain.flavor else None,
            'display_name': domain.display_name}


@functools.lru_cache(maxsize=None)
def _hostname():
    return socket.gethostname()


def _host_id(project_id):
    """Nova's hostId: an opaque id of this host, per project."""
    if project_id is None:
        return None
    return hashlib.sha224((project_id + _hostname()).encode('utf-8')).hexdigest()
