"""The ``real_guest`` fixture: one tiny real Linux guest under libvirt/QEMU for the session.

It runs tools/libvirt/start-guest (installs and starts libvirtd with the QEMU driver, builds
the guest once into ~/.cache/telewatch, starts it and waits until its CPU, disk, network and
balloon counters move) and tools/libvirt/stop at the end of the session. Set
``TELEWATCH_SKIP_QEMU=1`` to skip the tests that use it; otherwise a guest that cannot be
started fails them: CI must prove the real-guest path. ``second_guest`` adds a second one
(``start-guest 2``: same kernel and initrd, its own uuid, name, MAC and disk) for the tests
that need two instances, and stops it (``stop 2``) before the first.
"""

import collections
import os
import pathlib
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = REPO / 'tools' / 'libvirt'
URI = 'qemu:///system'
UUID = '5e1f1a1e-0000-4000-8000-000000000001'
NAME = 'telewatch-guest'
UUID_2 = '5e1f1a1e-0000-4000-8000-000000000002'
NAME_2 = 'telewatch-guest-2'
# Cold (packages, capability probe, kernel download) takes well under a minute here; the
# scripts bound each of their own waits, this only guards against a hung apt.
START_TIMEOUT = 900

RealGuest = collections.namedtuple('RealGuest', 'uri uuid name')


def _run(script, *args):
    try:
        result = subprocess.run([str(TOOLS / script), *args], cwd=str(REPO), capture_output=True,
                                text=True, timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return False, 'timed out after %ss\n%s%s' % (
            START_TIMEOUT, exc.stdout or '', exc.stderr or '')
    return result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope='session')
def real_guest():
    """Yield ``RealGuest(uri, uuid, name)`` of a running guest whose counters move."""
    if os.environ.get('TELEWATCH_SKIP_QEMU') == '1':
        pytest.skip('TELEWATCH_SKIP_QEMU=1: no real libvirt guest')
    ok, output = _run('start-guest')
    if not ok:
        _run('stop')
        pytest.fail('tools/libvirt/start-guest failed:\n%s' % output, pytrace=False)
    try:
        yield RealGuest(URI, UUID, NAME)
    finally:
        ok, output = _run('stop')
        if not ok:
            pytest.fail('tools/libvirt/stop failed:\n%s' % output, pytrace=False)


@pytest.fixture(scope='session')
def second_guest(real_guest):
    """Yield ``RealGuest(uri, uuid, name)`` of a second running guest beside ``real_guest``."""
    ok, output = _run('start-guest', '2')
    if not ok:
        _run('stop', '2')
        pytest.fail('tools/libvirt/start-guest 2 failed:\n%s' % output, pytrace=False)
    try:
        yield RealGuest(URI, UUID_2, NAME_2)
    finally:
        ok, output = _run('stop', '2')
        if not ok:
            pytest.fail('tools/libvirt/stop 2 failed:\n%s' % output, pytrace=False)
