"""Unit tests of the libvirt inspector against a fake libvirt module, connection and domains.

The fakes here (FakeDomain, FakeConnection, the ``fake_libvirt`` fixture) serve test_compute.
"""

import collections
import itertools
import re
import sys
import types

import pytest
from oslo_config import cfg

from telewatch.pollsters import base
from telewatch.pollsters import libvirt_domain
from telewatch.pollsters import libvirt_inspector

CONSTANTS = dict(
    VIR_DOMAIN_STATS_STATE=1, VIR_DOMAIN_STATS_CPU_TOTAL=2, VIR_DOMAIN_STATS_BALLOON=4,
    VIR_DOMAIN_STATS_VCPU=8, VIR_DOMAIN_STATS_INTERFACE=16, VIR_DOMAIN_STATS_BLOCK=32,
    VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE=1, VIR_CONNECT_LIST_DOMAINS_ACTIVE=1,
    VIR_ERR_INTERNAL_ERROR=1, VIR_ERR_NO_SUPPORT=3, VIR_ERR_NO_CONNECT=5,
    VIR_ERR_INVALID_CONN=6, VIR_ERR_SYSTEM_ERROR=38, VIR_ERR_NO_DOMAIN=42,
    VIR_ERR_OPERATION_INVALID=55, VIR_ERR_OPERATION_UNSUPPORTED=84)
C = types.SimpleNamespace(**CONSTANTS)

NOVA = 'http://openstack.org/xmlns/libvirt/nova/1.1'
UUID_1 = '6b1a1e4e-0000-4000-8000-000000000001'
UUID_2 = '6b1a1e4e-0000-4000-8000-000000000002'
UUID_OFF = '6b1a1e4e-0000-4000-8000-0000000000ff'

NOVA_XML = '''<domain type='kvm' id='7'>
  <name>instance-00000001</name>
  <uuid>%s</uuid>
  <metadata>
    <nova:instance xmlns:nova="%s">
      <nova:package version="27.0.0"/>
      <nova:name>web-1</nova:name>
      <nova:flavor name="m1.small">
        <nova:memory>2048</nova:memory>
        <nova:disk>20</nova:disk>
        <nova:swap>512</nova:swap>
        <nova:ephemeral>5</nova:ephemeral>
        <nova:vcpus>2</nova:vcpus>
      </nova:flavor>
      <nova:owner>
        <nova:user uuid="user-1">alice</nova:user>
        <nova:project uuid="project-1">demo</nova:project>
      </nova:owner>
      <nova:root type="image" uuid="image-1"/>
    </nova:instance>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/nova/instances/1/disk'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/var/lib/nova/instances/1/disk.eph0'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
    </disk>
    <interface type='bridge'>
      <mac address='fa:16:3e:00:00:01'/>
      <target dev='tap0001'/>
      <filterref filter='nova-instance-instance-00000001-fa163e000001'>
        <parameter name='IP' value='10.0.0.5'/>
      </filterref>
    </interface>
    <interface type='ethernet'>
      <mac address='fa:16:3e:00:00:02'/>
      <target dev='tap0002'/>
    </interface>
    <interface type='user'>
      <mac address='fa:16:3e:00:00:03'/>
    </interface>
    <memballoon model='virtio'><stats period='10'/></memballoon>
  </devices>
</domain>''' % (UUID_1, NOVA)

PLAIN_XML = '''<domain type='kvm'>
  <name>plain</name>
  <uuid>%s</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu current='1'>4</vcpu>
  <devices>
    <disk type='block' device='disk'>
      <source dev='/dev/sdb'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <interface type='ethernet'>
      <mac address='52:54:00:00:00:09'/>
      <target dev='vnet9'/>
    </interface>
    <memballoon model='none'/>
  </devices>
</domain>'''

OFF_XML = PLAIN_XML.replace('plain', 'stopped') % UUID_OFF
PLAIN_XML = PLAIN_XML % UUID_2

BALLOON = {'actual': 2097152, 'available': 2048000, 'usable': 1024000, 'unused': 1000000,
           'rss': 512000, 'last_update': 1}


