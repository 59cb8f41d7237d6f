"""The "metrics aggregated" stream on SQLite (tests/functional runs the same on PostgreSQL)."""

import datetime

from telewatch.archive.index import aggregated

T0 = datetime.datetime(2026, 12, 7, 10, 0, 0)


def stream_of(indexer):
    with indexer.engine.begin() as conn:  # PostgreSQL's database is shared by the tests
        conn.execute(aggregated.schema.metric_aggregated.delete())
    return aggregated.AggregatedStream(indexer.engine)


def test_a_reader_without_cursor_starts_from_now(indexer):
    stream = stream_of(indexer)
    stream.record(['a', 'b'], T0)
    cursor, ids = stream.since(None)
    assert ids == []
    stream.record(['c'], T0)
    assert stream.since(cursor)[1] == ['c']


def test_each_metric_once_in_the_order_first_seen(indexer):
    stream = stream_of(indexer)
    cursor, _ = stream.since()
    stream.record(['a', 'b'], T0)
    stream.record(['b', 'c'], T0)
    stream.record([], T0)  # a round that aggregated nothing writes nothing
    cursor, ids = stream.since(cursor)
    assert ids == ['a', 'b', 'c']
    assert stream.since(cursor) == (cursor, [])


def test_a_reader_far_behind_catches_up_in_several_reads(indexer):
    stream = stream_of(indexer)
    cursor, _ = stream.since()
    for n in range(5):
        stream.record(['m%d' % n], T0)
    seen = []
    for _ in range(3):
        cursor, ids = stream.since(cursor, rows=2)
        seen += ids
    assert seen == ['m0', 'm1', 'm2', 'm3', 'm4']


def test_old_rows_are_pruned(indexer):
    stream = stream_of(indexer)
    cursor, _ = stream.since()
    stream.record(['old'], T0)
    stream.record(['new'], T0 + datetime.timedelta(seconds=aggregated.KEEP_SECONDS))
    assert stream.prune(T0 + datetime.timedelta(seconds=aggregated.KEEP_SECONDS + 1)) == 1
    assert stream.since(cursor)[1] == ['new']


def test_writers_prune_now_and_then(indexer):
    stream = stream_of(indexer)
    cursor, _ = stream.since()
    late = T0 + datetime.timedelta(seconds=2 * aggregated.KEEP_SECONDS)
    stream.record(['old'], T0)  # a writer's first record prunes
    stream.record(['new'], late)  # within PRUNE_SECONDS of that: no pruning
    assert stream.since(cursor)[1] == ['old', 'new']
    stream._pruned_at -= aggregated.PRUNE_SECONDS
    stream.record(['newer'], late)
    assert stream.since(cursor)[1] == ['new', 'newer']
