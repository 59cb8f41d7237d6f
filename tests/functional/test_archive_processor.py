"""telewatch-upgrade and two telewatch-archive-processor daemons sharing one store while a
writer writes; one daemon is killed with SIGKILL mid-stream and started again. Every
acknowledged measure ends up aggregated exactly once. On the embedded store (SQLite + file)
and on PostgreSQL (index and series), where the processors could be on different hosts."""

import pathlib
import signal
import subprocess
import sys
import time
import uuid

import numpy
import pytest

from telewatch import service
from telewatch.archive import state as state_mod
from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod
from tests.functional import services

BIN = pathlib.Path(sys.executable).parent
T0 = 1_700_000_000 * 10**9
METRICS = 30
CALLS = 120
PER_CALL = 5


@pytest.fixture(params=['embedded', 'postgresql'])
def config(request, tmp_path):
    lines = ['[DEFAULT]', 'data_dir = %s' % tmp_path, '[archive]', 'sacks = 8',
             'processing_delay = 0.05']
    if request.param == 'postgresql':
        database = services.scratch_database(request.getfixturevalue('postgresql_url'),
                                             'tw_processor')
        url = database.__enter__()
        request.addfinalizer(lambda: database.__exit__(None, None, None))
        lines += ['index_url = %s' % url, 'storage_url = %s' % url]
    path = tmp_path / 'telewatch.conf'
    path.write_text('\n'.join(lines) + '\n')
    return path


def start_processor(config, log):
    return subprocess.Popen([str(BIN / 'telewatch-archive-processor'), '--config-file',
                             str(config)], stdout=log, stderr=log, start_new_session=True)


def stop(process, signum=signal.SIGTERM):
    if process.poll() is None:
        process.send_signal(signum)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_killed_processor_loses_and_repeats_nothing(config, tmp_path):
    result = subprocess.run([str(BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    conf = service.prepare_service(['--config-file', str(config)])
    store = store_mod.ArchiveStore.from_conf(conf)
    policy = store.index.get_archive_policy('medium')
    ids = [str(uuid.uuid4()) for _ in range(METRICS)]
    store.index.create_metrics([indexer_mod.Metric(m, 'medium', 'test', None, None, '')
                                for m in ids])
    logs = [open(tmp_path / ('processor-%d.log' % i), 'w') for i in range(2)]
    processors = [start_processor(config, log) for log in logs]
    expected = {m: ([], []) for m in ids}
    try:
        for call in range(CALLS):
            write = {}
            for i, metric_id in enumerate(ids):
                stamps = T0 + (call * PER_CALL + numpy.arange(PER_CALL)) * 10 * 10**9
                values = (stamps // 10**9 % 1000) * (i + 1) / 7.0
                write[metric_id] = (stamps, values)
                expected[metric_id][0].append(stamps)
                expected[metric_id][1].append(values)
            store.add_measures(write)
            if call == CALLS // 3:
                stop(processors[0], signal.SIGKILL)  # in the middle of whatever it does
            if call == 2 * CALLS // 3:
                processors[0] = start_processor(config, logs[0])
            time.sleep(0.01)
        deadline = time.monotonic() + 60
        while store.status()['summary']['measures'] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.status()['summary']['measures'] == 0
    finally:
        for process in processors:
            stop(process)
        for log in logs:
            log.close()
    assert all(p.returncode in (0, -signal.SIGTERM) for p in processors), [
        (tmp_path / ('processor-%d.log' % i)).read_text()[-2000:] for i in range(2)]
    stored = store._storage.get_many(ids)
    for metric_id in ids:
        stamps = numpy.concatenate(expected[metric_id][0])
        values = numpy.concatenate(expected[metric_id][1])
        want = state_mod.MetricState.new(policy).add_measures(policy, stamps, values).state
        series = stored[metric_id]
        assert series.rejected == 0
        for method in ('count', 'mean', 'max'):
            got = series.state.series(60, method)
            numpy.testing.assert_array_equal(got[0], want.series(60, method)[0])
            numpy.testing.assert_allclose(got[1], want.series(60, method)[1])
        assert series.state.series(60, 'count')[1].sum() == CALLS * PER_CALL
    store.close()
