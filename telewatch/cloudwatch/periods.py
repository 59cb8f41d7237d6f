"""CloudWatch's rules on periods and time ranges: which periods are valid, how StartTime is
rounded, which granularity data of a given age is kept at, and the datapoint limit. Pure.

AWS's rules: a period is 1, 5, 10, 20, 30 or a multiple of 60 seconds; data whose
StartTime is older than 3 hours is kept at 60 s, older than 15 days at 300 s, older than
63 days at 3,600 s, and a period that is not a multiple of that returns no datapoint.
StartTime is rounded down to the period for periods under a minute, else to the minute
(under 15 days back), 5 minutes (15 to 63 days) or the hour; EndTime is exclusive.
"""

import datetime

from telewatch.cloudwatch import errors

HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)
MAX_DATAPOINTS = 1440
_HOUR, _DAY = 3600, 86400
# (age in seconds beyond which, granularity kept)
_TIERS = ((63 * _DAY, 3600), (15 * _DAY, 300), (3 * _HOUR, 60))
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def check_period(period):
    """InvalidParameterValue unless ``period`` is 1, 5, 10, 20, 30 or a multiple of 60."""
    if period in HIGH_RESOLUTION_PERIODS or (period >= 60 and period % 60 == 0):
        return
    raise errors.InvalidParameterValue(
        'The parameter Period must be 1, 5, 10, 20, 30, or a multiple of 60.')


def _age(start, now):
    return (now - start).total_seconds()


def finest_granularity(start, now):
    """The finest granularity (seconds) data as old as ``start`` is still kept at."""
    age = _age(start, now)
    for older_than, granularity in _TIERS:
        if age > older_than:
            return granularity
    return 1


def round_start(start, now, period):
    """StartTime rounded down as CloudWatch does (see the module's docstring)."""
    if period < 60:
        step = period
    else:
        age = _age(start, now)
        step = 3600 if age > 63 * _DAY else 300 if age > 15 * _DAY else 60
    seconds = int((start - _EPOCH).total_seconds() // step * step)
    return _EPOCH + datetime.timedelta(seconds=seconds)


def check_range(start, end):
    if start >= end:
        raise errors.InvalidParameterValue(
            'The parameter StartTime must be less than the parameter EndTime.')


def datapoints(start, end, period):
    """How many periods ``[start, end)`` holds."""
    seconds = (end - start).total_seconds()
    return int(-(-seconds // period))


def check_datapoints(start, end, period, limit=MAX_DATAPOINTS):
    """InvalidParameterCombination when the range holds more than ``limit`` periods."""
    asked = datapoints(start, end, period)
    if asked > limit:
        raise errors.InvalidParameterCombination(
            'You have requested up to %s datapoints, which exceeds the limit of %s. You may '
            'reduce the datapoints requested by increasing Period, or decreasing the time '
            'range.' % (format(asked, ','), format(limit, ',')))


def plan(start, end, now, period, limit=MAX_DATAPOINTS):
    """``(rounded start, finest granularity)`` of a statistics request, after its checks."""
    check_period(period)
    check_range(start, end)
    rounded = round_start(start, now, period)
    check_datapoints(rounded, end, period, limit)
    return rounded, finest_granularity(start, now)
