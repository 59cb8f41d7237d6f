"""``evaluate``: an operations tree over the caller's series, answered in the shape of
Gnocchi's ``/v1/aggregates`` measures; ``legacy_aggregation``: ``/v1/aggregation/metric``.
"""

import itertools

import numpy
import orjson

from telewatch.archive import aggregation
from telewatch.archive import calendar
from telewatch.archive import state as state_mod
from telewatch.archive.aggregates import errors
from telewatch.archive.aggregates import evaluator
from telewatch.archive.aggregates import parser
from telewatch.archive.aggregates import series as series_mod
from telewatch.archive.aggregates import tree as tree_mod

_RFC3339 = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NAIVE_UTC
_FILL_REASON = ("Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or "
                "'full_bfill'")


def evaluate(tree, series, granularity=None, start=None, stop=None, fill=None,
             needed_overlap=None, default_fill='dropna'):
    """The measures of ``tree`` (a parsed tree, or operations to parse) over ``series``.

    ``series``: ``{(reference, aggregation): {granularity_ns: (timestamps, values)}}`` for
    every pair of ``references(tree)`` (a metric's granularities only), or, for a resource
    search, ``{(reference, aggregation): [Match, ...]}``. ``granularity`` is in ns (int or
    timedelta64); ``start``/``stop`` datetime64, datetime or int ns.

    Without ``fill`` nor ``needed_overlap``, ``fill`` is ``default_fill`` (``dropna`` for
    ``/v1/aggregates``; None for the legacy API); with neither after that, the overlap
    check needs ``needed_overlap`` (default 100) percent.

    Returns ``{reference: {aggregation: rows}}`` (search: ``{resource_id: {metric_name:
    {aggregation: rows}}}``) or, once series are combined, ``{"aggregated": rows}``; rows
    are ``[iso8601 "+00:00", granularity seconds, value]``, coarsest granularity first.
    Raises the errors of ``telewatch.archive.aggregates.errors``.
    """
    if not isinstance(tree, tree_mod.Node):
        tree = parser.parse_operations(tree)
    fill = _checked_fill(fill)
    if fill is None and needed_overlap is None:
        fill = _checked_fill(default_fill)
    if needed_overlap is None:
        needed_overlap = 100.0
    columns = series_mod.columns_of(parser.references(tree), series)
    start, stop = _bound(start), _bound(stop)
    frames = []
    for granularity_ns in series_mod.select_granularities(columns, _granularity(granularity)):
        frame = series_mod.aligned(columns, granularity_ns, start, stop, fill,
                                   float(needed_overlap))
        frames.append(evaluator.Evaluator(frame, [c.lookup for c in columns])(tree))
    return _output(frames, columns, fill in series_mod.DROPPING_FILLS)


def _checked_fill(fill):
    """None, a named fill, or a number (given as one or as text, as Gnocchi's query)."""
    if fill is None or fill in series_mod.FILLS:
        return fill
    try:
        if isinstance(fill, bool):
            raise TypeError(fill)
        return float(fill)
    except (TypeError, ValueError):
        raise errors.InvalidParameter('fill', _FILL_REASON) from None


def _bound(moment):
    return None if moment is None else state_mod.timestamp_ns(moment)


def _granularity(granularity):
    if granularity is None:
        return None
    if isinstance(granularity, numpy.timedelta64):
        return int(granularity.astype('timedelta64[ns]').astype(numpy.int64))
    return int(granularity)


def _output(frames, columns, drop_missing):
    if frames and frames[-1].aggregated:
        rows = []
        for frame in frames:
            rows.extend(_rows(frame, format_timestamps(frame.timestamps), 0, drop_missing))
        return {'aggregated': rows}
    result = {}
    for column in columns:  # every series has its key, even with no rows
        _leaf(result, column.path)
    for frame in frames:
        texts, seen = format_timestamps(frame.timestamps), set()
        for index, column in enumerate(columns):
            if column.path not in seen:  # two wildcards may find the same metric
                seen.add(column.path)
                _leaf(result, column.path).extend(_rows(frame, texts, index, drop_missing))
    return result


def _leaf(result, path):
    for key in path[:-1]:
        result = result.setdefault(key, {})
    return result.setdefault(path[-1], [])


