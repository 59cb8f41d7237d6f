"""``serialization.loads_series`` gives what ``MetricState.series`` gives, decoding only
that, and tells a damaged state."""

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import serialization
from telewatch.archive import state as state_mod

POLICY = policy_mod.ArchivePolicy('p', 0, ['mean', 'max', 'std', 'rate:mean'],
                                  [{'granularity': 60, 'points': 100},
                                   {'granularity': 300, 'points': 20}])
T0 = 1_700_000_000 * 10 ** 9


def state():
    rng = numpy.random.default_rng(3)
    stamps = T0 + numpy.sort(rng.choice(6000, 300, replace=False)) * 10 ** 9
    return state_mod.MetricState.new(POLICY).add_measures(
        POLICY, stamps, rng.normal(50, 10, 300)).state


@pytest.mark.parametrize('granularity', [60, 300])
@pytest.mark.parametrize('method', ['mean', 'max', 'std', 'rate:mean'])
@pytest.mark.parametrize('start', [None, T0 - 10 ** 12, T0, T0 + 3000 * 10 ** 9 + 7,
                                   T0 + 5700 * 10 ** 9, T0 + 5999 * 10 ** 9,
                                   T0 + 6000 * 10 ** 9, T0 + 10 ** 13])
def test_the_same_points_as_the_state_gives(granularity, method, start):
    full = state()
    stamps, values = serialization.loads_series(
        serialization.dumps(full), granularity * 10 ** 9, policy_mod.parse_method(method),
        start)
    expected = full.series(granularity, method, start)
    assert stamps.view('datetime64[ns]').tolist() == expected[0].tolist()
    numpy.testing.assert_array_equal(values, expected[1])


def test_no_such_granularity_or_method_is_none():
    data = serialization.dumps(state())
    assert serialization.loads_series(data, 7 * 10 ** 9,
                                      policy_mod.parse_method('mean')) is None
    assert serialization.loads_series(data, 60 * 10 ** 9,
                                      policy_mod.parse_method('min')) is None


def test_damaged_bytes_are_an_invalid_state():
    data = serialization.dumps(state())
    with pytest.raises(errors.InvalidState):
        serialization.loads_series(data[:-8], 300 * 10 ** 9, policy_mod.parse_method('mean'))
    with pytest.raises(errors.InvalidState):
        serialization.loads_series(b'nope' + data[4:], 60 * 10 ** 9,
                                   policy_mod.parse_method('mean'))


def test_every_cut_is_an_invalid_state_or_the_same_points():
    data = serialization.dumps(state())
    mean = policy_mod.parse_method('mean')
    expected = serialization.loads_series(data, 60 * 10 ** 9, mean, T0 + 5700 * 10 ** 9)
    for length in range(len(data)):
        try:
            got = serialization.loads_series(data[:length], 60 * 10 ** 9, mean,
                                             T0 + 5700 * 10 ** 9)
        except errors.InvalidState:
            continue
        assert got[0].tolist() == expected[0].tolist(), length


@pytest.mark.parametrize('offset', [0, 5])
def test_a_long_table_and_an_offset(offset):
    policy = policy_mod.ArchivePolicy('q', 0, ['mean'], [{'granularity': 1, 'points': 2000}])
    stamps = T0 + numpy.arange(1500) * 10 ** 9
    full = state_mod.MetricState.new(policy).add_measures(
        policy, stamps, numpy.arange(1500.0)).state
    data = b'x' * offset + serialization.dumps(full)
    for start in (T0 + 1490 * 10 ** 9, T0 + 1000 * 10 ** 9):
        got = serialization.loads_series(data, 10 ** 9, policy_mod.parse_method('mean'),
                                         start, offset)
        assert got[0].tolist() == full.series(1, 'mean', start)[0].view('int64').tolist()
