"""The libvirt inspector: one read-only connection per configuration, that reads each polling
cycle's running domains and their statistics once, for every compute pollster to share."""

import collections
import datetime
import importlib
import logging
import threading
import time
import weakref

from oslo_config import cfg

from telewatch.pollsters import base
from telewatch.pollsters import libvirt_domain

LOG = logging.getLogger(__name__)

GROUP = 'compute'
OPTS = [
    cfg.StrOpt('libvirt_uri', default='qemu:///system',
               help='URI of the libvirt connection (opened read-only) that the compute '
                    'pollsters read, e.g. qemu:///system; test:///<absolute path of a node '
                    'XML file> for the test driver.'),
    cfg.IntOpt('domain_description_expiry', default=600, min=0,
               help='Seconds a domain\'s XML description (devices, nova metadata) is reused '
                    'before it is read again. A restarted domain is always read again (it '
                    'has a new libvirt id); 0 reads every description every cycle.'),
]
CACHE_KEY = 'libvirt.stats'

# The kinds of statistics, each read at most once per domain (and device) per cycle.
STATE, CPU, BALLOON, BLOCK, BLOCK_INFO, NET = (
    'state', 'cpu', 'balloon', 'block', 'block.info', 'net')
KINDS = (STATE, CPU, BALLOON, BLOCK, BLOCK_INFO, NET)
BALLOON_KEYS = ('available', 'usable', 'unused', 'rss')
_BALLOON_STATS = tuple(('balloon.' + key, key) for key in BALLOON_KEYS)
BLOCK_KEYS = ('rd.reqs', 'rd.bytes', 'wr.reqs', 'wr.bytes')
BLOCK_INFO_KEYS = ('capacity', 'allocation', 'physical')
NET_KEYS = ('rx.bytes', 'rx.pkts', 'rx.errs', 'rx.drop',
            'tx.bytes', 'tx.pkts', 'tx.errs', 'tx.drop')

BULK, PER_DOMAIN, LISTING = 'bulk', 'per-domain', 'listing'
VIR_DOMAIN_SHUTOFF = 5
_UTC = datetime.timezone.utc


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


def import_libvirt():
    """The libvirt module; PluginUnavailable when libvirt-python is not installed."""
    try:
        module = importlib.import_module('libvirt')
    except ImportError:
        raise base.PluginUnavailable('libvirt-python is not installed') from None
    # libvirt prints every error on stderr by default; we report them ourselves.
    module.registerErrorHandler(lambda context, error: None, None)
    return module


_SHARED = {}
_SHARED_LOCK = threading.Lock()


def get_inspector(conf):
    """The one inspector (and connection) of ``conf``, shared by every compute pollster."""
    with _SHARED_LOCK:
        inspector = _SHARED.get(id(conf))
        if inspector is None or inspector.conf is not conf:
            inspector = _SHARED[id(conf)] = LibvirtInspector(conf)
            weakref.finalize(conf, _forget, id(conf), inspector)
        return inspector


def _forget(key, inspector):
    with _SHARED_LOCK:
        if _SHARED.get(key) is inspector:
            del _SHARED[key]


class Cycle:
    """One polling cycle's data: the running domains (``domains``, ``by_id``), the UTC
    ``timestamp`` and ``monotonic`` time of the listing, and statistics read on demand."""

    def __init__(self, inspector, domains, timestamp, monotonic, loaded):
        self.domains = domains
        self.by_id = {domain.id: domain for domain in domains}
        self.timestamp = timestamp
        self.monotonic = monotonic
        self._inspector = inspector
        self._loaded = set(loaded)
        self._failures = {}

    def load(self, kind):
        """Read ``kind`` for every domain of the cycle, unless it was read already."""
        if kind is None or kind in self._loaded:
            failure = self._failures.get(kind)
            if failure is not None:
                raise failure
            return
        self._loaded.add(kind)
        try:
            self._inspector.read_kind(kind, self.domains)
        except Exception as exc:
            self._failures[kind] = exc
            raise

    def unsupported(self, kind):
        """True when the hypervisor can never give ``kind``."""
        return kind in self._inspector.unsupported


