"""A metric state to bytes and back: identical arrays, same answers afterwards, refused
corruption."""

import struct
import zlib

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import serialization
from telewatch.archive import state as state_mod
from tests.unit.archive.reference import assert_states_equal

S = 10**9
T0 = 1_704_067_200 * S


def make_state(rng, batches=5):
    policy = policy_mod.ArchivePolicy(
        's', 1, ['mean', 'std', 'p95', 'rate:mean', 'last'],
        [{'granularity': 10, 'points': 50}, {'granularity': 60, 'points': 30}])
    state = state_mod.MetricState.new(policy)
    for i in range(batches):
        stamps = T0 + numpy.sort(rng.integers(0, 600, 80)) * S + i * 300 * S
        state = state.add_measures(policy, stamps, rng.normal(0, 1, 80)).state
    return policy, state


@pytest.mark.parametrize('compress', [True, False])
def test_round_trip_is_identical_and_keeps_working(compress):
    rng = numpy.random.default_rng(7)
    policy, state = make_state(rng)
    data = serialization.dumps(state, compress=compress)
    restored = serialization.loads(data)
    assert_states_equal(state, restored)
    assert serialization.dumps(restored, compress=compress) == data
    more = (T0 + numpy.arange(1500, 1600, 7) * S, rng.normal(0, 1, 15))
    assert_states_equal(state.add_measures(policy, *more).state,
                        restored.add_measures(policy, *more).state)


def test_round_trip_of_an_empty_state():
    policy = policy_mod.builtin_policies()['high']
    empty = state_mod.MetricState.new(policy)
    restored = serialization.loads(serialization.dumps(empty))
    assert_states_equal(empty, restored)
    assert restored.granularities == policy.granularities


def test_compact():
    policy, state = make_state(numpy.random.default_rng(1))
    data = serialization.dumps(state)
    floats = (len(state.raw_values) + sum(t.values.size for t in state.tables)) * 8
    assert len(data) < floats + 600  # integers shrink to a few hundred bytes
    assert data[:4] == b'TWAS' and data[4] == serialization.VERSION


def corrupt(data, what):
    if what == 'magic':
        return b'XXXX' + data[4:]
    if what == 'version':
        return data[:4] + bytes([99]) + data[5:]
    if what == 'truncated':
        return data[:-3]
    if what == 'trailing':
        return data + b'\0'
    if what == 'header':
        return data[:7]
    if what == 'zlib':
        header = serialization._HEADER.size
        return data[:header] + b'\xff' * 8 + data[header + 8:]
    if what == 'lengths':  # a valid zlib section announcing 10**12 raw measures
        body = struct.pack('<HHIQ', 1, 1, 4, 10**12) + b'mean'
        packed = zlib.compress(body)
        return serialization._HEADER.pack(b'TWAS', 1, 1, 0, len(packed)) + packed
    raise AssertionError(what)


@pytest.mark.parametrize('what, reason', [
    ('magic', 'not a telewatch archive state'),
    ('version', 'unsupported state version 99'),
    ('truncated', 'truncated data'),
    ('trailing', 'trailing data'),
    ('header', 'truncated header'),
    ('zlib', None),
    ('lengths', 'truncated data'),
])
def test_corruption_is_refused(what, reason):
    _, state = make_state(numpy.random.default_rng(3), batches=1)
    with pytest.raises(errors.InvalidState) as caught:
        serialization.loads(corrupt(serialization.dumps(state), what))
    if reason:
        assert caught.value.reason == reason
    assert caught.value.to_dict()['cause'] == 'Invalid metric state'
