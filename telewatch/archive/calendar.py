"""Gregorian calendar periods to resample by, as Gnocchi's (``resample=M``): where each
timestamp's year, half-year, quarter, month or week starts. Pure numpy, UTC.

``Y``, ``H``, ``Q`` and ``M`` start on the first day of January, of January or July, of
January, April, July or October, and of the month; ``W`` on the Sunday (Gnocchi's weeks,
not ISO's, which start on Monday).
"""

import numpy

PERIODS = ('Y', 'H', 'Q', 'M', 'W')
_MONTHS = {'Y': 12, 'H': 6, 'Q': 3, 'M': 1}
# numpy counts weeks from 1970-01-01, a Thursday: four days on, weeks start on Sunday.
_TO_SUNDAY = numpy.timedelta64(4, 'D')


def is_period(granularity):
    """Whether ``granularity`` names a calendar period (else it is a duration)."""
    return isinstance(granularity, str) and granularity in PERIODS


def period_starts(timestamps, period):
    """int64 ns of the start of the ``period`` holding each timestamp (int64 ns since the
    epoch, not before it)."""
    stamps = numpy.asarray(timestamps, dtype=numpy.int64).view('datetime64[ns]')
    if period == 'W':
        days = stamps.astype('datetime64[D]') + _TO_SUNDAY
        starts = days.astype('datetime64[W]').astype('datetime64[D]') - _TO_SUNDAY
    else:
        months = stamps.astype('datetime64[M]').view(numpy.int64)  # since 1970-01
        starts = (months - months % _MONTHS[period]).view('datetime64[M]')
    return starts.astype('datetime64[ns]').view(numpy.int64)


def floor(timestamps, granularity):
    """int64 ns of the start of each timestamp's bucket: the ``granularity`` (ns) it
    falls in, counted from the epoch, or its calendar period."""
    timestamps = numpy.asarray(timestamps, dtype=numpy.int64)
    if is_period(granularity):
        return period_starts(timestamps, granularity)
    return timestamps - timestamps % granularity
