"""The CloudWatch metric operations: PutMetricData, ListMetrics, GetMetricStatistics and
GetMetricData, on the archive through ``mapping`` (see ``telewatch.cloudwatch``).

Every datum becomes archive measures at its timestamp floored to the second plus a nonce
in the sub-second nanoseconds: the archive keeps one value per timestamp, CloudWatch every
value put, and no period is finer than a second. Nonces are ``counter * 1000 + pid % 1000``,
so two workers (consecutive pids) never give the same one, and one worker repeats itself
only after a million values.
"""

import datetime
import itertools
import math
import os

import numpy

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metric_data
from telewatch.cloudwatch import metric_list
from telewatch.cloudwatch import periods
from telewatch.cloudwatch import statistics as stats_mod

MAX_METRIC_DATA = 1000
MAX_VALUES = 150
# Values repeated by their whole Counts (and sets of equal Min and Max) are stored as
# values, for percentiles, up to this many per datum; beyond, as an exact statistic set.
MAX_EXPANDED = 1000
MAX_MAGNITUDE = 2.0 ** 360
_PAST = datetime.timedelta(weeks=2)
_FUTURE = datetime.timedelta(hours=2)
_NS = 1_000_000_000
_nonces = {}  # pid -> its counter (a forked worker must not continue its parent's)


def _nonce_counter():
    pid = os.getpid()
    counter = _nonces.get(pid)
    if counter is None:
        _nonces.clear()
        slot = pid % 1000
        counter = _nonces[pid] = (n * 1000 + slot for n in itertools.count(
            mapping.new_nonce_base() % 1_000_000))
    return counter


def _field(index, name):
    return 'MetricData.member.%d.%s' % (index, name)


def _check_value(value, where):
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise errors.InvalidParameterValue(
            'The value %s for parameter %s is invalid.' % (value, where))
    return value


def _check_timestamp(ctx, datum, index):
    moment = datum.get('Timestamp', ctx.now)
    if moment < ctx.now - _PAST:
        raise errors.InvalidParameterValue(
            'The parameter %s must specify a time no more than two weeks in the past.'
            % _field(index, 'Timestamp'))
    if moment > ctx.now + _FUTURE:
        raise errors.InvalidParameterValue(
            'The parameter %s must specify a time no more than two hours in the future.'
            % _field(index, 'Timestamp'))
    return int(moment.timestamp()) * _NS


def _exclusive(datum, index):
    given = [n for n in ('Value', 'StatisticValues', 'Values') if n in datum]
    if len(given) > 1:
        raise errors.InvalidParameterCombination(
            'The parameters %s and %s are mutually exclusive and you have specified both.'
            % (_field(index, given[0]), _field(index, given[1])))
    if not given:
        raise errors.MissingParameter(
            'The parameter %s is required.' % _field(index, 'Value'))
    if 'Counts' in datum and 'Values' not in datum:
        raise errors.InvalidParameterCombination(
            'The parameter %s requires %s.' % (_field(index, 'Counts'),
                                               _field(index, 'Values')))
    return given[0]


def _whole(count):
    return count == int(count) and 0 <= count <= MAX_EXPANDED


def _from_values(datum, index):
    """(values, statistic set or None) of a Values + Counts datum."""
    values = [_check_value(v, _field(index, 'Values')) for v in datum['Values']]
    counts = datum.get('Counts', [1.0] * len(values))
    if len(values) > MAX_VALUES:
        raise errors.InvalidParameterValue(
            'The collection %s must not have a size greater than %d.'
            % (_field(index, 'Values'), MAX_VALUES))
    if len(counts) != len(values):
        raise errors.InvalidParameterValue(
            'The parameters %s and %s must be of the same size.'
            % (_field(index, 'Values'), _field(index, 'Counts')))
    for count in counts:
        _check_value(count, _field(index, 'Counts'))
        if count < 0:
            raise errors.InvalidParameterValue(
                'The value %s for parameter %s is invalid.' % (count, _field(index, 'Counts')))
    if all(_whole(c) for c in counts) and sum(counts) <= MAX_EXPANDED:
        return [v for v, c in zip(values, counts) for _ in range(int(c))], None
    used = [(v, c) for v, c in zip(values, counts) if c > 0]
    if not used:
        return [], None
    return [], (sum(c for _, c in used), sum(v * c for v, c in used),
                min(v for v, _ in used), max(v for v, _ in used))


def _from_set(datum, index):
    """(values, statistic set or None) of a StatisticValues datum."""
    given = datum['StatisticValues']
    where = _field(index, 'StatisticValues')
    n, total, low, high = (_check_value(given[k], '%s.%s' % (where, k))
                           for k in ('SampleCount', 'Sum', 'Minimum', 'Maximum'))
    if n <= 0:
        raise errors.InvalidParameterValue(
            'The parameter %s.SampleCount must be greater than 0.' % where)
    if low > high:
        raise errors.InvalidParameterValue(
            'The parameter %s.Maximum must be greater than or equal to %s.Minimum.'
            % (where, where))
    if low == high and _whole(n) and math.isclose(low * n, total, rel_tol=1e-12, abs_tol=0):
        return [low] * int(n), None  # every sample is known: percentiles can use them
    return [], (n, total, low, high)


