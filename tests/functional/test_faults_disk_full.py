"""Fault suite: the disk under the archive fills up (issue 19 §1).

A real ``telewatch-api`` and ``telewatch-archive-processor`` keep their data directory (the
SQLite index and the ``file`` storage) on a 20 MB tmpfs mounted for the test, mostly taken
by a ballast file. Writers post measures, each to its own metric, until the disk is full
and refuses them, retrying what was refused as a client told Retry-After would; then the
ballast goes and they write some more. Counted exactly: every measure answered 2xx is
stored and readable (none lost, none counted twice), refusals are 507 (never a 500), the
processor never dies, reports the full disk in /v1/status and resumes by itself.
"""

import contextlib
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

from tests.functional import api_helpers
from tests.functional import fault_helpers
from tests.functional.fault_helpers import http_get, wait_for

BIN = pathlib.Path(sys.executable).parent
WRITERS = 4
PER_POST = 2000
AFTER_SPACE_RETURNS = 5  # posts each writer makes once the ballast is gone
HEADROOM = 3 * 2**20  # what the ballast leaves free
FULL_FOR = 3  # seconds the disk stays full once everyone met it
# Series that grow by about 50 bytes a measure: the processor's rewrites fill the disk too.
POLICY = fault_helpers.archive_policy('disk-full')


@contextlib.contextmanager
def mounted_tmpfs(path, size='20m'):
    path.mkdir()
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs',
                             str(path)], capture_output=True, text=True)
    if result.returncode:
        pytest.skip('cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %s'
                    % result.stderr.strip())
    try:
        yield path
    finally:
        if subprocess.run(['umount', str(path)], capture_output=True).returncode:
            subprocess.run(['umount', '-l', str(path)], check=True)


def ballast(path, leave):
    """A file taking all of ``path``'s filesystem but ``leave`` bytes."""
    stats = os.statvfs(path)
    size = stats.f_bavail * stats.f_frsize - leave
    with open(path / 'ballast', 'wb') as f:
        for _ in range(size // 2**20):
            f.write(b'\0' * 2**20)
    return path / 'ballast'


def start_daemons(config, log_dir):
    logs = {name: open(log_dir / ('%s.log' % name), 'w') for name in ('api', 'processor')}
    api = subprocess.Popen([str(BIN / 'telewatch-api'), '--config-file', str(config)],
                           stdout=logs['api'], stderr=logs['api'])
    processor = subprocess.Popen([str(BIN / 'telewatch-archive-processor'), '--config-file',
                                  str(config)], stdout=logs['processor'],
                                 stderr=logs['processor'])
    return api, processor


def storage_health(url):
    return http_get(url + '/v1/status', timeout=10).json()['telewatch']['storage']


def test_a_full_disk_loses_no_acknowledged_measure(tmp_path):
    data = mounted_tmpfs(tmp_path / 'data')
    with data as data_dir:
        port = api_helpers.free_port()
        config = tmp_path / 'telewatch.conf'
        config.write_text('[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\n'
                          'port = %d\nworkers = 2\n[archive]\nsacks = 8\n'
                          'processing_delay = 0.1\n' % (data_dir, port))
        subprocess.run([str(BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                       check=True, capture_output=True, timeout=120)
        api, processor = start_daemons(config, tmp_path)
        try:
            url = 'http://127.0.0.1:%d' % port
            api_helpers._wait_until_up(url, api, tmp_path / 'api.log')
            counts = fill_then_free(url, data_dir)
            assert processor.poll() is None, 'the processor died'
        finally:
            for process in (api, processor):
                process.terminate()
                process.wait(30)
    for name in ('processor', 'api'):
        log = (tmp_path / ('%s.log' % name)).read_text()
        assert 'Traceback' not in log and 'WORKER TIMEOUT' not in log, log[-3000:]
    print('disk full: %(acknowledged)d acknowledged, %(stored)d stored, %(lost)d lost, '
          '%(refused)d posts refused with 507, %(unanswered)d unanswered' % counts)


def fill_then_free(url, data_dir):
    metric_ids = fault_helpers.new_metrics(url, WRITERS, POLICY)
    space_back = threading.Event()
    weight = ballast(data_dir, HEADROOM)
    writers = fault_helpers.start_writers([
        fault_helpers.Writer(url, m, space_back, refusals={507}, after=AFTER_SPACE_RETURNS,
                             per_post=PER_POST) for m in metric_ids])
    wait_for(lambda: all(w.refused.is_set() for w in writers), 40, 'every writer refused')
    wait_for(lambda: storage_health(url)['state'] == 'insufficient_storage', 15,
             '/v1/status says the storage is full')
    time.sleep(FULL_FOR)  # writers and processor keep meeting the full disk
    weight.unlink()
    space_back.set()
    fault_helpers.join_writers(writers, 60)
    counts = fault_helpers.counts(url, writers, 30)
    wait_for(lambda: storage_health(url)['state'] == 'ok', 15, 'the processor resumed')
    statuses = fault_helpers.statuses(writers)
    assert set(statuses) - {'no answer'} == {202, 507}, statuses
    fault_helpers.assert_exact(counts)
    return dict(counts, refused=statuses[507], unanswered=statuses['no answer'])
