"""The archive door's "metrics aggregated" stream and batched read, as their readers (the
alarm evaluators) use them."""

import numpy
import pytest

from telewatch import service
from telewatch.archive import errors
from telewatch.archive import store as store_mod
from tests.unit.archive.test_store import T0
from tests.unit.archive.test_store import make_metric

SECOND = numpy.timedelta64(1, 's')


@pytest.fixture
def store(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('sacks', 4, group='archive')
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    yield store
    store.close()


def add(store, metric_id, *values):
    stamps = numpy.array([T0 + n * 60 * SECOND for n in range(len(values))])
    store.add_measures({metric_id: (stamps, numpy.array(values, float))})


def test_every_process_call_tells_what_it_aggregated(store):
    first, second = make_metric(store), make_metric(store)
    cursor, ids = store.aggregated_since()
    assert ids == []
    add(store, first, 1.0)
    add(store, second, 2.0)
    report = store.process()
    assert sorted(report.aggregated) == sorted([first, second])
    cursor, ids = store.aggregated_since(cursor)
    assert sorted(ids) == sorted([first, second])
    add(store, second, 3.0)
    store.refresh([second])  # a read with refresh processes too
    assert store.aggregated_since(cursor)[1] == [second]


def test_a_round_with_nothing_aggregated_tells_nothing(store):
    cursor, _ = store.aggregated_since()
    store.process()
    assert store.aggregated_since(cursor)[1] == []


def test_an_index_that_cannot_be_reached_loses_no_measures(store, monkeypatch, caplog):
    metric = make_metric(store)
    add(store, metric, 1.0)

    def unreachable(metric_ids, now=None):
        raise errors.StorageUnavailable('archive index: gone')
    monkeypatch.setattr(store._aggregated, 'record', unreachable)
    assert store.process().aggregated == [metric]
    assert 'Could not tell that 1 metrics were aggregated' in caplog.text
    assert len(store.series(store.index.get_metrics([metric])[metric])[0][1]) == 1


def test_many_series_reads_each_key_or_says_why_not(store):
    metrics = store.index.get_metrics([make_metric(store), make_metric(store)])
    first, second = metrics.values()
    add(store, first.id, 1.0, 2.0, 3.0)
    store.process()
    found = store.many_series({
        'all': (first, 60, 'mean', None),
        'recent': (first, 60, 'max', T0 + 60 * SECOND),
        'empty': (second, 60, 'mean', None),
        'no-such-granularity': (first, 7, 'mean', None),
        'no-such-method': (second, 60, 'rate:mean', None),
    })
    assert list(found['all'][1]) == [1.0, 2.0, 3.0]
    assert list(found['recent'][0]) == [T0 + 60 * SECOND, T0 + 120 * SECOND]
    assert len(found['empty'][0]) == 0
    assert isinstance(found['no-such-granularity'], errors.NoSuchAggregation)
    assert isinstance(found['no-such-method'], errors.NoSuchAggregation)
