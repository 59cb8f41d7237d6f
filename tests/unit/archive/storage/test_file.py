"""The file series storage under concurrent processors (the all-in-one's processor thread
and an API read with ``refresh``)."""

import os
import uuid

import numpy
import pytest

from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.storage import file as file_storage
from telewatch import service
from tests.unit.archive import reading

T0 = numpy.datetime64('2024-01-01T10:00:00', 'ns')


@pytest.fixture
def store(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('sacks', 4, group='archive')
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    yield store
    store.close()


def _metric_with_a_measure(store):
    metric = indexer_mod.Metric(str(uuid.uuid4()), 'medium', 'admin', None, 'cpu', 'ns')
    store.index.create_metrics([metric])
    store.add_measures({metric.id: ([T0], [1.0])})
    return metric.id


def test_a_log_claimed_while_the_processor_lists_the_sacks_is_not_an_error(
        store, monkeypatch):
    # The interleaving seen once in ~60 starts of the all-in-one: the processor lists a
    # sack's files, an API read with refresh claims the sack (its log becomes a round file)
    # and processes it, then the processor looks at the log it listed.
    metric_id = _metric_with_a_measure(store)
    sack_dir = store._storage._sack_dir(store._storage.sack_of(metric_id))
    real_scandir = os.scandir
    refreshed = []

    class ListedThenRefreshed:
        def __init__(self, path):
            self._listing = real_scandir(path)
            self._entries = list(self._listing)
            if path == sack_dir and not refreshed:
                refreshed.append(store.refresh([metric_id]))

        def __enter__(self):
            return iter(self._entries)

        def __exit__(self, *exc_info):
            self._listing.close()

    monkeypatch.setattr(file_storage.os, 'scandir', ListedThenRefreshed)
    report = store.process()
    assert refreshed, 'the interleaving did not happen'
    assert report.measures == 0  # the refresh aggregated it
    assert reading.measures(store, metric_id)
    assert store._storage.pending() == {}


@pytest.fixture(params=['exchange', 'renames'])
def swap(request, monkeypatch):
    """Both ways series take turns: renameat2's exchange, and three renames where the
    filesystem or the C library has none."""
    if request.param == 'renames':
        monkeypatch.setattr(file_storage, '_RENAMEAT2', None)
    return request.param


def _inodes(path):
    return {os.stat(name).st_ino for name in (path, path + '.spare') if os.path.exists(name)}


def test_a_metric_s_two_files_take_turns_and_none_is_freed(store, swap):
    metric_id = _metric_with_a_measure(store)
    store.process()
    path = store._storage._series_path(metric_id)
    seen = []
    for minute in range(1, 5):
        store.add_measures({metric_id: ([T0 + numpy.timedelta64(minute, 'm')], [1.0])})
        store.process()
        seen.append(_inodes(path))
        assert reading.measures(store, metric_id)[-1][2] == 1.0
    assert len(seen[0]) == 2 and all(inodes == seen[0] for inodes in seen)
    assert store._storage.get(metric_id).state.series(60, 'count')[1].tolist() == [1.0] * 5
    assert not os.path.exists(path + '.prev')
    store.delete_metric(metric_id)
    assert not [n for n in os.listdir(os.path.dirname(path)) if n.startswith(metric_id)]


def test_a_swap_cut_short_by_a_kill_is_finished_by_the_next_one(store, monkeypatch):
    monkeypatch.setattr(file_storage, '_RENAMEAT2', None)
    metric_id = _metric_with_a_measure(store)
    store.process()
    store.add_measures({metric_id: ([T0 + numpy.timedelta64(1, 'm')], [2.0])})
    store.process()
    path = store._storage._series_path(metric_id)
    os.link(path, path + '.prev')  # what a processor killed after its first step leaves
    store.add_measures({metric_id: ([T0 + numpy.timedelta64(2, 'm')], [3.0])})
    store.process()
    assert store._storage.get(metric_id).state.series(60, 'mean')[1].tolist() == [1, 2, 3]
    assert not os.path.exists(path + '.prev') and len(_inodes(path)) == 2


def test_a_series_written_while_it_is_read_is_read_again(store, monkeypatch):
    metric_id = _metric_with_a_measure(store)
    store.process()
    path = store._storage._series_path(metric_id)
    os.utime(path, ns=(10**18, 10**18))
    real_read = os.read
    reads = []

    def read_while_recycled(fd, size):
        reads.append(fd)
        if len(reads) == 1:  # the file turned spare and is written meanwhile
            os.utime(path, ns=(2 * 10**18, 2 * 10**18))
        return real_read(fd, size)
    monkeypatch.setattr(file_storage.os, 'read', read_while_recycled)
    assert store._storage.get(metric_id).state.series(60, 'count')[1].tolist() == [1.0]
    assert len(reads) == 2
