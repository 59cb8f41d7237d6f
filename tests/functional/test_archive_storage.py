"""One suite for every series storage driver: ``file`` and ``postgresql`` (real PostgreSQL).

The expected aggregates are those of the pure core fed every measure at once
(``MetricState.add_measures``), which tests/unit/archive checks against hand-computed cases.
"""

import multiprocessing
import os
import signal
import uuid

import numpy
import pytest
import sqlalchemy as sa

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import serialization
from telewatch.archive import state as state_mod
from telewatch.archive.storage import file as file_storage
from telewatch.archive.storage import postgresql as pg_storage
from tests.functional import services

POLICY = policy_mod.ArchivePolicy(
    'test', 0, ['mean', 'min', 'max', 'sum', 'count', 'last'],
    [{'granularity': 60, 'points': 1440}, {'granularity': 3600, 'points': 48}])
T0 = 1_700_000_000 * 10**9
SACKS = 4


@pytest.fixture(scope='module')
def postgresql_database(postgresql_url):
    with services.scratch_database(postgresql_url, 'tw_storage') as url:
        yield url


def make_storage(kind, where):
    if kind == 'file':
        storage = file_storage.FileSeriesStorage(where, sacks=SACKS)
    else:
        storage = pg_storage.PostgreSQLSeriesStorage(where, sacks=SACKS)
    storage.upgrade()
    return storage


@pytest.fixture(params=['file', 'postgresql'])
def storage_place(request, tmp_path):
    if request.param == 'file':
        return 'file', str(tmp_path / 'series')
    url = request.getfixturevalue('postgresql_database')
    storage = make_storage('postgresql', url)
    with storage.engine.begin() as conn:  # each test starts empty
        conn.execute(pg_storage.incoming_table.delete())
        conn.execute(pg_storage.series_table.delete())
        conn.execute(pg_storage.corrupt_table.delete())
    storage.close()
    return 'postgresql', url


@pytest.fixture
def storage(storage_place):
    storage = make_storage(*storage_place)
    yield storage
    storage.close()


def policies(metric_ids):
    return lambda wanted: {m: POLICY for m in wanted if m in metric_ids}


def batches(metric_ids, calls, per_call, step_s=7):
    """``calls`` writes of ``per_call`` measures per metric, each metric its own values."""
    out = []
    for call in range(calls):
        write = {}
        for i, metric_id in enumerate(metric_ids):
            index = call * per_call + numpy.arange(per_call)
            write[metric_id] = (T0 + index * step_s * 10**9, (index * (i + 1)) % 97 * 1.5)
        out.append(write)
    return out


def expected_state(writes, metric_id):
    stamps = numpy.concatenate([w[metric_id][0] for w in writes])
    values = numpy.concatenate([w[metric_id][1] for w in writes])
    return state_mod.MetricState.new(POLICY).add_measures(POLICY, stamps, values).state


def assert_same_series(stored, expected):
    for granularity in (60, 3600):
        for method in POLICY.methods:
            got = stored.state.series(granularity, method)
            want = expected.series(granularity, method)
            numpy.testing.assert_array_equal(got[0], want[0])
            numpy.testing.assert_allclose(got[1], want[1], rtol=1e-12)


def aggregates_of(stored):
    return serialization.dumps(stored.state), stored.rejected


def test_measures_are_pending_until_processed_then_aggregated(storage):
    ids = [str(uuid.uuid4()) for _ in range(10)]
    writes = batches(ids, calls=3, per_call=40)
    for write in writes:
        assert storage.add_measures(write) == 400
    assert storage.pending() == {m: 120 for m in ids}
    assert storage.get(ids[0]) is None
    report = storage.process(policies(set(ids)))
    assert (report.measures, report.metrics, report.rejected) == (1200, 10, {})
    assert storage.pending() == {}
    for metric_id in ids:
        assert_same_series(storage.get(metric_id), expected_state(writes, metric_id))
    assert storage.process(policies(set(ids))).measures == 0


def test_processing_batch_by_batch_equals_all_at_once(storage):
    ids = [str(uuid.uuid4()) for _ in range(3)]
    writes = batches(ids, calls=5, per_call=30)
    for write in writes:
        storage.add_measures(write)
        storage.process(policies(set(ids)))
    for metric_id in ids:
        assert_same_series(storage.get(metric_id), expected_state(writes, metric_id))


def test_writing_the_same_measures_twice_changes_nothing(storage):
    ids = [str(uuid.uuid4()) for _ in range(2)]
    writes = batches(ids, calls=2, per_call=25)
    for write in writes:
        storage.add_measures(write)
    storage.process(policies(set(ids)))
    before = {m: aggregates_of(storage.get(m)) for m in ids}
    storage.add_measures(writes[1])
    report = storage.process(policies(set(ids)))
    assert report.rejected == {}
    assert {m: aggregates_of(storage.get(m)) for m in ids} == before