class FakeLibvirtError(Exception):
    def __init__(self, message, code, error_domain=0):
        super().__init__(message)
        self.err = (code, error_domain, message)

    def get_error_code(self):
        return self.err[0]


def error(code, message='fake libvirt error'):
    return FakeLibvirtError(message, code)


def block_stats(dev):
    base_value = 1000 * (ord(dev[-1]) - ord('a') + 1)
    return (base_value + 1, base_value + 2, base_value + 3, base_value + 4, -1)


def block_info(dev):
    base_value = 10 ** 9 * (ord(dev[-1]) - ord('a') + 1)
    return [base_value, base_value // 2, base_value // 4]


def interface_stats(dev):
    base_value = 100 * int(dev[-1])
    return tuple(base_value + offset for offset in range(1, 9))


_DOMAIN_IDS = itertools.count(1)


class FakeDomain:
    """A domain whose every call is counted in ``calls``; ``errors[method]`` is raised."""

    def __init__(self, xml, state=1, cpu_time=123456789, balloon=None):
        self.xml, self.state_value, self.cpu_time = xml, state, cpu_time
        self.uuid = re.search('<uuid>(.*)</uuid>', xml).group(1)
        self.domain_id = next(_DOMAIN_IDS)
        self.balloon = dict(BALLOON) if balloon is None else balloon
        self.errors = {}
        self.calls = collections.Counter()

    def _enter(self, method):
        self.calls[method] += 1
        if method in self.errors:
            raise self.errors[method]

    def XMLDesc(self, flags=0):
        self._enter('XMLDesc')
        return self.xml

    def UUIDString(self):
        return self.uuid

    def ID(self):
        return self.domain_id

    def info(self):
        self._enter('info')
        return [self.state_value, 2097152, 2097152, 2, self.cpu_time]

    def state(self):
        self._enter('state')
        return [self.state_value, 0]

    def memoryStats(self):
        self._enter('memoryStats')
        return dict(self.balloon)

    def blockStats(self, dev):
        self._enter('blockStats')
        return block_stats(dev)

    def blockInfo(self, dev):
        self._enter('blockInfo')
        return block_info(dev)

    def interfaceStats(self, dev):
        self._enter('interfaceStats')
        return interface_stats(dev)

    def bulk_record(self, devices):
        """What QEMU's getAllDomainStats gives for this domain (``devices``: disks, nics)."""
        disks, nics = devices
        record = {'state.state': self.state_value, 'state.reason': 1,
                  'cpu.time': self.cpu_time, 'cpu.user': 1, 'vcpu.current': 2,
                  'vcpu.maximum': 2, 'vcpu.0.time': 1, 'vcpu.1.time': 2,
                  'block.count': len(disks), 'net.count': len(nics)}
        record.update(('balloon.' + key, value) for key, value in self.balloon.items())
        for index, dev in enumerate(disks):
            values = block_stats(dev)[:4] + tuple(block_info(dev))
            record['block.%d.name' % index] = dev
            record.update(('block.%d.%s' % (index, key), value) for key, value in zip(
                libvirt_inspector.BLOCK_KEYS + libvirt_inspector.BLOCK_INFO_KEYS, values))
        for index, dev in enumerate(nics):
            record['net.%d.name' % index] = dev
            record.update(('net.%d.%s' % (index, key), value) for key, value in zip(
                libvirt_inspector.NET_KEYS, interface_stats(dev)))
        return record


class FakeConnection:
    """A connection to ``domains``; ``bulk`` makes getAllDomainStats return QEMU's full
    records, otherwise (like the test driver) only state.*."""

    def __init__(self, domains, bulk=False, devices=None):
        self.domains, self.bulk, self.devices = domains, bulk, devices or {}
        self.alive = True
        self.errors = {}
        self.calls = collections.Counter()
        self.stats_asked = []

    def _enter(self, method):
        self.calls[method] += 1
        if method in self.errors:
            raise self.errors[method]

    def isAlive(self):
        self._enter('isAlive')
        return self.alive

    def close(self):
        self._enter('close')
        self.alive = False

    def listAllDomains(self, flags=0):
        self._enter('listAllDomains')
        return [dom for dom in self.domains if dom.state_value != 5 or not flags]

    def getAllDomainStats(self, stats, flags=0):
        self._enter('getAllDomainStats')
        self.stats_asked.append(stats)
        active = [dom for dom in self.domains if dom.state_value != 5 or not flags]
        if self.bulk and stats != C.VIR_DOMAIN_STATS_STATE:
            return [(dom, dom.bulk_record(self.devices[id(dom)])) for dom in active]
        return [(dom, {'state.state': dom.state_value, 'state.reason': 1}) for dom in active]


class FakeLibvirt(types.SimpleNamespace):
    """A stand-in for the libvirt module; ``connections`` are handed out by openReadOnly."""

    def __init__(self):
        super().__init__(**CONSTANTS)
        self.libvirtError = FakeLibvirtError
        self.connections = []
        self.opened = []

    def registerErrorHandler(self, handler, context):
        pass

    def openReadOnly(self, uri):
        self.opened.append(uri)
        if not self.connections:
            raise error(C.VIR_ERR_SYSTEM_ERROR, 'Failed to connect socket')
        return self.connections.pop(0)


def standard_domains():
    """A nova instance (2 disks, 2 NICs, balloon), a plain domain, a shut-off one."""
    return [FakeDomain(NOVA_XML, cpu_time=5 * 10 ** 9),
            FakeDomain(PLAIN_XML, cpu_time=7 * 10 ** 9, balloon={}),
            FakeDomain(OFF_XML, state=5)]


def standard_connection(bulk=False):
    nova, plain, off = standard_domains()
    devices = {id(nova): (('vda', 'vdb'), ('tap0001', 'tap0002')),
               id(plain): (('sda',), ('vnet9',)), id(off): ((), ())}
    return FakeConnection([nova, plain, off], bulk=bulk, devices=devices)


@pytest.fixture
def fake_libvirt(monkeypatch):
    module = FakeLibvirt()
    monkeypatch.setitem(sys.modules, 'libvirt', module)
    return module


def make_conf(uri='test:///fake'):
    conf = cfg.ConfigOpts()
    libvirt_inspector.register_opts(conf)
    conf([])
    conf.set_override('libvirt_uri', uri, group='compute')
    return conf


def domain_calls(connection):
    total = collections.Counter()
    for dom in connection.domains:
        total.update(dom.calls)
    return total


# -- XML ----------------------------------------------------------------------------------------

def test_parse_domain_with_nova_metadata():
    domain = libvirt_domain.parse_domain(NOVA_XML)
    assert (domain.id, domain.name, domain.vcpus, domain.memory_mb) == (
        UUID_1, 'instance-00000001', 2, 2048)
    assert domain.disks == ('vda', 'vdb')  # the cdrom has no <source>
    assert [nic.dev for nic in domain.nics] == ['tap0001', 'tap0002']  # 'user' has no target
    assert domain.nics[0] == libvirt_domain.Interface(
        'tap0001', 'fa:16:3e:00:00:01', 'nova-instance-instance-00000001-fa163e000001',
        {'IP': '10.0.0.5'})
    assert domain.nics[1] == libvirt_domain.Interface(
        'tap0002', 'fa:16:3e:00:00:02', None, None)
    assert domain.has_balloon
    assert domain.display_name == 'web-1'
    assert domain.flavor == {'name': 'm1.small', 'vcpus': 2, 'ram': 2048, 'disk': 20,
                             'ephemeral': 5, 'swap': 512}
    assert (domain.user_id, domain.project_id, domain.image_ref) == (
        'user-1', 'project-1', 'image-1')
    assert (domain.os_type, domain.architecture) == ('hvm', 'x86_64')


def test_parse_domain_without_nova_metadata():
    domain = libvirt_domain.parse_domain(PLAIN_XML)
    assert (domain.id, domain.name, domain.vcpus, domain.memory_mb) == (UUID_2, 'plain', 1, 512)
    assert domain.disks == ('sda',)
    assert not domain.has_balloon
    assert domain.flavor is domain.user_id is domain.project_id is domain.display_name is None


@pytest.mark.parametrize('namespace', ['http://openstack.org/xmlns/libvirt/nova/1.0',
                                       'http://openstack.org/xmlns/libvirt/nova/1.2'])
def test_parse_domain_accepts_every_nova_metadata_version(namespace):
    domain = libvirt_domain.parse_domain(NOVA_XML.replace(NOVA, namespace))
    assert domain.display_name == 'web-1' and domain.project_id == 'project-1'


# -- cycles ---------------------------------------------------------------------------------

def test_per_domain_path_reads_each_statistic_once(fake_libvirt):
    connection = standard_connection()
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    context = base.PollContext(inspector.conf)
    cycle = inspector.cycle(context)
    assert [d.id for d in cycle.domains] == [UUID_1, UUID_2]  # the shut-off one is left out
    assert inspector.mode == libvirt_inspector.PER_DOMAIN
    for _ in range(3):
        for kind in libvirt_inspector.KINDS:
            inspector.cycle(context).load(kind)
    assert inspector.calls == {'openReadOnly': 1, 'getAllDomainStats': 1, 'XMLDesc': 2,
                               'info': 2, 'memoryStats': 1, 'blockStats': 3, 'blockInfo': 3,
                               'interfaceStats': 3}
    assert domain_calls(connection) == {k: v for k, v in inspector.calls.items()
                                        if k not in ('openReadOnly', 'getAllDomainStats')}
    nova = cycle.by_id[UUID_1]
    assert nova.stats == {'state.state': 1, 'cpu.time': 5 * 10 ** 9, 'balloon.available': 2048000,
                          'balloon.usable': 1024000, 'balloon.unused': 1000000,
                          'balloon.rss': 512000}
    assert nova.disk_stats['vdb'] == {'rd.reqs': 2001, 'rd.bytes': 2002, 'wr.reqs': 2003,
                                      'wr.bytes': 2004, 'capacity': 2 * 10 ** 9,
                                      'allocation': 10 ** 9, 'physical': 5 * 10 ** 8}
    assert nova.nic_stats['tap0002'] == dict(zip(libvirt_inspector.NET_KEYS, range(201, 209)))
    assert set(nova.monotonic) == set(libvirt_inspector.KINDS)


def test_per_domain_path_lists_with_state_only_after_the_first_cycle(fake_libvirt):
    connection = standard_connection()
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    inspector.cycle(base.PollContext(inspector.conf))
    inspector.cycle(base.PollContext(inspector.conf))
    assert connection.stats_asked == [63, C.VIR_DOMAIN_STATS_STATE]  # probe, then state only
    assert inspector.calls['isAlive'] == 1 and inspector.calls['openReadOnly'] == 1


def test_bulk_path_makes_one_statistics_call(fake_libvirt):
    fake_libvirt.connections.append(standard_connection(bulk=True))
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    for cycle_number in range(1, 3):
        cycle = inspector.cycle(base.PollContext(inspector.conf))
        for kind in libvirt_inspector.KINDS:
            cycle.load(kind)
        assert inspector.mode == libvirt_inspector.BULK
        # Descriptions are read once: later cycles make one call plus a liveness check.
        assert inspector.calls == collections.Counter(
            openReadOnly=1, getAllDomainStats=cycle_number, XMLDesc=2,
            isAlive=cycle_number - 1)
    nova = cycle.by_id[UUID_1]
    assert nova.stats['cpu.time'] == 5 * 10 ** 9
    assert nova.stats['balloon.usable'] == 1024000
    assert nova.disk_stats['vda']['rd.bytes'] == 1002
    assert nova.disk_stats['vda']['physical'] == 250000000
    assert nova.nic_stats['tap0001']['tx.errs'] == 107
    assert cycle.by_id[UUID_2].disk_stats == {'sda': dict(zip(
        libvirt_inspector.BLOCK_KEYS + libvirt_inspector.BLOCK_INFO_KEYS,
        block_stats('sda')[:4] + tuple(block_info('sda'))))}


def test_bulk_cpu_time_falls_back_to_the_sum_of_vcpu_times():
    domain = libvirt_domain.parse_domain(NOVA_XML)
    libvirt_inspector._apply_record(domain, {'state.state': 1, 'vcpu.maximum': 2,
                                             'vcpu.0.time': 40, 'vcpu.1.time': 2})
    assert domain.stats == {'state.state': 1, 'cpu.time': 42}


def test_driver_without_bulk_api_lists_domains_and_reads_their_state(fake_libvirt):
    connection = standard_connection()
    connection.errors['getAllDomainStats'] = error(C.VIR_ERR_NO_SUPPORT)
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    cycle = inspector.cycle(base.PollContext(inspector.conf))
    assert inspector.mode == libvirt_inspector.LISTING
    assert [d.state for d in cycle.domains] == [1, 1]
    assert inspector.calls == {'openReadOnly': 1, 'getAllDomainStats': 1,
                               'listAllDomains': 1, 'XMLDesc': 2, 'state': 2}
    inspector.cycle(base.PollContext(inspector.conf))
    assert inspector.calls['getAllDomainStats'] == 1  # not asked again on this connection


def test_domain_vanishing_mid_cycle_is_skipped_quietly(fake_libvirt, caplog):
    connection = standard_connection()
    nova, plain, _ = connection.domains
    plain.errors['XMLDesc'] = error(C.VIR_ERR_NO_DOMAIN, 'Domain not found')
    nova.errors['blockStats'] = error(C.VIR_ERR_NO_DOMAIN, 'Domain not found')
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    cycle = inspector.cycle(base.PollContext(inspector.conf))
    assert [d.id for d in cycle.domains] == [UUID_1]
    cycle.load(libvirt_inspector.BLOCK)
    cycle.load(libvirt_inspector.NET)
    assert nova.calls['blockStats'] == 1  # not asked for vdb once the domain is gone
    assert nova.calls['interfaceStats'] == 0
    assert cycle.by_id[UUID_1].disk_stats == {}
    assert not [r for r in caplog.records if r.levelname in ('WARNING', 'ERROR')]


def test_other_domain_errors_skip_only_that_domain(fake_libvirt):
    connection = standard_connection()
    connection.domains[0].errors['info'] = error(8, 'invalid argument')
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    cycle = inspector.cycle(base.PollContext(inspector.conf))
    cycle.load(libvirt_inspector.CPU)
    assert 'cpu.time' not in cycle.by_id[UUID_1].stats
    assert cycle.by_id[UUID_2].stats['cpu.time'] == 7 * 10 ** 9
    assert not cycle.unsupported(libvirt_inspector.CPU)


def test_unsupported_statistic_is_asked_once_and_reported(fake_libvirt):
    connection = standard_connection()
    for dom in connection.domains:
        dom.errors['blockInfo'] = error(C.VIR_ERR_OPERATION_UNSUPPORTED)
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    cycle = inspector.cycle(base.PollContext(inspector.conf))
    cycle.load(libvirt_inspector.BLOCK_INFO)
    assert cycle.unsupported(libvirt_inspector.BLOCK_INFO)
    assert inspector.calls['blockInfo'] == 1
    assert not cycle.unsupported(libvirt_inspector.BLOCK)


def test_dropped_connection_is_reopened_on_the_next_cycle(fake_libvirt):
    first, second = standard_connection(), standard_connection()
    fake_libvirt.connections.extend([first, second])
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    inspector.cycle(base.PollContext(inspector.conf))
    first.errors['getAllDomainStats'] = error(C.VIR_ERR_SYSTEM_ERROR, 'Broken pipe')
    context = base.PollContext(inspector.conf)
    for _ in range(3):  # the pollsters of the failing cycle do not retry it
        with pytest.raises(FakeLibvirtError):
            inspector.cycle(context)
    assert first.calls['getAllDomainStats'] == 2 and fake_libvirt.opened == ['test:///fake']
    cycle = inspector.cycle(base.PollContext(inspector.conf))
    assert len(fake_libvirt.opened) == 2 and first.calls['close'] == 1
    assert [d.id for d in cycle.domains] == [UUID_1, UUID_2]
    assert second.calls['getAllDomainStats'] == 1


def test_connection_lost_while_reading_statistics(fake_libvirt):
    first, second = standard_connection(), standard_connection()
    first.domains[0].errors['interfaceStats'] = error(C.VIR_ERR_INVALID_CONN)
    fake_libvirt.connections.extend([first, second])
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    cycle = inspector.cycle(base.PollContext(inspector.conf))
    for _ in range(2):
        with pytest.raises(FakeLibvirtError):
            cycle.load(libvirt_inspector.NET)
    assert inspector.calls['interfaceStats'] == 1
    inspector.cycle(base.PollContext(inspector.conf))
    assert len(fake_libvirt.opened) == 2


def test_connection_not_alive_is_reopened(fake_libvirt):
    first, second = standard_connection(), standard_connection()
    fake_libvirt.connections.extend([first, second])
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    inspector.cycle(base.PollContext(inspector.conf))
    first.alive = False
    inspector.cycle(base.PollContext(inspector.conf))
    assert len(fake_libvirt.opened) == 2 and second.calls['getAllDomainStats'] == 1


def test_libvirt_down_fails_the_cycle_and_recovers(fake_libvirt):
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    with pytest.raises(FakeLibvirtError):
        inspector.cycle(base.PollContext(inspector.conf))
    fake_libvirt.connections.append(standard_connection())
    assert len(inspector.cycle(base.PollContext(inspector.conf)).domains) == 2


def test_plugin_unavailable_without_libvirt_python(monkeypatch):
    monkeypatch.setitem(sys.modules, 'libvirt', None)  # import libvirt -> ImportError
    with pytest.raises(base.PluginUnavailable, match='libvirt-python is not installed'):
        libvirt_inspector.LibvirtInspector(make_conf())


def test_one_inspector_per_configuration(fake_libvirt):
    conf, other = make_conf(), make_conf()
    shared = libvirt_inspector.get_inspector(conf)
    assert libvirt_inspector.get_inspector(conf) is shared
    assert libvirt_inspector.get_inspector(other) is not shared


def test_options():
    conf = cfg.ConfigOpts()
    libvirt_inspector.register_opts(conf)
    conf([])
    assert conf.compute.libvirt_uri == 'qemu:///system'
    assert libvirt_inspector.list_opts() == [('compute', libvirt_inspector.OPTS)]


def _described_in_cycles(inspector, connection, changes):
    """XMLDesc calls per domain over one cycle per entry of ``changes`` (run before it)."""
    seen = []
    for change in changes:
        change()
        before = domain_calls(connection)['XMLDesc']
        inspector.cycle(base.PollContext(inspector.conf))
        seen.append(domain_calls(connection)['XMLDesc'] - before)
    return seen


def test_descriptions_are_read_again_only_for_new_or_restarted_domains(fake_libvirt):
    connection = standard_connection(bulk=True)
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    nova = connection.domains[0]

    def restart():
        nova.domain_id += 100
    assert _described_in_cycles(inspector, connection, [
        lambda: None, lambda: None, restart, lambda: None]) == [2, 0, 1, 0]


def test_descriptions_expire(fake_libvirt, monkeypatch):
    connection = standard_connection(bulk=True)
    fake_libvirt.connections.append(connection)
    conf = make_conf()
    conf.set_override('domain_description_expiry', 60, group='compute')
    inspector = libvirt_inspector.LibvirtInspector(conf)
    now = [1000.0]
    monkeypatch.setattr(libvirt_inspector.time, 'monotonic', lambda: now[0])

    def later(seconds):
        return lambda: now.__setitem__(0, now[0] + seconds)
    assert _described_in_cycles(inspector, connection, [
        lambda: None, later(30), later(31)]) == [2, 0, 2]


def test_a_domain_that_left_is_forgotten(fake_libvirt):
    connection = standard_connection(bulk=True)
    fake_libvirt.connections.append(connection)
    inspector = libvirt_inspector.LibvirtInspector(make_conf())
    nova = connection.domains[0]
    _described_in_cycles(inspector, connection, [lambda: None])
    connection.domains.remove(nova)
    _described_in_cycles(inspector, connection, [lambda: None])
    assert len(inspector._descriptions) == 1