def _measures(datum, index):
    kind = _exclusive(datum, index)
    if kind == 'Value':
        return [_check_value(datum['Value'], _field(index, 'Value'))], None
    return _from_values(datum, index) if kind == 'Values' else _from_set(datum, index)


def _checked_data(params):
    data = list(params.get('MetricData', ()))
    for entity in params.get('EntityMetricData', ()):
        data.extend(entity.get('MetricData', ()))
    if len(data) > MAX_METRIC_DATA:
        raise errors.InvalidParameterValue(
            'The collection MetricData must not have a size greater than %d.'
            % MAX_METRIC_DATA)
    namespace = params['Namespace']
    if namespace.startswith('AWS/'):
        raise errors.InvalidParameterValue(
            'The value %s for parameter Namespace is invalid.' % namespace)
    return namespace, data


def _resolution(datum, index):
    resolution = datum.get('StorageResolution', 60)
    if resolution not in (1, 60):
        raise errors.InvalidParameterValue(
            'The value %s for parameter %s is invalid: it must be 1 or 60.'
            % (resolution, _field(index, 'StorageResolution')))
    return resolution == 1


def put_metric_data(ctx, params):
    """PutMetricData: every datum checked first (nothing is written if one is bad), then
    all of them written in one durable append."""
    namespace, data = _checked_data(params)
    wanted, rows = {}, []
    for index, datum in enumerate(data, 1):
        key = mapping.metric_key(namespace, datum['MetricName'], datum.get('Dimensions', ()))
        stamp = _check_timestamp(ctx, datum, index)
        values, stat_set = _measures(datum, index)
        kind = (datum.get('Unit'), _resolution(datum, index))
        if values:
            wanted.setdefault((key, None), kind)
            rows.append(((key, None), stamp, values))
        if stat_set is not None:
            for part, value in zip(mapping.SET_PARTS, stat_set):
                wanted.setdefault((key, part), kind)
                rows.append(((key, part), stamp, [value]))
    if not rows:
        return {}
    ids = mapping.ensure(ctx, wanted)
    measures, nonces = {}, _nonce_counter()
    for part_key, stamp, values in rows:
        stamps, kept = measures.setdefault(ids[part_key], ([], []))
        stamps.extend(stamp + next(nonces) % _NS for _ in values)
        kept.extend(values)
    ctx.store.add_measures({mid: (numpy.array(s, numpy.int64), numpy.array(v, numpy.float64))
                            for mid, (s, v) in measures.items()})
    return {}


def _statistics_asked(params):
    stats = list(params.get('Statistics', ()))
    extended = list(params.get('ExtendedStatistics', ()))
    if bool(stats) == bool(extended):
        raise errors.InvalidParameterCombination(
            'Must specify either Statistics or ExtendedStatistics, but not both.')
    for stat in extended:
        check_percentile(stat, 'ExtendedStatistics')
    return stats + extended


def check_percentile(stat, where):
    """InvalidParameterValue unless ``stat`` is a percentile whose values are kept."""
    q = stats_mod.percentile_q(stat)
    if q is None:
        raise errors.InvalidParameterValue(
            'The value %s for parameter %s is not supported.' % (stat, where))
    if q not in (0, 100) and stat not in mapping.PERCENTILES and \
            'p%g' % q not in mapping.PERCENTILES:
        raise errors.InvalidParameterValue(
            'The percentile %s of parameter %s is not kept: the archive keeps p0, %s and '
            'p100.' % (stat, where, ', '.join(mapping.PERCENTILES)))


def get_metric_statistics(ctx, params):
    """GetMetricStatistics: one metric, its Dimensions exactly, the Unit as a filter."""
    stats = _statistics_asked(params)
    period = params['Period']
    start, finest = periods.plan(params['StartTime'], params['EndTime'], ctx.now, period)
    found = mapping.find(ctx, params['Namespace'], params['MetricName'],
                         params.get('Dimensions', ()))
    label = params['MetricName']
    if found is None or ('Unit' in params and params['Unit'] != found.unit):
        return {'Label': label, 'Datapoints': []}
    return {'Label': label, 'Datapoints': mapping.statistics(
        ctx, found, start, params['EndTime'], period, stats, finest)}


OPERATIONS = {
    'PutMetricData': put_metric_data,
    'ListMetrics': metric_list.list_metrics,
    'GetMetricStatistics': get_metric_statistics,
    'GetMetricData': metric_data.get_metric_data,
}