def _rows(frame, texts, column, drop_missing):
    """Rows of one column; as Gnocchi, a combined result keeps its first column only."""
    if not frame.values.shape[1]:
        return []
    values = frame.values[:, column]
    shown = frame.granularity  # a calendar period as itself, as Gnocchi shows it
    if not calendar.is_period(shown):
        shown = shown / 1e9
    if drop_missing:
        keep = numpy.isfinite(values)
        if not keep.all():
            values = values[keep]
            texts = list(itertools.compress(texts, keep.tolist()))
    return [[t, shown, v] for t, v in zip(texts, values.tolist())]


def format_timestamps(stamps):
    """``2014-10-06T14:30:00+00:00`` (microseconds only when not whole seconds) of int64 ns
    or datetime64[ns] timestamps, as a list of str.

    orjson writes datetime64 exactly so, four times faster than numpy's datetime_as_string.
    """
    stamps = numpy.asarray(stamps, dtype=numpy.int64).view('datetime64[ns]')
    return orjson.loads(orjson.dumps(stamps, option=_RFC3339))


def legacy_aggregation(series_list, aggregation='mean', reaggregation=None,
                       granularity=None, needed_overlap=100.0, fill=None, start=None,
                       stop=None, resample=None):
    """Rows of Gnocchi's ``/v1/aggregation/metric`` over ``series_list``.

    ``series_list``: ``[(metric_id, {granularity_ns: (timestamps, values)}), ...]``, the
    ``aggregation`` series of each metric. One metric: its own rows, resampled as
    ``GET measures`` does. Several: ``reaggregation`` (default ``aggregation``) across
    them, after resampling each (``resample`` ns or a calendar period, needs
    ``granularity``), with the overlap check (``needed_overlap``, default 100) unless
    ``fill``.
    """
    if resample is not None and granularity is None:
        raise errors.InvalidParameter('resample',
                                      'A granularity must be specified to resample')
    metrics = dict(series_list)
    if not metrics:
        return []
    granularities = _legacy_granularities(metrics, aggregation, _granularity(granularity))
    if len(metrics) == 1:
        ((metric, only),) = metrics.items()
        return _single(metric, only, granularities, start, stop, aggregation,
                       _resample_granularity(resample))
    reaggregation = reaggregation or aggregation
    if reaggregation not in tree_mod.AGGREGATE_METHODS:
        raise errors.InvalidParameter(
            'reaggregation', 'Must be one of %s' % ', '.join(sorted(tree_mod.AGGREGATE_METHODS)))
    operand = tree_mod.Metric(tuple((m, aggregation) for m in metrics), listed=True)
    if resample is not None:
        operand = tree_mod.Resample(aggregation, _resample_granularity(resample), operand)
    series = {(m, aggregation): g for m, g in metrics.items()}
    return evaluate(tree_mod.Aggregate(reaggregation, operand), series, granularity, start,
                    stop, fill, 100.0 if needed_overlap is None else needed_overlap,
                    default_fill=None)['aggregated']


def _resample_granularity(resample):
    return resample if calendar.is_period(resample) else _granularity(resample)


def _legacy_granularities(metrics, method, granularity_ns):
    if granularity_ns is None:
        columns = [series_mod.Column((m, method), (m, method), (m, method), g)
                   for m, g in metrics.items()]
        return series_mod.select_granularities(columns)
    for metric, granularities in metrics.items():
        if granularity_ns not in granularities:
            raise errors.NoSuchAggregationGranularity(metric, method, granularity_ns)
    return [granularity_ns]


def _single(metric, granularities, selected, start, stop, method, resample):
    """The rows of one metric, as Gnocchi's storage reads them: no fill, no overlap; a
    resample (ns or a calendar period) applies to the whole series, then start (floored to
    the resampled granularity) and stop cut."""
    columns = series_mod.columns_of([(metric, method)], {(metric, method): granularities})
    start, stop = _bound(start), _bound(stop)
    rows = []
    for granularity_ns in selected:
        if resample is None:
            frame = series_mod.aligned(columns, granularity_ns, start, stop, fill='null')
        else:
            frame = _resampled(series_mod.aligned(columns, granularity_ns, fill='null'),
                               method, resample, start, stop)
        rows.extend(_rows(frame, format_timestamps(frame.timestamps), 0, drop_missing=False))
    return rows


def _resampled(frame, method, resample, start, stop):
    period = resample if calendar.is_period(resample) else numpy.timedelta64(resample, 'ns')
    stamps, values = aggregation.resample_between(frame.timestamps, frame.values[:, 0],
                                                  period, method, start, stop)
    return frame.derive(granularity=resample, timestamps=stamps.view(numpy.int64),
                        values=values.reshape(-1, 1))
