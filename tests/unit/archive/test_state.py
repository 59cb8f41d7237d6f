"""MetricState: the back window (rejections counted, never silent), last write wins, retention,
bounded raw buffer, and merging batch after batch equal to aggregating everything at once."""

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import state as state_mod
from tests.unit.archive import reference
from tests.unit.archive.reference import assert_states_equal

S = 10**9
T0 = 1_704_067_200 * S  # 2024-01-01T00:00:00Z


def make_policy(back_window=0, methods=('mean', 'count'), definition=None):
    return policy_mod.ArchivePolicy('p', back_window, list(methods),
                                    definition or [{'granularity': 60, 'points': 100}])


def at(*seconds):
    return numpy.array(seconds, dtype=numpy.int64) * S + T0


def hhmm(hours, minutes):
    return (hours * 3600 + minutes * 60)


def test_gnocchi_documented_back_window_example():
    # Largest granularity 1 h, last point 14:34: accepted back to 14:00 with back_window 0,
    # back to 12:00 with back_window 2.
    for back_window, oldest in ((0, hhmm(14, 0)), (2, hhmm(12, 0))):
        policy = make_policy(back_window, definition=[{'granularity': 3600, 'points': 10}])
        state = state_mod.MetricState.new(policy).add_measures(
            policy, at(hhmm(14, 34)), [1.0]).state
        assert state.cutoff_ns(policy) == at(oldest)[0]
        result = state.add_measures(policy, at(oldest - 1, oldest), [2.0, 3.0])
        assert (result.accepted, result.rejected) == (1, 1)
        assert result.rejected_timestamps.view(numpy.int64).tolist() == [at(oldest - 1)[0]]


def test_rate_method_widens_the_window_by_one_block():
    plain = make_policy(0)
    rate = make_policy(0, methods=('mean', 'rate:mean'))
    assert (plain.effective_back_window, rate.effective_back_window) == (0, 1)
    for policy, accepted in ((plain, 0), (rate, 1)):
        state = state_mod.MetricState.new(policy).add_measures(policy, at(130), [1.0]).state
        assert state.add_measures(policy, at(70), [2.0]).accepted == accepted


def test_first_batch_is_never_rejected_and_later_ones_are_counted():
    policy = make_policy(0, definition=[{'granularity': 60, 'points': 1000}])
    # last 10_000 s: the oldest accepted timestamp is floor(10_000, 60) = 9_960 s
    first = state_mod.MetricState.new(policy).add_measures(policy, at(0, 10_000), [1.0, 2.0])
    assert (first.accepted, first.rejected) == (2, 0)
    late = first.state.add_measures(policy, at(5, 9_950, 10_020, 1), [3.0, 4.0, 5.0, 6.0])
    assert (late.accepted, late.rejected) == (1, 3)
    assert late.rejected_values.tolist() == [3.0, 4.0, 6.0]  # input order
    assert late.rejected_timestamps.dtype == numpy.dtype('datetime64[ns]')
    # rejected measures changed nothing: the state only gained 10_020
    assert late.state.series(60, 'count')[1].sum() == 3


def test_state_is_immutable():
    policy = make_policy(0)
    empty = state_mod.MetricState.new(policy)
    after = empty.add_measures(policy, at(1, 2), [1.0, 2.0]).state
    assert len(empty.raw_timestamps) == 0 and len(empty.tables[0]) == 0
    again = after.add_measures(policy, at(3), [3.0]).state
    assert after.series(60, 'count')[1].tolist() == [2.0]
    assert again.series(60, 'count')[1].tolist() == [3.0]


def test_empty_batch_changes_nothing():
    policy = make_policy(0)
    state = state_mod.MetricState.new(policy).add_measures(policy, at(1), [1.0]).state
    result = state.add_measures(policy, numpy.array([], dtype='datetime64[ns]'), [])
    assert result.state is state and (result.accepted, result.rejected) == (0, 0)


def test_timestamps_may_be_datetime64_of_any_unit_or_int_ns():
    policy = make_policy(0)
    empty = state_mod.MetricState.new(policy)
    as_seconds = numpy.array(['2024-01-01T00:00:10'], dtype='datetime64[s]')
    for stamps in (as_seconds, at(10), [T0 + 10 * S]):
        state = empty.add_measures(policy, stamps, [4.0]).state
        assert state.raw_timestamps.view('datetime64[ns]')[-1] == numpy.datetime64(
            '2024-01-01T00:00:10', 'ns')


