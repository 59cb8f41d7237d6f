"""Fault suite: the disk under PostgreSQL fills up (issue 19 §1, the PostgreSQL storage
driver and index).

A real ``telewatch-api`` and ``telewatch-archive-processor`` keep their index and series in
a PostgreSQL cluster of the test's own (tests.functional.own_postgresql), one part of which
is on a 24 MB tmpfs mounted for the test and mostly taken by a ballast file:

- ``tables``: the database's tablespace. PostgreSQL refuses the insert that cannot extend
  its file (``could not extend file``, SQLSTATE 53100 disk_full) and rolls it back; the API
  answers 507.
- ``wal``: pg_wal. PostgreSQL cannot write its log: it PANICs and every backend goes, the
  postmaster recovers or, when recovery cannot write either, stops; the API answers 503
  meanwhile. Once the ballast is gone the operator starts it again if it stopped.

Writers post measures until every one has been refused, retrying what was refused as a
client told Retry-After would; then the ballast goes and they write some more. Counted
exactly: every measure answered 2xx is stored and readable (none lost, none counted twice),
refusals are 507 or 503 (never a 500), the processor never dies and resumes by itself.
"""

import shutil
import subprocess
import threading
import time

import pytest

from tests.functional import api_helpers
from tests.functional import fault_helpers
from tests.functional import own_postgresql
from tests.functional.fault_helpers import wait_for
from tests.functional.test_faults_disk_full import (
    BIN, ballast, mounted_tmpfs, start_daemons, storage_health)

WRITERS = 4
PER_POST = 1000
AFTER_SPACE_RETURNS = 5  # posts each writer makes once the ballast is gone
HEADROOM = 2 * 2**20  # what the ballast leaves free
FULL_FOR = 3  # seconds the disk stays full once everyone met it
POLICY = fault_helpers.archive_policy('pg-disk-full')


@pytest.fixture(params=['tables', 'wal'])
def filled_cluster(request, postgresql_url):
    """(what is on the tmpfs, the Cluster, the tmpfs' path). ``postgresql_url`` only makes
    sure that tools/services/postgresql installed the binaries: its cluster is not used."""
    base = own_postgresql.scratch_base('tw-pg-full')
    try:
        with mounted_tmpfs(base / 'disk', '24m') as disk:
            place = disk / 'pg'
            place.mkdir()
            own_postgresql.give_to_postgres(place)
            cluster = own_postgresql.Cluster(
                base, **{'tablespace' if request.param == 'tables' else 'wal_dir': place})
            try:
                cluster.create()
                yield request.param, cluster, disk
            finally:
                cluster.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _config(tmp_path, cluster):
    port = api_helpers.free_port()
    config = tmp_path / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\n'
                      'port = %d\nworkers = 2\n[archive]\nsacks = 8\nprocessing_delay = 0.1\n'
                      'index_url = %s\nstorage_url = %s\n'
                      % (tmp_path, port, cluster.url, cluster.url))
    return config, 'http://127.0.0.1:%d' % port


def test_a_full_postgresql_loses_no_acknowledged_measure(filled_cluster, tmp_path):
    kind, cluster, disk = filled_cluster
    config, url = _config(tmp_path, cluster)
    subprocess.run([str(BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                   check=True, capture_output=True, timeout=120)
    api, processor = start_daemons(config, tmp_path)
    try:
        api_helpers._wait_until_up(url, api, tmp_path / 'api.log')
        counts = fill_then_free(url, cluster, disk, kind)
        assert processor.poll() is None, 'the processor died'
        assert api.poll() is None, 'telewatch-api died'
    finally:
        for process in (api, processor):
            process.terminate()
            process.wait(30)
    for name in ('processor', 'api'):
        log = (tmp_path / ('%s.log' % name)).read_text()
        assert 'Traceback' not in log and 'WORKER TIMEOUT' not in log, log[-3000:]
        assert '" 500 ' not in log and 'Unexpected error' not in log, log[-3000:]
    server_log = cluster.log_text()
    if kind == 'tables':
        assert 'could not extend file' in server_log, cluster.log_tail()
        assert counts['refused'][507] > 0, counts['refused']
    else:
        assert 'PANIC' in server_log, cluster.log_tail()
    print('postgresql %s full: %d acknowledged, %d stored, %d lost, %d duplicated; posts '
          'refused: %d with 507, %d with 503; PostgreSQL PANICs: %d, started again by the '
          'operator: %s' % (kind, counts['acknowledged'], counts['stored'], counts['lost'],
                            counts['duplicated'], counts['refused'][507],
                            counts['refused'][503], server_log.count('PANIC:'),
                            counts['restarted']))
    print('\n'.join([line for line in server_log.splitlines()
                    if 'PANIC' in line or 'could not extend' in line][:2]))


def storage_state(url):
    """The storage's state in /v1/status, or the status code of an answer without one."""
    response = fault_helpers.http_get(url + '/v1/status', timeout=10)
    if response.status_code != 200:
        return response.status_code
    return response.json()['telewatch']['storage']['state']


def fill_then_free(url, cluster, disk, kind):
    metric_ids = fault_helpers.new_metrics(url, WRITERS, POLICY)
    space_back = threading.Event()
    weight = ballast(disk, HEADROOM)
    writers = fault_helpers.start_writers([
        fault_helpers.Writer(url, m, space_back, refusals={503, 507},
                             after=AFTER_SPACE_RETURNS, per_post=PER_POST)
        for m in metric_ids])
    wait_for(lambda: all(w.refused.is_set() or w.error for w in writers), 90,
             'every writer refused')
    # The processor tells what it meets through the database (a table without WAL); with
    # the database away, /v1/status is a 503 too.
    full = {'tables': {'insufficient_storage'}, 'wal': {'error', 503}}[kind]
    wait_for(lambda: storage_state(url) in full, 30, '/v1/status says %s' % full)
    time.sleep(FULL_FOR)  # writers and processor keep meeting the full disk
    weight.unlink()
    restarted = not cluster.running()
    if restarted:  # PostgreSQL gave up: the operator frees space and starts it again
        cluster.start()
    cluster.wait_accepting()
    space_back.set()
    fault_helpers.join_writers(writers, 90)
    counts = fault_helpers.counts(url, writers, 60)
    wait_for(lambda: storage_health(url)['state'] == 'ok', 30, 'the processor resumed')
    assert storage_health(url)['processors'], 'no processor reported'
    statuses = fault_helpers.statuses(writers)
    assert set(statuses) - {'no answer'} <= {202, 503, 507}, statuses
    assert statuses[503] + statuses[507] > 0, statuses
    fault_helpers.assert_exact(counts)
    return dict(counts, refused=statuses, restarted=restarted)
