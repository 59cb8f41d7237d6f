"""The "metrics aggregated" stream on a real PostgreSQL: the tests/unit suite, a transaction
that commits after a later one loses nothing, and processors on a PostgreSQL archive tell
readers in other processes what they aggregated."""

import threading
import time

import numpy
import pytest

from telewatch.archive import store as store_mod
from telewatch.archive.index import aggregated
from telewatch.archive.index import indexer as indexer_mod
from tests.functional import services
from tests.unit.archive.index.test_aggregated import *  # noqa: F401,F403 (the shared tests)
from tests.unit.archive.index.test_aggregated import T0
from tests.unit.archive.index.test_aggregated import stream_of


@pytest.fixture
def indexer(postgresql_indexer):
    return postgresql_indexer


def test_a_row_committed_after_a_later_one_is_not_skipped(indexer):
    stream = stream_of(indexer)
    cursor, _ = stream.since()
    slow = indexer.engine.connect()
    transaction = slow.begin()
    aggregated.insert(slow, ['slow'], T0)  # not committed yet
    fast = threading.Thread(target=stream.record, args=(['fast'], T0))
    fast.start()
    time.sleep(0.5)
    # The later writer waits for the earlier one: a reader never sees it first and moves
    # its cursor past the earlier row.
    assert fast.is_alive()
    assert stream.since(cursor) == (cursor, [])
    transaction.commit()
    slow.close()
    fast.join(10)
    assert stream.since(cursor)[1] == ['slow', 'fast']


def test_processors_tell_readers_elsewhere(postgresql_url):
    with services.scratch_database(postgresql_url, 'tw_aggregated') as url:
        writer = store_mod.ArchiveStore(indexer_mod.Indexer(url),
                                        store_mod.storage_from_url(url, 4))
        reader = store_mod.ArchiveStore(indexer_mod.Indexer(url),
                                        store_mod.storage_from_url(url, 4))
        try:
            writer.upgrade()
            metric = writer.new_metric('admin', 'cpu', archive_policy_name='medium')
            writer.create_metrics([metric])
            cursor, _ = reader.aggregated_since()
            writer.add_measures({metric.id: (numpy.array([T0], 'datetime64[ns]'),
                                             numpy.array([1.0]))})
            assert writer.process().aggregated == [metric.id]
            assert reader.aggregated_since(cursor)[1] == [metric.id]
            series = reader.many_series({'m': (metric, 60, 'mean', None)})['m']
            assert list(series[1]) == [1.0]
        finally:
            writer.close()
            reader.close()
