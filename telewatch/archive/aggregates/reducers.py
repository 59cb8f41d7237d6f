"""The numpy reductions of the aggregates language, without warnings.

``across(method, values, axis)`` reduces along an axis ignoring NaN, as Gnocchi's
``numpy.nan*`` functions: an all-NaN slice gives NaN (``sum`` 0, ``count`` 0); ``std`` and
``var`` are the population ones (ddof 0), unlike the archive's sample ``std``. A ``rate:``
method reduces first, then takes the differences along the first (time) axis.

``resample(method, timestamps, values, granularity)`` regroups every column of a matrix
into coarser buckets (ns, or a calendar period) with the archive's method, on all the slots
of the bucket as Gnocchi's carbonara does: NaN propagates (mean, sum, max, std) except for
``min``, which ignores it, and ``count`` counts the slots.
"""

import numpy

from telewatch.archive import aggregation
from telewatch.archive import policy as policy_mod

RATE_PREFIX = 'rate:'


def _count(values, axis):
    return numpy.count_nonzero(~numpy.isnan(values), axis=axis).astype(numpy.float64)


def _sum(values, axis):
    return numpy.where(numpy.isnan(values), 0.0, values).sum(axis=axis)


def _mean(values, axis):
    with numpy.errstate(invalid='ignore', divide='ignore'):
        return _sum(values, axis) / _count(values, axis)


def _var(values, axis):
    deviations = values - numpy.expand_dims(_mean(values, axis), axis)
    return _mean(deviations * deviations, axis)


def _std(values, axis):
    return numpy.sqrt(_var(values, axis))


def _median(values, axis):
    if values.shape[axis] == 0:
        return _mean(values, axis)  # all NaN
    ordered = numpy.sort(values, axis=axis)  # NaN sort last
    present = numpy.count_nonzero(~numpy.isnan(values), axis=axis, keepdims=True)
    low = numpy.maximum((present - 1) // 2, 0)
    high = numpy.maximum(present // 2, 0)
    middle = (numpy.take_along_axis(ordered, low, axis)
              + numpy.take_along_axis(ordered, high, axis)) / 2.0
    middle = numpy.where(present == 0, numpy.nan, middle)
    return numpy.squeeze(middle, axis=axis)


def _nan_extreme(ufunc):
    def reduce(values, axis):
        if values.shape[axis] == 0:
            return numpy.full(numpy.delete(values.shape, axis), numpy.nan)
        return ufunc.reduce(values, axis=axis)
    return reduce


_ACROSS = {
    'mean': _mean,
    'median': _median,
    'std': _std,
    'var': _var,
    'min': _nan_extreme(numpy.fmin),
    'max': _nan_extreme(numpy.fmax),
    'sum': _sum,
    'count': _count,
}


def across(method, values, axis):
    """``values`` reduced along ``axis`` by ``method`` (one of ``tree.AGGREGATE_METHODS``)."""
    if method.startswith(RATE_PREFIX):
        reduced = _ACROSS[method[len(RATE_PREFIX):]](values, axis)
        return numpy.diff(reduced, axis=0)
    return _ACROSS[method](values, axis)


def resample(method, timestamps, values, granularity):
    """``(int64 bucket starts, float64 [buckets, columns])`` of a ``[n, columns]`` matrix.

    ``method`` is any archive method (``first``, ``last``, ``95pct`` too, for the legacy
    API's reaggregation); ``rate:<m>`` applies ``m`` to the differences of consecutive
    slots, each stamped at the later one (Gnocchi differences the series once more).
    """
    spec = policy_mod.parse_method(method)
    if spec.rate:
        timestamps, values = timestamps[1:], numpy.diff(values, axis=0)
    buckets = aggregation.Buckets.of(timestamps, granularity)
    present = buckets.counts >= spec.min_count
    columns = [_bucket_values(values[:, i], buckets, spec)[present]
               for i in range(values.shape[1])]
    result = (numpy.stack(columns, axis=1) if columns
              else numpy.empty((int(present.sum()), 0)))
    return buckets.keys[present], result


def _bucket_values(column, buckets, spec):
    if not len(buckets):
        return numpy.empty(0)
    if spec.base == 'min':
        return numpy.fmin.reduceat(column, buckets.starts)
    with numpy.errstate(invalid='ignore'):
        return aggregation.reduce_buckets(column, buckets, spec)
