"""libvirt's bulk statistics API against the real guests (see libvirt_guest.real_guest).

Only libvirt-python: this proves what the polling agent reads from a real QEMU guest.
"""

import time
from xml.etree import ElementTree

import libvirt

STATS = (libvirt.VIR_DOMAIN_STATS_STATE | libvirt.VIR_DOMAIN_STATS_CPU_TOTAL
         | libvirt.VIR_DOMAIN_STATS_BALLOON | libvirt.VIR_DOMAIN_STATS_VCPU
         | libvirt.VIR_DOMAIN_STATS_INTERFACE | libvirt.VIR_DOMAIN_STATS_BLOCK)
NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'


def _guest_stats(conn, uuid):
    found = [stats for dom, stats in conn.getAllDomainStats(STATS)
             if dom.UUIDString() == uuid]
    assert len(found) == 1, 'guest %s not in getAllDomainStats' % uuid
    return found[0]


def test_bulk_stats_cover_cpu_vcpu_balloon_block_and_net(real_guest):
    conn = libvirt.open(real_guest.uri)
    try:
        stats = _guest_stats(conn, real_guest.uuid)
    finally:
        conn.close()
    assert stats['state.state'] == libvirt.VIR_DOMAIN_RUNNING
    for key in ('cpu.time', 'vcpu.0.time', 'balloon.current', 'balloon.maximum',
                'balloon.available', 'balloon.unused', 'balloon.rss',
                'block.0.rd.bytes', 'block.0.wr.bytes', 'block.0.capacity',
                'net.0.rx.bytes', 'net.0.tx.bytes'):
        assert key in stats, '%s missing from %s' % (key, sorted(stats))
    assert stats['block.count'] == 1 and stats['block.0.name'] == 'vda'
    assert stats['net.count'] == 1 and stats['net.0.name'].startswith('vnet')
    assert stats['balloon.maximum'] == 256 * 1024
    assert stats['vcpu.current'] == 1


def test_counters_move_between_two_reads(real_guest):
    conn = libvirt.open(real_guest.uri)
    try:
        before = _guest_stats(conn, real_guest.uuid)
        time.sleep(3)
        after = _guest_stats(conn, real_guest.uuid)
        # The guest writes, reads and pings every half second; allow a slow (emulated) moment.
        deadline = time.monotonic() + 15
        while not _moved(before, after) and time.monotonic() < deadline:
            time.sleep(1)
            after = _guest_stats(conn, real_guest.uuid)
    finally:
        conn.close()
    assert after['cpu.time'] > before['cpu.time']
    assert after['vcpu.0.time'] > before['vcpu.0.time']
    assert after['block.0.wr.bytes'] > before['block.0.wr.bytes']
    assert after['block.0.rd.bytes'] > before['block.0.rd.bytes']
    assert (after['net.0.tx.bytes'] > before['net.0.tx.bytes']
            or after['net.0.rx.bytes'] > before['net.0.rx.bytes'])


def _moved(before, after):
    return all(after[key] > before[key] for key in (
        'cpu.time', 'vcpu.0.time', 'block.0.wr.bytes', 'block.0.rd.bytes')) and any(
        after[key] > before[key] for key in ('net.0.tx.bytes', 'net.0.rx.bytes'))


def test_nova_metadata_is_on_the_guest(real_guest):
    conn = libvirt.open(real_guest.uri)
    try:
        dom = conn.lookupByUUIDString(real_guest.uuid)
        metadata = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NOVA_NS)
    finally:
        conn.close()
    # libvirt hands the element back without its prefix or namespace: <instance><name>...
    instance = ElementTree.fromstring(metadata)
    assert instance.findtext('name') == 'guest-1'
    assert instance.find('flavor').get('name') == 'm1.tiny'
    assert instance.findtext('flavor/vcpus') == '1'
    assert instance.findtext('owner/project') == 'demo'


def test_a_second_guest_runs_beside_the_first_and_a_paused_guest_burns_no_cpu(
        real_guest, second_guest):
    conn = libvirt.open(second_guest.uri)
    try:
        dom = conn.lookupByUUIDString(second_guest.uuid)
        assert second_guest.uuid != real_guest.uuid and dom.name() == second_guest.name
        instance = ElementTree.fromstring(
            dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NOVA_NS))
        assert instance.findtext('name') == 'guest-2'
        first = conn.lookupByUUIDString(real_guest.uuid)
        # Its own disk and NIC: nothing of the first guest's devices is shared.
        devices = [ElementTree.fromstring(d.XMLDesc()) for d in (first, dom)]
        assert len({d.find('devices/disk/source').get('file') for d in devices}) == 2
        assert len({d.find('devices/interface/mac').get('address') for d in devices}) == 2
        running = _cpu_over(conn, second_guest.uuid, 3)
        # Paused, QEMU runs no vCPU: only its own threads' few milliseconds remain (what
        # makes the load of the closed loop fall).
        dom.suspend()
        try:
            paused = _cpu_over(conn, second_guest.uuid, 3)
            print('cpu time over 3 s: running %.3f s, paused %.3f s (vcpu %.3f s)' % (
                running[0] / 1e9, paused[0] / 1e9, paused[1] / 1e9))
            assert paused[1] == 0 and paused[0] * 4 < running[0], (running, paused)
        finally:
            dom.resume()
    finally:
        conn.close()


def _cpu_over(conn, uuid, seconds):
    """How much cpu.time and vcpu.0.time (ns) the guest used over ``seconds``."""
    before = _guest_stats(conn, uuid)
    time.sleep(seconds)
    after = _guest_stats(conn, uuid)
    return tuple(after[key] - before[key] for key in ('cpu.time', 'vcpu.0.time'))
