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
