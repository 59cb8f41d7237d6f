"""A processor whose storage fails: the failing sacks are left as they are and tried again
with a growing back-off, the others go on, the state is reported for /v1/status, and
processing resumes by itself once the fault is gone."""

import errno
import time
import uuid

import numpy
import pytest

from telewatch import service
from telewatch.archive import errors
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.storage import file as file_storage
from tests.unit.archive.storage import faults

T0 = numpy.datetime64('2024-01-01T10:00:00', 'ns')
SACKS = 4


@pytest.fixture
def conf(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('sacks', SACKS, group='archive')
    conf.set_override('processing_delay', 0.01, group='archive')
    return conf


@pytest.fixture
def store(conf):
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    yield store
    store.close()


def metric_per_sack(store):
    """``{sack: metric id}``, one metric in each sack."""
    found = {}
    while len(found) < SACKS:
        metric_id = str(uuid.uuid4())
        found.setdefault(store._storage.sack_of(metric_id), metric_id)
    store.index.create_metrics([indexer_mod.Metric(m, 'medium', 'admin', None, 'cpu', 'ns')
                                for m in found.values()])
    return found


def write_each(store, metrics, second):
    store.add_measures({m: ([T0 + numpy.timedelta64(second, 's')], [1.0])
                        for m in metrics.values()})


@pytest.fixture
def broken_sack(monkeypatch):
    """Sack 1's series cannot be written (its commits meet a full disk) until cleared."""
    broken = {'sack': 1}
    commit = file_storage._FileClaim.commit

    def failing_commit(claim, series):
        if claim.sack_dir.endswith('/%d' % broken['sack']):
            raise OSError(errno.ENOSPC, 'No space left on device')
        return commit(claim, series)
    monkeypatch.setattr(file_storage._FileClaim, 'commit', failing_commit)
    return broken


def test_a_failing_sack_backs_off_while_the_others_go_on(conf, store, broken_sack):
    processor = processor_mod.ArchiveProcessor(conf, store)
    metrics = metric_per_sack(store)
    write_each(store, metrics, 0)
    report = processor.run_once()
    assert report.measures == SACKS - 1 and list(report.failed) == [1]
    status = processor.status()
    assert status['state'] == 'insufficient_storage' and status['failing_sacks'] == [1]
    assert 'No space left' in status['error']
    assert store.health()['state'] == 'insufficient_storage'
    assert processor.failing[1].retry_at > time.monotonic() - 1
    processor.failing[1].retry_at = time.monotonic() + 60  # however slow this machine
    write_each(store, metrics, 60)
    report = processor.run_once()  # sack 1 waits for its back-off; the others go on
    assert report.measures == SACKS - 1 and report.failed == {}
    broken_sack['sack'] = -1
    processor.failing[1].retry_at = 0  # its back-off is over
    assert processor.run_once().measures == 2
    assert processor.status()['state'] == 'ok' and processor.failing == {}
    assert store._storage.pending() == {}
    assert store.health()['state'] == 'ok'


def test_the_back_off_doubles_up_to_its_limit(conf, store, broken_sack):
    processor = processor_mod.ArchiveProcessor(conf, store)
    write_each(store, metric_per_sack(store), 0)
    waits = []
    for _ in range(12):
        before = time.monotonic()
        processor.run_once()
        failure = processor.failing[1]
        waits.append(failure.retry_at - before)
        failure.retry_at = 0
    expected = [min(0.01 * 2 ** n, processor_mod.MAX_BACKOFF) for n in range(1, 13)]
    assert all(want <= got < want + 0.5 for got, want in zip(waits, expected)), waits
    assert expected[-1] == processor_mod.MAX_BACKOFF


def test_a_full_disk_never_stops_the_processor_and_it_resumes(
        conf, store, tmp_path, monkeypatch):
    monkeypatch.setattr(processor_mod, 'MAX_BACKOFF', 0.2)  # its doubling: tested above
    disk = faults.FaultyDisk(monkeypatch, tmp_path)
    metrics = metric_per_sack(store)
    write_each(store, metrics, 0)
    disk.room = 0
    processor = processor_mod.ArchiveProcessor(conf, store)
    processor.start()
    thread = processor.threads()[0]
    try:
        deadline = time.monotonic() + 20
        while len(processor.failing) < SACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(processor.failing) == list(range(SACKS)) and thread.is_alive()
        assert store._storage.pending() == {m: 1 for m in metrics.values()}
        disk.room = None
        deadline = time.monotonic() + 20
        while processor.processed < SACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store._storage.pending() == {} and processor.processed == SACKS
    finally:
        processor.stop()
        thread.join()
    assert store._storage.processors() == {}  # a stopped processor's report is gone


def test_a_storage_that_cannot_be_listed_is_reported(conf, store, monkeypatch):
    processor = processor_mod.ArchiveProcessor(conf, store)

    def unlistable(self):
        raise OSError(errno.EIO, 'Input/output error')
    monkeypatch.setattr(file_storage.FileSeriesStorage, '_sacks_with_pending', unlistable)
    with pytest.raises(errors.StorageUnavailable):
        processor.run_once()
    assert processor.status()['state'] == 'error'
    assert 'Input/output error' in processor.status()['error']
