"""Where calendar periods start (telewatch/archive/calendar.py), at their edges."""

import numpy
import pytest

from telewatch.archive import aggregates
from telewatch.archive import calendar


def ns(*texts):
    return numpy.array(texts, dtype='datetime64[ns]').view(numpy.int64)


@pytest.mark.parametrize('period, moments, start', [
    ('Y', ['2024-01-01T00:00:00', '2024-12-31T23:59:59.999999999'], '2024-01-01'),
    ('H', ['2024-01-01', '2024-06-30T23:59:59'], '2024-01-01'),
    ('H', ['2024-07-01', '2024-12-31T12:00'], '2024-07-01'),
    ('Q', ['2024-04-01', '2024-06-30T23:00'], '2024-04-01'),
    ('Q', ['2024-10-01', '2024-12-31'], '2024-10-01'),
    ('M', ['2024-02-01', '2024-02-29T23:59:59'], '2024-02-01'),  # a leap day
    ('W', ['2024-03-03', '2024-03-05', '2024-03-09T23:59:59'], '2024-03-03'),  # Sun to Sat
    ('W', ['2024-12-29', '2025-01-04'], '2024-12-29'),  # a week across two years
    ('W', ['1970-01-01', '1970-01-03'], '1969-12-28'),  # the epoch's week starts before it
])
def test_a_period_starts_on_its_first_day(period, moments, start):
    assert calendar.period_starts(ns(*moments), period).tolist() == ns(
        *[start] * len(moments)).tolist()


def test_floor_is_by_duration_or_by_period():
    stamps = ns('2024-05-17T10:30:00')
    assert calendar.floor(stamps, 3600 * 10 ** 9).tolist() == ns('2024-05-17T10:00').tolist()
    assert calendar.floor(stamps, 'M').tolist() == ns('2024-05-01').tolist()
    assert calendar.is_period('M') and not calendar.is_period('m')
    assert not calendar.is_period(60) and not calendar.is_period('1h')


def test_an_empty_series_has_no_periods():
    assert calendar.period_starts(ns(), 'W').tolist() == []


def test_a_week_before_the_epoch_is_written_as_a_time():
    start = calendar.period_starts(ns('1970-01-02'), 'W')
    assert aggregates.format_timestamps(start) == ['1969-12-28T00:00:00+00:00']
