"""CloudWatch's statistics of a period from archive aggregates: SampleCount, Sum, Average,
Minimum, Maximum and percentiles, exact where the parts are. Pure numpy: no I/O.

Input: the aggregates of one granularity of a metric's parts: the values (``count``,
``sum``, ``min``, ``max`` and percentiles ``<q>pct``) and the statistic-set companions
(``SampleCount`` and ``Sum`` summed, ``Minimum``, ``Maximum``), each ``(int64 ns bucket
starts, float64 values)``. Periods start at ``start`` and follow each other (CloudWatch
aligns them on the rounded StartTime). A percentile is exact only when the period is the
granularity and no statistic set fell in the bucket; otherwise it has no value.
"""

import dataclasses
import datetime
import itertools
import math

import numpy

from telewatch.archive import policy as policy_mod

BASIC = ('SampleCount', 'Average', 'Sum', 'Minimum', 'Maximum')
_EMPTY_I8 = numpy.empty(0, numpy.int64)


def is_percentile(stat):
    """True for ``p0``..``p100`` (CloudWatch's ExtendedStatistics we answer)."""
    return percentile_q(stat) is not None


def percentile_q(stat):
    """The q of a ``pNN[.NN]`` statistic in [0, 100]; None if it is not one."""
    if not isinstance(stat, str) or not stat.startswith('p'):
        return None
    try:
        q = float(stat[1:])
    except ValueError:
        return None
    if not math.isfinite(q) or not 0 <= q <= 100 or stat[1:2] in ('+', '-', ' ', ''):
        return None
    return q


def percentile_method(stat):
    """The archive method a percentile is read with: p0 is min, p100 max."""
    q = percentile_q(stat)
    if q == 0:
        return 'min'
    if q == 100:
        return 'max'
    return policy_mod.parse_method('p%g' % q).name


@dataclasses.dataclass(frozen=True, eq=False)
class Table:
    """Periods with data: ``timestamps`` (int64 ns starts, ascending) and ``columns``
    ({statistic: float64 values}, NaN where a statistic has no value)."""

    timestamps: numpy.ndarray
    columns: dict

    @classmethod
    def empty(cls):
        return cls(_EMPTY_I8, {})


def _keys(loaded, start, end, period):
    distinct = []
    for methods in loaded.values():
        for ts, _ in methods.values():
            # the methods of one table share their timestamps: one copy is enough
            if not any(len(ts) == len(d) and numpy.array_equal(ts, d) for d in distinct):
                distinct.append(ts)
    if not distinct:
        return _EMPTY_I8
    every = distinct[0] if len(distinct) == 1 else numpy.concatenate(distinct)
    every = every[(every >= start) & (every < end)]
    floored = start + (every - start) // period * period
    if len(distinct) == 1 and (len(floored) < 2 or (numpy.diff(floored) > 0).all()):
        return floored  # sorted and unique already (a period of the granularity)
    return numpy.unique(floored)


def _scatter(keys, series, start, end, period, ufunc, initial):
    out = numpy.full(len(keys), initial, dtype=numpy.float64)
    if series is None:
        return out
    ts, values = series
    inside = (ts >= start) & (ts < end)
    floored = start + (ts[inside] - start) // period * period
    if len(floored) == len(keys) and numpy.array_equal(floored, keys):
        out[:] = values[inside]  # a bucket a period (what ufunc(initial, v) gives too)
        return out
    where = numpy.searchsorted(keys, floored)
    ufunc.at(out, where, values[inside])
    return out


def combine(loaded, start, end, period, granularity):
    """The Table of ``loaded`` ``{part: {method: (ts, values)}}`` (part None: the values;
    else a SET_PARTS name) for periods of ``period`` ns from ``start`` to ``end`` (ns)."""
    keys = _keys(loaded, start, end, period)
    if not len(keys):
        return Table.empty()
    values, sets = loaded.get(None, {}), {p: m for p, m in loaded.items() if p is not None}

    def part(name, method, ufunc, initial):
        own = _scatter(keys, values.get(method), start, end, period, ufunc, initial)
        other = sets.get(name, {})
        if other:
            ufunc(own, _scatter(keys, next(iter(other.values())), start, end, period, ufunc,
                                initial), out=own)
        return own

    count = part('SampleCount', 'count', numpy.add, 0.0)
    columns = {'SampleCount': count}
    if 'sum' in values or 'Sum' in sets:
        columns['Sum'] = part('Sum', 'sum', numpy.add, 0.0)
        with numpy.errstate(invalid='ignore', divide='ignore'):
            columns['Average'] = columns['Sum'] / count
    if 'min' in values or 'Minimum' in sets:
        columns['Minimum'] = _finite(part('Minimum', 'min', numpy.minimum, numpy.inf))
    if 'max' in values or 'Maximum' in sets:
        columns['Maximum'] = _finite(part('Maximum', 'max', numpy.maximum, -numpy.inf))
    if granularity == period:
        set_count = _scatter(keys, next(iter(sets.get('SampleCount', {None: None}).values())),
                             start, end, period, numpy.add, 0.0)
        for method, series in values.items():
            if method.endswith('pct'):
                column = _scatter(keys, series, start, end, period, numpy.fmax, numpy.nan)
                column[set_count > 0] = numpy.nan
                columns[method] = column
    present = count > 0
    return Table(keys[present], {k: v[present] for k, v in columns.items()})


def _finite(column):
    column[~numpy.isfinite(column)] = numpy.nan
    return column


def column(table, stat):
    """``(int64 ns, float64)`` of one statistic where it has a value."""
    values = column_values(table, stat)
    present = ~numpy.isnan(values)
    return table.timestamps[present], values[present]


def datapoints(table, stats, unit):
    """GetMetricStatistics' Datapoints (dicts) of a Table, for the statistics asked."""
    extended = [s for s in stats if is_percentile(s)]
    basic = [s for s in stats if s in BASIC]
    # Python floats (tolist) rather than numpy scalars: ten times cheaper per point.
    arrays = [column_values(table, s) for s in basic]
    utc = datetime.timezone.utc
    moments = [datetime.datetime.fromtimestamp(seconds, utc)
               for seconds in (table.timestamps // 10 ** 9).tolist()]
    if not extended and not any(numpy.isnan(a).any() for a in arrays):
        # the usual case, every statistic of every period: one dict(zip) a point
        names = ('Timestamp', 'Unit') + tuple(basic)
        return [dict(zip(names, row)) for row in zip(
            moments, itertools.repeat(unit), *[a.tolist() for a in arrays])]
    columns = [(s, a.tolist()) for s, a in zip(basic, arrays)]
    percentiles = [(s, column_values(table, s).tolist()) for s in extended]
    out = []
    for i, moment in enumerate(moments):
        point = {'Timestamp': moment, 'Unit': unit}
        for stat, values in columns:
            if values[i] == values[i]:  # not NaN
                point[stat] = values[i]
        found = {s: values[i] for s, values in percentiles if values[i] == values[i]}
        if found:
            point['ExtendedStatistics'] = found
        if len(point) > 2:
            out.append(point)
    return out


def column_values(table, stat):
    """Every period's value of one statistic (NaN where none), aligned on the Table."""
    name = percentile_method(stat) if is_percentile(stat) else stat
    name = {'min': 'Minimum', 'max': 'Maximum'}.get(name, name)
    found = table.columns.get(name)
    return numpy.full(len(table.timestamps), numpy.nan) if found is None else found
