"""Beyond one machine: two telewatch-archive-processor daemons with data directories of their
own (as on two hosts: no file, no lock in common) sharing the PostgreSQL index and storage.
They split the sacks between them, lose nothing, and when one is killed the other takes
over its sacks: every acknowledged measure is aggregated once."""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time
import uuid

import numpy
import psutil
import pytest

from telewatch import service
from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod
from tests.functional import services

BIN = pathlib.Path(sys.executable).parent
T0 = 1_700_000_000 * 10**9
METRICS = 24
PER_CALL = 3


@pytest.fixture
def hosts(tmp_path, postgresql_url):
    """Two configuration files, one per "host": own data directory, the same database."""
    database = services.scratch_database(postgresql_url, 'tw_hosts')
    url = database.__enter__()
    paths = []
    for host in ('host-a', 'host-b'):
        (tmp_path / host).mkdir()
        path = tmp_path / host / 'telewatch.conf'
        path.write_text('[DEFAULT]\ndata_dir = %s\n[archive]\nsacks = 8\nprocessing_delay = '
                        '0.05\nindex_url = %s\nstorage_url = %s\n' % (tmp_path / host, url, url))
        paths.append(path)
    yield paths
    database.__exit__(None, None, None)


def start_processor(config):
    log = open(config.parent / 'processor.log', 'w')
    process = subprocess.Popen([str(BIN / 'telewatch-archive-processor'), '--config-file',
                                str(config)], stdout=log, stderr=log, start_new_session=True)
    log.close()
    return process


def names(process):
    """The names its workers report under (``<host>-<pid>``, see ArchiveProcessor.name)."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return set()
    return {'%s-%d' % (socket.gethostname(), child.pid) for child in children}


def processed(store, process):
    """Measures the workers of ``process`` reported processed (None: no report yet)."""
    reports = store.health()['processors']
    found = [reports[name]['measures_processed'] for name in names(process) if name in reports]
    return sum(found) if found else None


class Writer:
    """Writes PER_CALL measures to every metric per call, each at a timestamp of its own."""

    def __init__(self, store, metric_ids):
        self.store, self.metric_ids, self.calls = store, metric_ids, 0

    def write(self):
        stamps = T0 + (self.calls * PER_CALL + numpy.arange(PER_CALL)) * 10 * 10**9
        self.store.add_measures({m: (stamps, numpy.full(PER_CALL, float(i)))
                                 for i, m in enumerate(self.metric_ids)})
        self.calls += 1
        time.sleep(0.02)

    @property
    def measures(self):
        return self.calls * PER_CALL * len(self.metric_ids)


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_processors_on_two_hosts_split_sacks_and_take_over(hosts):
    result = subprocess.run([str(BIN / 'telewatch-upgrade'), '--config-file', str(hosts[0])],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    store = store_mod.ArchiveStore.from_conf(
        service.prepare_service(['--config-file', str(hosts[0])]))
    ids = [str(uuid.uuid4()) for _ in range(METRICS)]
    store.index.create_metrics([indexer_mod.Metric(m, 'medium', 'test', None, None, '')
                                for m in ids])
    writer = Writer(store, ids)
    a, b = [start_processor(config) for config in hosts]
    try:
        assert wait_for(lambda: processed(store, a) is not None and
                        processed(store, b) is not None), 'no report from both processors'
        # Both work while both run: each claims the sacks the other does not hold.
        for _ in range(400):
            writer.write()
            if processed(store, a) and processed(store, b):
                break
        assert processed(store, a) > 0 and processed(store, b) > 0, store.health()
        for call in range(40):
            writer.write()
            if call == 10:  # the whole of host b dies, in the middle of whatever it does
                os.killpg(b.pid, signal.SIGKILL)
                b.wait(30)
                taken_over_from = processed(store, a)
                written_at_kill = writer.measures
        assert wait_for(lambda: store.status()['summary']['measures'] == 0), store.status()
        # What b left (its claim in hand rolled back with its connection) a did.
        assert processed(store, a) - taken_over_from >= writer.measures - written_at_kill
    finally:
        for process in (a, b):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(30)
    assert a.returncode == 0, (hosts[0].parent / 'processor.log').read_text()[-2000:]
    metrics = store.index.get_metrics(ids)
    for metric_id in ids:
        counts = store.series(metrics[metric_id], 60, 'count')[0][2]
        assert counts.sum() == writer.calls * PER_CALL, metric_id
    store.close()