@pytest.mark.parametrize('stamps, values, reason, index', [
    (at(1, 2), [1.0, float('nan')], 'value is not a finite number', 1),
    (at(1, 2), [float('inf'), 1.0], 'value is not a finite number', 0),
    ([5, -1], [1.0, 1.0], 'timestamp is before the epoch', 1),
    (numpy.array(['NaT'], dtype='datetime64[ns]'), [1.0], 'timestamp is NaT', 0),
    (numpy.array([1.5]), [1.0], 'timestamps must be datetime64 or integer nanoseconds', None),
    (at(1, 2), [1.0], '2 timestamps but 1 values', None),
    (at(1, 2), ['a', 'b'], 'values must be numbers', None),
    (numpy.zeros((1, 1), dtype=numpy.int64), [[1.0]],
     'timestamps must be a one-dimensional array', None),
])
def test_invalid_measures_are_refused_with_the_first_bad_index(stamps, values, reason, index):
    policy = make_policy(0)
    with pytest.raises(errors.InvalidMeasures) as caught:
        state_mod.MetricState.new(policy).add_measures(policy, stamps, values)
    assert (caught.value.reason, caught.value.index) == (reason, index)
    assert caught.value.to_dict()['cause'] == 'Invalid measures'


def test_policy_mismatch_and_points_change():
    policy = make_policy(0, definition=[{'granularity': 60, 'points': 10}])
    state = state_mod.MetricState.new(policy).add_measures(
        policy, at(*range(0, 600, 60)), numpy.arange(10.0)).state
    assert len(state.series(60, 'mean')[0]) == 10
    with pytest.raises(errors.PolicyMismatch) as caught:
        state.add_measures(make_policy(0, methods=('mean',)), at(600), [1.0])
    assert caught.value.field == 'aggregation_methods'
    with pytest.raises(errors.PolicyMismatch):
        state.add_measures(make_policy(0, definition=[{'granularity': 30, 'points': 10}]),
                           at(600), [1.0])
    shorter = make_policy(0, definition=[{'granularity': 60, 'points': 3}])
    state = state.add_measures(shorter, at(600), [10.0]).state
    assert state.series(60, 'mean')[1].tolist() == [8.0, 9.0, 10.0]


def test_an_item_without_points_keeps_every_bucket():
    # 1-minute buckets kept 3 points, 2-minute ones kept forever (granularity alone).
    policy = make_policy(0, definition=[{'granularity': 60, 'points': 3}, {'granularity': 120}])
    state = state_mod.MetricState.new(policy)
    for minute in range(20):  # one batch a minute: truncation runs every time
        state = state.add_measures(policy, at(minute * 60), [float(minute)]).state
    stamps, values = state.series(60, 'mean')
    assert stamps.view(numpy.int64).tolist() == at(1020, 1080, 1140).tolist()
    stamps, values = state.series(120, 'mean')
    assert stamps.view(numpy.int64).tolist() == at(*range(0, 1200, 120)).tolist()
    assert values.tolist() == [m + 0.5 for m in range(0, 20, 2)]
    assert state.series(120, 'count')[1].tolist() == [2.0] * 10
    # Bounding it later (PATCH) applies at the next update, as a change of points does.
    bounded = make_policy(0, definition=[{'granularity': 60, 'points': 3},
                                         {'granularity': 120, 'points': 2}])
    state = state.add_measures(bounded, at(1200), [20.0]).state
    assert state.series(120, 'mean')[1].tolist() == [18.5, 20.0]


def test_series_start_is_floored_and_stop_exclusive():
    policy = make_policy(0)
    state = state_mod.MetricState.new(policy).add_measures(
        policy, at(0, 60, 120, 180), [1.0, 2.0, 3.0, 4.0]).state
    start = numpy.datetime64('2024-01-01T00:01:43')  # floored to 00:01:00 (gnocchi#1368)
    stop = numpy.datetime64('2024-01-01T00:03:00')
    stamps, values = state.series(60, 'mean', start=start, stop=stop)
    assert values.tolist() == [2.0, 3.0]
    assert state.series(60, 'mean', start=T0 + 61 * S)[1].tolist() == [2.0, 3.0, 4.0]
    with pytest.raises(errors.NoSuchAggregation) as caught:
        state.series(300, 'mean')
    assert caught.value.granularity == 300 * S and caught.value.method is None
    with pytest.raises(errors.NoSuchAggregation) as caught:
        state.series(60, 'max')
    assert caught.value.method == 'max'
    with pytest.raises(errors.UnknownAggregationMethod):
        state.series(60, 'average')


def test_raw_buffer_stays_bounded_to_the_window():
    # 7 s does not divide 300 s: the buffer reaches back to the 7 s bucket holding the
    # cutoff, plus one measure for the next rate.
    policy = make_policy(1, methods=('mean', 'rate:mean'), definition=[
        {'granularity': 7, 'points': 100}, {'granularity': 300, 'points': 100}])
    state = state_mod.MetricState.new(policy)
    for start in range(0, 36_000, 600):
        state = state.add_measures(policy, at(*range(start, start + 600, 5)),
                                   numpy.ones(120)).state
    last = int(state.raw_timestamps[-1])
    cutoff = last - last % (300 * S) - 2 * 300 * S  # back_window 1, + 1 for rate:
    keep_from = cutoff - cutoff % (7 * S)
    assert state.cutoff_ns(policy) == cutoff
    assert state.raw_timestamps[1] >= keep_from > state.raw_timestamps[0]
    assert len(state.raw_timestamps) < 200