def test_measures_older_than_the_back_window_are_rejected_and_counted(storage):
    metric_id = str(uuid.uuid4())
    storage.add_measures({metric_id: (numpy.array([T0 + 10 * 3600 * 10**9]), [1.0])})
    storage.process(policies({metric_id}))
    late = numpy.array([T0, T0 + 1, T0 + 11 * 3600 * 10**9])
    storage.add_measures({metric_id: (late, [5.0, 6.0, 7.0])})
    report = storage.process(policies({metric_id}))
    assert report.rejected == {metric_id: 2}
    stored = storage.get(metric_id)
    assert stored.rejected == 2
    assert stored.state.series(3600, 'count')[1].tolist() == [1.0, 1.0]


def test_measures_of_deleted_metrics_are_dropped_and_counted(storage):
    kept, deleted = str(uuid.uuid4()), str(uuid.uuid4())
    storage.add_measures({kept: ([T0], [1.0]), deleted: ([T0, T0 + 1], [2.0, 3.0])})
    report = storage.process(policies({kept}))
    assert (report.measures, report.orphaned) == (1, 2)
    assert storage.get(deleted) is None
    storage.delete(kept)
    assert storage.get(kept) is None


def test_a_sack_held_by_another_processor_is_skipped(storage):
    metric_id = str(uuid.uuid4())
    storage.add_measures({metric_id: ([T0], [1.0])})
    sack = storage.sack_of(metric_id)
    with storage._claim(sack, None) as claim:
        assert claim is not None
        other = make_storage(*_place_of(storage))
        try:
            report = other.process(policies({metric_id}))
            assert report.busy == [sack] and report.measures == 0
        finally:
            other.close()
    assert storage.process(policies({metric_id})).measures == 1


def _damage(storage, metric_id):
    if isinstance(storage, file_storage.FileSeriesStorage):
        with open(storage._series_path(metric_id), 'r+b') as f:
            f.truncate(60)
        return
    table = pg_storage.series_table
    with storage.engine.begin() as conn:
        conn.execute(table.update().where(table.c.metric_id == metric_id).values(
            data=sa.func.substring(table.c.data, 1, 60)))


def test_a_damaged_series_is_moved_aside_and_the_metric_starts_afresh(storage):
    metric_id = str(uuid.uuid4())
    writes = batches([metric_id], calls=2, per_call=30)
    storage.add_measures(writes[0])
    storage.process(policies({metric_id}))
    _damage(storage, metric_id)
    with pytest.raises(errors.CorruptSeries):
        storage.get(metric_id)
    storage.add_measures(writes[1])
    report = storage.process(policies({metric_id}))
    assert [c.metric_id for c in report.quarantined] == [metric_id]
    assert report.failed == {} and report.measures == 30
    assert_same_series(storage.get(metric_id), expected_state(writes[1:], metric_id))
    assert storage.health()['corrupt_series'] == 1


def _place_of(storage):
    if isinstance(storage, file_storage.FileSeriesStorage):
        return 'file', storage.root
    return 'postgresql', storage.engine.url.render_as_string(hide_password=False)


def _process_then_die(place, metric_ids, die_after):
    """Process in a child that SIGKILLs itself while committing, after ``die_after`` series
    were replaced (file) or before the transaction commits (postgresql)."""
    storage = make_storage(*place)
    if place[0] == 'file':
        real_replace = file_storage._replace_series
        replaced = []

        def replace_then_die(tmp, path):
            if len(replaced) == die_after:
                os.kill(os.getpid(), signal.SIGKILL)
            replaced.append(path)
            real_replace(tmp, path)
        file_storage._replace_series = replace_then_die
    else:
        real_commit = pg_storage._PostgreSQLClaim.commit

        def commit_then_die(claim, series):
            real_commit(claim, series)
            os.kill(os.getpid(), signal.SIGKILL)
        pg_storage._PostgreSQLClaim.commit = commit_then_die
    storage.process(policies(set(metric_ids)))


def test_a_processor_killed_mid_batch_loses_and_repeats_nothing(storage):
    place = _place_of(storage)
    ids = [str(uuid.uuid4()) for _ in range(40)]
    writes = batches(ids, calls=2, per_call=50)
    storage.add_measures(writes[0])
    storage.process(policies(set(ids)))
    storage.add_measures(writes[1])
    child = multiprocessing.get_context('fork').Process(
        target=_process_then_die, args=(place, ids, 5))
    child.start()
    child.join(60)
    assert child.exitcode == -signal.SIGKILL
    storage.add_measures(batches(ids, calls=3, per_call=50)[2])
    writes.append(batches(ids, calls=3, per_call=50)[2])
    report = storage.process(policies(set(ids)))
    assert report.rejected == {}
    # The file driver's dead claim had stored 5 series: their measures of that claim are
    # skipped, not applied twice; a transaction that died committed nothing.
    assert report.measures == 40 * 50 + (35 if place[0] == 'file' else 40) * 50
    for metric_id in ids:
        stored = storage.get(metric_id)
        assert stored.state.series(60, 'count')[1].sum() == 150
        assert_same_series(stored, expected_state(writes, metric_id))
