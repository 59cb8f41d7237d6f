"""Measures read at once (``rest.parse_timestamps``, ``metric.parse_measures``) give what
reading them one by one gives, and fall back to it for anything else."""

import numpy
import pytest
import webob.exc

from telewatch.api import rest
from telewatch.api.controllers import metric as metric_api

NUMBERS = [0, 1, 1.5, 1_700_000_000, 1_700_000_000.123456789, 2.5e-9, 3.5e-9, -0.4e-9,
           9_223_372_036.854775, 9_223_372_036.854774, 2 ** 33 + 1, 9_223_372_036]
TEXTS = ['2024-01-01T10:00:00', '2024-01-01 10:00:00Z', '2024-02-29T23:59:59.5+00:00',
         '1970-01-01T00:00:00', '2262-04-11T23:47:16.854775', '2024-01-01T10:00:00.000001Z']
# Each list holds a value read one by one: either refused, or of another kind.
OTHERS = [[-1], [-1e-9], [9_223_372_036.854776], [10 ** 12], [1e300], [float('inf')],
          [float('nan')], [10 ** 400], [True], ['1700000000'], ['2024-01-01T10:00:00+01:00'],
          ['2023-02-29T00:00:00'], ['2024-01-01T24:00:00'], ['2024-13-01T00:00:00'],
          ['1969-12-31T23:59:59Z'], ['2262-04-11T23:47:16.854776'], [' 2024-01-01T10:00:00'],
          ['2024-01-01T10:00:00.1234567'], ['now'], ['-5 minutes'], ['2024-01-01'],
          ['٢٠٢٤-01-01T10:00:00'], [None], [[1]], [1, '2024-01-01T10:00:00']]


def one_by_one(values):
    return numpy.array([rest.parse_timestamp(v) for v in values], dtype='datetime64[ns]')


@pytest.mark.parametrize('values', [NUMBERS, TEXTS, [], NUMBERS[:1], TEXTS[:1]])
def test_timestamps_of_one_usual_kind_are_read_at_once_as_one_by_one(values):
    parsed = rest.parse_timestamps(values)
    assert parsed is not None and parsed.dtype == numpy.dtype('datetime64[ns]')
    assert parsed.tolist() == one_by_one(values).tolist()


@pytest.mark.parametrize('values', OTHERS, ids=repr)
def test_anything_else_is_left_to_reading_one_by_one(values):
    base = NUMBERS if isinstance(values[0], (int, float)) else TEXTS
    assert rest.parse_timestamps(base + values) is None


def test_measures_read_at_once_are_those_read_one_by_one():
    items = [{'timestamp': t, 'value': v} for t, v in zip(NUMBERS, range(len(NUMBERS)))]
    stamps, values = metric_api.parse_measures(items)
    assert (stamps.tolist(), values.tolist()) == tuple(
        a.tolist() for a in metric_api._parse_each(items, []))
    assert values.dtype == numpy.float64


@pytest.mark.parametrize('item, detail', [
    ({'timestamp': 1, 'value': 10 ** 400}, [1, 'value']),  # was a 500 (OverflowError)
    ({'timestamp': 1, 'value': 'x'}, [1, 'value']),
    ({'timestamp': -1, 'value': 1}, ['timestamp']),
    ({'timestamp': 1}, [1]),
    ([1, 2], []),  # Gnocchi's 'unexpected measures format', no detail
])
def test_a_bad_measure_is_named(item, detail):
    with pytest.raises(webob.exc.HTTPBadRequest) as raised:
        metric_api.parse_measures([{'timestamp': 0, 'value': 1.0}, item])
    assert raised.value.detail['detail'] == detail


def test_a_number_given_as_text_is_still_a_value():
    stamps, values = metric_api.parse_measures([{'timestamp': 1, 'value': '2.5'}])
    assert values.tolist() == [2.5]