def test_bucket_straddling_the_cutoff_keeps_all_its_measures():
    # 7 s buckets do not align with 300 s blocks: the 7 s bucket holding the cutoff starts
    # before it, and a late measure at the cutoff must see the measures before it.
    policy = make_policy(0, methods=('mean', 'count'), definition=[
        {'granularity': 7, 'points': 100}, {'granularity': 300, 'points': 100}])
    cutoff = T0 + 1200 * S
    bucket = cutoff - cutoff % (7 * S)
    assert cutoff - bucket == 6 * S
    stamps = numpy.array([bucket, bucket + S, cutoff + 100 * S])
    state = state_mod.MetricState.new(policy).add_measures(policy, stamps, [1.0, 2.0, 9.0]).state
    assert state.cutoff_ns(policy) == cutoff
    state = state.add_measures(policy, [cutoff], [6.0]).state
    stamps, means = state.series(7, 'mean')
    assert stamps[0].astype(numpy.int64) == bucket and means[0] == 3.0


# Merging batch after batch must equal aggregating all accepted measures at once, and
# both must equal the slow reference. The test models the acceptance rule itself.
PROPERTY_METHODS = reference.RICH_METHODS
PROPERTY_DEFINITION = [{'granularity': 7, 'points': 60}, {'granularity': 60, 'points': 20},
                       {'granularity': 300, 'points': 6}]
# The same with the middle item keeping every bucket (a granularity alone).
UNBOUNDED_DEFINITION = [{'granularity': 7, 'points': 60}, {'granularity': 60},
                        {'granularity': 300, 'points': 6}]


def random_batches(rng, count):
    now, batches = T0, []
    for _ in range(count):
        now += int(rng.integers(0, 400)) * S
        size = int(rng.integers(0, 30))
        stamps = now - rng.integers(0, 1200, size) * S
        if size > 3:
            stamps[rng.integers(0, size, 2)] = stamps[0]  # same-timestamp writes
        values = numpy.round(rng.normal(100, 30, size), 1)
        batches.append((stamps, values))
    return batches


def expected_acceptance(policy, batches):
    newest, accepted, rejected = None, [], []
    block = policy.max_granularity_ns
    for stamps, values in batches:
        cutoff = None if newest is None else \
            newest - newest % block - policy.effective_back_window * block
        ok = numpy.ones(len(stamps), bool) if cutoff is None else stamps >= cutoff
        accepted.append((stamps[ok], values[ok]))
        rejected.append(stamps[~ok])
        if ok.any():
            newest = max(newest or 0, int(stamps[ok].max()))
    return accepted, rejected


@pytest.mark.parametrize('definition', [PROPERTY_DEFINITION, UNBOUNDED_DEFINITION])
@pytest.mark.parametrize('back_window', [0, 1, 3])
@pytest.mark.parametrize('seed', range(4))
def test_incremental_equals_all_at_once(seed, back_window, definition):
    rng = numpy.random.default_rng(1000 * back_window + seed)
    policy = policy_mod.ArchivePolicy('p', back_window, PROPERTY_METHODS, definition)
    batches = random_batches(rng, 40)
    accepted, rejected = expected_acceptance(policy, batches)
    state = state_mod.MetricState.new(policy)
    for (stamps, values), late in zip(batches, rejected):
        result = state.add_measures(policy, stamps, values)
        assert result.rejected_timestamps.view(numpy.int64).tolist() == late.tolist()
        assert result.accepted + result.rejected == len(stamps)
        state = result.state
    assert sum(len(r) for r in rejected) > 0 or back_window == 3
    all_stamps = numpy.concatenate([s for s, _ in accepted])
    all_values = numpy.concatenate([v for _, v in accepted])
    at_once = state_mod.MetricState.new(policy).add_measures(policy, all_stamps, all_values)
    assert at_once.rejected == 0
    assert_states_equal(state, at_once.state)

    # ...and the slow reference over the deduplicated series (last write wins)
    last_write = {}
    for t, v in zip(all_stamps.tolist(), all_values.tolist()):
        last_write[t] = v
    ts = sorted(last_write)
    for table, item in zip(state.tables, policy.definition):
        reference.assert_table_matches(table, reference.reference_table(
            ts, [last_write[t] for t in ts], item.granularity_ns, policy.methods, item.points))
