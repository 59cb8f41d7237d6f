"""The aggregation core against hand-computed cases (tests/cases/archive/*.json), against a
per-bucket reference written the slow way, and the read helpers ``resample`` and ``align``."""

import json
import pathlib

import numpy
import pytest

from telewatch.archive import aggregation
from telewatch.archive import policy as policy_mod
from telewatch.archive import state as state_mod
from tests.unit.archive import reference

CASES = pathlib.Path(__file__).resolve().parents[2] / 'cases' / 'archive'
T0 = numpy.datetime64('2024-01-01T00:00:00', 'ns')
G60 = 60 * 10**9


def stamps(text_list):
    return numpy.array(text_list, dtype='datetime64[ns]')


def measures(rows):
    return stamps([r[0] for r in rows]), numpy.array([r[1] for r in rows], dtype=float)


def assert_series(state, expected):
    policy_keys = {str(g // 10**9) for g in state.granularities}
    assert set(expected) == policy_keys, 'a case must state every granularity'
    for granularity, by_method in expected.items():
        assert set(by_method) == set(state.methods), 'a case must state every method'
        for method, rows in by_method.items():
            got_ts, got_values = state.series(int(granularity), method)
            want_ts, want_values = measures(rows) if rows else (stamps([]), [])
            where = '%s s %s' % (granularity, method)
            numpy.testing.assert_array_equal(got_ts, want_ts, err_msg=where)
            numpy.testing.assert_allclose(got_values, want_values, rtol=1e-12, err_msg=where)


@pytest.mark.parametrize('path', sorted(CASES.glob('*.json')), ids=lambda p: p.stem)
def test_golden_case(path):
    case = json.loads(path.read_text())
    policy = policy_mod.ArchivePolicy(path.stem, **case['policy'])
    state = state_mod.MetricState.new(policy)
    for number, batch in enumerate(case['batches']):
        result = state.add_measures(policy, *measures(batch['measures']))
        where = 'batch %d' % number
        assert result.accepted == batch['accepted'], where
        assert result.superseded == batch['superseded'], where
        want_ts, want_values = measures(batch['rejected']) if batch['rejected'] else ([], [])
        numpy.testing.assert_array_equal(result.rejected_timestamps, stamps(want_ts), where)
        numpy.testing.assert_array_equal(result.rejected_values, want_values, where)
        assert result.rejected == len(batch['rejected'])
        state = result.state
        if 'expected' in batch:
            assert_series(state, batch['expected'])
    assert_series(state, case['expected'])


def test_cases_cover_every_method():
    covered = set()
    for path in CASES.glob('*.json'):
        case = json.loads(path.read_text())
        covered |= {policy_mod.parse_method(m).base
                    for m in policy_mod.parse_aggregation_methods(
                        case['policy']['aggregation_methods'])}
    assert covered == set(policy_mod.BASIC_METHODS) | {'pct'}


@pytest.mark.parametrize('seed', range(5))
def test_compute_table_matches_slow_reference(seed):
    rng = numpy.random.default_rng(seed)
    timestamps = numpy.unique(rng.integers(0, 3600, 400)) * 10**9 + 1_700_000_000 * 10**9
    values = numpy.round(rng.normal(50, 20, len(timestamps)), 2)
    specs = tuple(policy_mod.parse_method(m) for m in reference.RICH_METHODS)
    for granularity in (1, 7, 60, 300):
        g = granularity * 10**9
        table = aggregation.compute_table(timestamps, values, g, specs)
        expected = reference.reference_table(timestamps.tolist(), values.tolist(), g,
                                             [s.name for s in specs])
        reference.assert_table_matches(table, expected)


def test_percentile_is_numpy_linear_interpolation():
    values = numpy.array([15.0, 20.0, 35.0, 40.0, 50.0])
    buckets = aggregation.Buckets.of(numpy.arange(5, dtype=numpy.int64), G60)
    for q in (1, 5, 25, 30, 40, 50, 95, 99, 99.9):
        method = policy_mod.parse_method('p%g' % q)
        got = aggregation.reduce_buckets(values, buckets, method)
        assert got[0] == pytest.approx(numpy.percentile(values, q), rel=1e-12)
    # 40pct of five values sits at position 1.6: 20 + 0.6 * (35 - 20)
    got = aggregation.reduce_buckets(values, buckets, policy_mod.parse_method('40pct'))
    assert got[0] == pytest.approx(29.0)


def test_buckets_floor_from_the_epoch():
    ts = numpy.array([0, 59, 60, 119, 3600], dtype=numpy.int64) * 10**9 + 5
    buckets = aggregation.Buckets.of(ts, G60)
    assert (buckets.keys // 10**9).tolist() == [0, 60, 3600]
    assert buckets.counts.tolist() == [2, 2, 1]
    assert len(aggregation.Buckets.of(numpy.empty(0, dtype=numpy.int64), G60)) == 0


def test_resample_applies_the_method_to_the_aggregates():
    ts = T0 + numpy.array([0, 60, 120, 180, 300], dtype='timedelta64[s]')
    means = numpy.array([1.0, 3.0, 5.0, 6.0, 10.0])
    keys, values = aggregation.resample(ts, means, 240, 'mean')
    # 240 s buckets from the epoch: 2024-01-01T00:00 is a multiple of 240 s.
    assert keys.tolist() == stamps(['2024-01-01T00:00:00', '2024-01-01T00:04:00']).tolist()
    assert values.tolist() == [3.75, 10.0]
    _, counts = aggregation.resample(ts, means, 240, 'count')
    assert counts.tolist() == [4.0, 1.0]  # points of the finer series, as Gnocchi
    keys, stds = aggregation.resample(ts, means, 240, 'std')
    assert len(keys) == 1 and stds[0] == pytest.approx(numpy.std(means[:4], ddof=1))
    _, rates = aggregation.resample(ts, means, 240, 'rate:max')
    assert rates.tolist() == [6.0, 10.0]
    keys, _ = aggregation.resample(ts[:0], means[:0], 240, 'mean')
    assert len(keys) == 0


def test_resample_on_read_from_a_state():
    policy = policy_mod.ArchivePolicy('r', 0, ['sum', 'max'],
                                      [{'granularity': 60, 'points': 100}])
    ts = T0 + numpy.arange(0, 1800, 30).astype('timedelta64[s]')
    state = state_mod.MetricState.new(policy).add_measures(
        policy, ts, numpy.arange(60, dtype=float)).state
    keys, sums = aggregation.resample(*state.series(60, 'sum'), 600, 'sum')
    assert keys.tolist() == (T0 + numpy.array([0, 600, 1200], 'timedelta64[s]')).tolist()
    assert sums.tolist() == [sum(range(0, 20)), sum(range(20, 40)), sum(range(40, 60))]
