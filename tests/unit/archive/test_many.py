"""add_measures_many: many metrics of one policy updated together give, bit for bit, what
each metric's own ``MetricState.add_measures`` gives: on the golden cases
(tests/cases/archive/*.json, run side by side with other metrics) and on random histories
(every method, late, repeated and unordered measures, metrics with nothing new)."""

import json
import pathlib

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import many
from telewatch.archive import policy as policy_mod
from telewatch.archive import state as state_mod
from tests.unit.archive import reference
from tests.unit.archive.test_aggregation import assert_series
from tests.unit.archive.test_aggregation import measures

CASES = pathlib.Path(__file__).resolve().parents[2] / 'cases' / 'archive'
S = 10**9
T0 = 1_704_067_200 * S


def one_by_one(policy, states, batches):
    return [s.add_measures(policy, *b) for s, b in zip(states, batches)]


def assert_same_results(got, want):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert (g.accepted, g.superseded) == (w.accepted, w.superseded)
        numpy.testing.assert_array_equal(g.rejected_timestamps, w.rejected_timestamps)
        numpy.testing.assert_array_equal(g.rejected_values, w.rejected_values)
        assert g.rejected_timestamps.dtype == w.rejected_timestamps.dtype
        reference.assert_states_equal(g.state, w.state)


def as_ns(batch):
    stamps, values = measures(batch) if batch else (numpy.array([], 'datetime64[ns]'), [])
    return stamps.view(numpy.int64), numpy.asarray(values, dtype=float)


@pytest.mark.parametrize('path', sorted(CASES.glob('*.json')), ids=lambda p: p.stem)
def test_golden_case_side_by_side_with_other_metrics(path):
    case = json.loads(path.read_text())
    policy = policy_mod.ArchivePolicy(path.stem, **case['policy'])
    rng = numpy.random.default_rng(7)
    # The case's metric between two others that get random measures of the same days.
    states = [state_mod.MetricState.new(policy)] * 3
    for number, batch in enumerate(case['batches']):
        stamps, values = as_ns(batch['measures'])
        noise = [(numpy.sort(rng.choice(stamps, len(stamps))) if len(stamps) else stamps,
                  rng.normal(10, 3, len(stamps))) for _ in range(2)]
        batches = [noise[0], (stamps, values), noise[1]]
        results = many.add_measures_many(policy, states, batches)
        assert_same_results(results, one_by_one(policy, states, batches))
        result = results[1]
        assert (result.accepted, result.superseded, result.rejected) == (
            batch['accepted'], batch['superseded'], len(batch['rejected'])), number
        states = [r.state for r in results]
        if 'expected' in batch:
            assert_series(states[1], batch['expected'])
    assert_series(states[1], case['expected'])


def random_batch(rng, last_s, size):
    """Measures around ``last_s`` (seconds): some late, some repeated, not in order."""
    seconds = last_s + rng.integers(-2000, 400, size)
    if size > 2:
        seconds[-1] = seconds[0]  # the same timestamp twice in a batch
    return T0 + seconds * S, numpy.round(rng.normal(50, 20, size), 1)


@pytest.mark.parametrize('seed', range(6))
def test_random_histories_equal_one_metric_at_a_time(seed):
    rng = numpy.random.default_rng(seed)
    methods = reference.RICH_METHODS if seed % 2 else ['mean', 'count', 'last']
    policy = policy_mod.ArchivePolicy('p', int(seed % 3 == 0), methods, [
        {'granularity': 60, 'points': 30}, {'granularity': 300, 'points': 12},
        {'granularity': 3600, 'points': None if seed % 3 == 1 else 5}])
    metrics = 25
    states = [state_mod.MetricState.new(policy)] * metrics
    clock = numpy.zeros(metrics, dtype=numpy.int64) + 5000
    for _ in range(8):
        batches = []
        for i in range(metrics):
            size = int(rng.choice([0, 1, 1, 1, 3, 12]))
            batches.append(random_batch(rng, int(clock[i]), size))
            clock[i] += int(rng.integers(0, 900))
        want = one_by_one(policy, states, batches)
        got = many.add_measures_many(policy, states, batches)
        assert_same_results(got, want)
        states = [r.state for r in got]


def test_a_metric_with_nothing_accepted_keeps_its_state():
    policy = policy_mod.ArchivePolicy('p', 0, ['mean'], [{'granularity': 60, 'points': 5}])
    state = state_mod.MetricState.new(policy).add_measures(
        policy, numpy.array([T0 + 7200 * S]), numpy.array([1.0])).state
    results = many.add_measures_many(policy, [state, state], [
        (numpy.array([T0]), numpy.array([2.0])),
        (numpy.empty(0, numpy.int64), numpy.empty(0))])
    assert [r.state is state for r in results] == [True, True]
    assert [(r.accepted, r.rejected) for r in results] == [(0, 1), (0, 0)]


def test_bad_measures_are_refused_as_one_metric_alone_would_be():
    policy = policy_mod.ArchivePolicy('p', 0, ['mean'], [{'granularity': 60, 'points': 5}])
    empty = state_mod.MetricState.new(policy)
    with pytest.raises(errors.InvalidMeasures) as caught:
        many.add_measures_many(policy, [empty, empty], [
            (numpy.array([T0]), numpy.array([1.0])),
            (numpy.array([T0, T0 + S]), numpy.array([1.0, numpy.nan]))])
    assert caught.value.index == 1
    other = policy_mod.ArchivePolicy('q', 0, ['max'], [{'granularity': 60, 'points': 5}])
    with pytest.raises(errors.PolicyMismatch):
        many.add_measures_many(other, [empty], [(numpy.array([T0]), numpy.array([1.0]))])