class LibvirtInspector:
    """Owns the libvirt connection of one configuration and reads cycles from it.

    A cycle (``cycle(context)``, kept in ``context.cache[CACHE_KEY]``) makes one listing
    call, ``getAllDomainStats`` of the active domains, and an ``XMLDesc`` only for a domain
    it has not described yet (a new or restarted domain, or a description older than
    ``domain_description_expiry``); ``UUIDString`` and ``ID`` are read locally.
    Where the listing returns real statistics (QEMU: cpu.*, balloon.*, block.N.*, net.N.*)
    it is the whole cycle's statistics ("bulk" mode). Where it returns only ``state.*``
    (the test driver) each kind of statistics is read per domain and device, once, when the
    first pollster needs it (``Cycle.load``). A driver without the bulk API is listed with
    ``listAllDomains`` and ``dom.state()``.

    ``calls`` counts every libvirt call by method name. The connection is opened on the
    first cycle and reopened on the cycle after it drops (a disconnection error, or
    ``isAlive()`` false).
    """

    def __init__(self, conf):
        self.libvirt = import_libvirt()
        register_opts(conf)
        self.conf = conf
        self.calls = collections.Counter()
        self.unsupported = set()
        self._conn = None
        self._stale = False
        self._mode = None
        self._lock = threading.RLock()
        self._descriptions = {}
        lv = self.libvirt
        self._bulk_stats = (lv.VIR_DOMAIN_STATS_STATE | lv.VIR_DOMAIN_STATS_CPU_TOTAL
                            | lv.VIR_DOMAIN_STATS_BALLOON | lv.VIR_DOMAIN_STATS_VCPU
                            | lv.VIR_DOMAIN_STATS_INTERFACE | lv.VIR_DOMAIN_STATS_BLOCK)
        self._disconnected = {lv.VIR_ERR_SYSTEM_ERROR, lv.VIR_ERR_NO_CONNECT,
                              lv.VIR_ERR_INTERNAL_ERROR, lv.VIR_ERR_INVALID_CONN}
        self._gone = {lv.VIR_ERR_NO_DOMAIN, lv.VIR_ERR_OPERATION_INVALID}
        self._not_supported = {lv.VIR_ERR_NO_SUPPORT, lv.VIR_ERR_OPERATION_UNSUPPORTED}
        self._readers = {STATE: self._read_state, CPU: self._read_cpu,
                         BALLOON: self._read_balloon, BLOCK: self._read_block,
                         BLOCK_INFO: self._read_block_info, NET: self._read_net}

    @property
    def connection(self):
        """The open connection, or None."""
        return self._conn

    def connect(self):
        """Open the connection now rather than on the first cycle."""
        with self._lock:
            return self._connection()

    @property
    def mode(self):
        """'bulk', 'per-domain', 'listing', or None before the first domain is seen."""
        return self._mode

    def cycle(self, context):
        """This cycle's Cycle, read on first use and kept in ``context.cache``. A failure
        is kept too, so that the pollsters of a cycle do not retry a dead connection."""
        with self._lock:
            cycle = context.cache.get(CACHE_KEY)
            if cycle is None:
                try:
                    cycle = self.read_cycle()
                except Exception as exc:
                    context.cache[CACHE_KEY] = exc
                    raise
                context.cache[CACHE_KEY] = cycle
            elif isinstance(cycle, Exception):
                raise cycle
            return cycle

    def read_cycle(self):
        """List the running domains, parse their XML, and read what one call gives."""
        conn = self._connection()
        timestamp = datetime.datetime.now(_UTC)
        listing = self._list(conn)
        monotonic = time.monotonic()
        loaded = set(KINDS) if self._mode == BULK else {STATE}
        shared_times = dict.fromkeys(KINDS, monotonic)
        domains, described = [], {}
        for handle, record in listing:
            domain = self._describe(handle, described)
            if domain is None:
                continue
            # In bulk mode every statistic comes from the listing call: one shared dict.
            domain.monotonic = shared_times if self._mode == BULK else {STATE: monotonic}
            if record is not None:
                _apply_record(domain, record)
            elif not self._read_state(domain):
                continue
            if domain.state != VIR_DOMAIN_SHUTOFF:
                domains.append(domain)
        self._descriptions = described  # forget the domains that are gone
        return Cycle(self, domains, timestamp, monotonic, loaded)

    def read_kind(self, kind, domains):
        """Read the statistics ``kind`` of each domain, one call per domain and device."""
        with self._lock:
            reader = self._readers[kind]
            for domain in domains:
                if kind in self.unsupported:
                    return
                if not domain.vanished:
                    reader(domain)

    # -- the connection ---------------------------------------------------------------------

    def _call(self, target, method, *args):
        self.calls[method] += 1
        try:
            return getattr(target, method)(*args)
        except self.libvirt.libvirtError as exc:
            if exc.get_error_code() in self._disconnected:
                LOG.warning('libvirt connection to %s lost (%s); it is reopened next cycle',
                            self.conf[GROUP].libvirt_uri, exc)
                self._stale = True
            raise

    def _connection(self):
        if self._conn is not None and not self._stale:
            try:
                self._stale = not self._call(self._conn, 'isAlive')
            except self.libvirt.libvirtError:
                self._stale = True
        if self._stale:
            self._close()
        if self._conn is None:
            self._conn = self._call(self.libvirt, 'openReadOnly', self.conf[GROUP].libvirt_uri)
        return self._conn

    def _close(self):
        conn, self._conn, self._stale, self._mode = self._conn, None, False, None
        self.unsupported.clear()
        if conn is not None:
            try:
                self._call(conn, 'close')
            except self.libvirt.libvirtError as exc:
                LOG.debug('closing the dropped libvirt connection: %s', exc)

    def close(self):
        """Close the connection (a later cycle opens it again)."""
        with self._lock:
            self._close()

    # -- listing and XML ----------------------------------------------------------------------

    def _list(self, conn):
        """[(domain handle, bulk record or None)] of the active domains."""
        lv = self.libvirt
        if self._mode != LISTING:
            stats = lv.VIR_DOMAIN_STATS_STATE if self._mode == PER_DOMAIN else self._bulk_stats
            try:
                records = self._call(conn, 'getAllDomainStats', stats,
                                     lv.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
            except lv.libvirtError as exc:
                if exc.get_error_code() not in self._not_supported:
                    raise
                self._mode = LISTING
            else:
                if self._mode is None and records:
                    self._mode = BULK if any(map(_has_statistics, records)) else PER_DOMAIN
                return records
        handles = self._call(conn, 'listAllDomains', lv.VIR_CONNECT_LIST_DOMAINS_ACTIVE)
        return [(handle, None) for handle in handles]

    def _describe(self, handle, described):
        """A Domain for ``handle`` from its (cached) XML description, or None if gone."""
        domain = libvirt_domain.Domain(handle)
        key = (handle.UUIDString(), handle.ID())
        text, read_at = self._descriptions.get(key, (None, None))
        now = time.monotonic()
        if text is None or now - read_at > self.conf[GROUP].domain_description_expiry:
            text, read_at = self._domain_call(None, domain, 'XMLDesc', 0), now
            if text is None:
                return None
        described[key] = (text, read_at)
        return libvirt_domain.parse_domain(text, domain)

    # -- per-domain statistics ----------------------------------------------------------------

    def _domain_call(self, kind, domain, method, *args):
        """The result of one call on a domain, or None when it cannot answer now."""
        try:
            return self._call(domain.handle, method, *args)
        except self.libvirt.libvirtError as exc:
            code = exc.get_error_code()
            if code in self._gone:
                LOG.debug('domain %s is gone or stopped during %s: %s', domain.id, method, exc)
                domain.vanished = True
            elif code in self._not_supported and kind is not None:
                LOG.info('libvirt %s is not supported here: %s', method, exc)
                self.unsupported.add(kind)
            elif code in self._disconnected:
                raise
            else:
                LOG.warning('libvirt %s%r of %s failed: %s', method, args, domain.id, exc)
            return None

    def _read_state(self, domain):
        state = self._domain_call(STATE, domain, 'state')
        if state is not None:
            domain.stats['state.state'] = state[0]
            domain.monotonic[STATE] = time.monotonic()
        return state is not None

    def _read_cpu(self, domain):
        info = self._domain_call(CPU, domain, 'info')
        if info is not None:
            domain.stats['cpu.time'] = info[4]
            domain.monotonic[CPU] = time.monotonic()

    def _read_balloon(self, domain):
        if not domain.has_balloon:
            return
        memory = self._domain_call(BALLOON, domain, 'memoryStats')
        if memory is not None:
            for name, key in _BALLOON_STATS:
                if key in memory:
                    domain.stats[name] = memory[key]
            domain.monotonic[BALLOON] = time.monotonic()

    def _read_block(self, domain):
        self._read_devices(BLOCK, domain, domain.disks, 'blockStats', BLOCK_KEYS,
                           domain.disk_stats)

    def _read_block_info(self, domain):
        self._read_devices(BLOCK_INFO, domain, domain.disks, 'blockInfo', BLOCK_INFO_KEYS,
                           domain.disk_stats)

    def _read_net(self, domain):
        self._read_devices(NET, domain, [nic.dev for nic in domain.nics], 'interfaceStats',
                           NET_KEYS, domain.nic_stats)

    def _read_devices(self, kind, domain, devices, method, keys, records):
        for dev in devices:
            values = self._domain_call(kind, domain, method, dev)
            if domain.vanished or kind in self.unsupported:
                return
            if values is not None:
                record = records.setdefault(dev, {})
                # -1 is libvirt's "this counter is not supported".
                record.update(item for item in zip(keys, values) if item[1] >= 0)
        domain.monotonic[kind] = time.monotonic()


def _has_statistics(item):
    return any(not key.startswith('state.') for key in item[1])


def _apply_record(domain, record):
    """Copy a getAllDomainStats record into the domain, with the names of this module."""
    stats = domain.stats
    for key in ('state.state', 'cpu.time'):
        if key in record:
            stats[key] = record[key]
    if 'cpu.time' not in record and 'vcpu.maximum' in record:
        times = [record.get('vcpu.%d.time' % index) for index in range(record['vcpu.maximum'])]
        if any(value is not None for value in times):
            stats['cpu.time'] = sum(value for value in times if value is not None)
    for name, _ in _BALLOON_STATS:
        if name in record:
            stats[name] = record[name]
    _apply_devices(record, 'block', domain.disks, BLOCK_KEYS + BLOCK_INFO_KEYS,
                   domain.disk_stats)
    _apply_devices(record, 'net', [nic.dev for nic in domain.nics], NET_KEYS,
                   domain.nic_stats)


def _apply_devices(record, prefix, devices, keys, records):
    wanted = set(devices)
    for index in range(record.get(prefix + '.count', 0)):
        head = '%s.%d.' % (prefix, index)
        dev = record.get(head + 'name')
        if dev in wanted:
            records[dev] = {key: record[head + key] for key in keys if head + key in record}
