"""Vectorised per-bucket aggregation (every archive method), and the read-side helpers
``resample`` and ``resample_between``. Pure numpy: no I/O, no config, no logging.

Conventions, the same as Gnocchi's ``carbonara``:

- timestamps are int64 nanoseconds since the Unix epoch, sorted and unique, never negative;
- a bucket is ``[k, k + granularity)`` with ``k = ts - ts % granularity`` (floor from the
  epoch), or on read a calendar period (``telewatch.archive.calendar``), and only buckets
  holding at least one value exist;
- ``std`` is the sample standard deviation (n - 1): a bucket of one value has none;
- ``median`` is the mean of the two middle values; ``<q>pct`` interpolates linearly at
  position ``(n - 1) * q / 100`` of the sorted values (numpy's default ``linear``);
- ``first``/``last`` are the values of the oldest/newest timestamp of the bucket;
- ``rate:<m>`` applies ``m`` to the differences of consecutive raw values, each difference
  stamped at the later of its two measures: the first measure of a series has no rate.
"""

import dataclasses

import numpy

from telewatch.archive import calendar
from telewatch.archive import policy as policy_mod

_EMPTY_I8 = numpy.empty(0, dtype=numpy.int64)
_EMPTY_F8 = numpy.empty(0, dtype=numpy.float64)


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare explicitly
class Buckets:
    """Runs of a sorted series falling in the same bucket: start key, first index, size."""

    keys: numpy.ndarray
    starts: numpy.ndarray
    counts: numpy.ndarray

    @classmethod
    def of(cls, timestamps, granularity):
        """The buckets of ``granularity`` (ns, or a calendar period) of sorted int64 ns."""
        if not len(timestamps):
            return cls(_EMPTY_I8, _EMPTY_I8, _EMPTY_I8)
        floored = calendar.floor(timestamps, granularity)
        starts = numpy.flatnonzero(floored[1:] != floored[:-1]) + 1
        starts = numpy.concatenate(([0], starts))
        counts = numpy.diff(numpy.append(starts, len(timestamps)))
        return cls(floored[starts], starts, counts)

    def __len__(self):
        return len(self.keys)


def _sum(values, buckets, cache, q):
    if 'sum' not in cache:
        cache['sum'] = numpy.add.reduceat(values, buckets.starts)
    return cache['sum']


def _mean(values, buckets, cache, q):
    if 'mean' not in cache:
        cache['mean'] = _sum(values, buckets, cache, q) / buckets.counts
    return cache['mean']


def _std(values, buckets, cache, q):
    # Two passes (deviations from the bucket mean), as Gnocchi does, for precision.
    deviations = values - numpy.repeat(_mean(values, buckets, cache, q), buckets.counts)
    squares = numpy.add.reduceat(deviations * deviations, buckets.starts)
    result = numpy.full(len(buckets), numpy.nan)
    several = buckets.counts > 1
    result[several] = numpy.sqrt(squares[several] / (buckets.counts[several] - 1))
    return result


def _sorted(values, buckets, cache):
    if 'sorted' not in cache:
        bucket_of = numpy.repeat(numpy.arange(len(buckets)), buckets.counts)
        cache['sorted'] = values[numpy.lexsort((values, bucket_of))]
    return cache['sorted']


def _median(values, buckets, cache, q):
    ordered = _sorted(values, buckets, cache)
    low = buckets.starts + (buckets.counts - 1) // 2
    high = buckets.starts + buckets.counts // 2
    return (ordered[low] + ordered[high]) / 2.0


def _percentile(values, buckets, cache, q):
    ordered = _sorted(values, buckets, cache)
    # Positions relative to the bucket, so a bucket's value does not depend on where it
    # sits in the array (incremental updates must be bit-identical to a full rebuild).
    position = (buckets.counts - 1) * (q / 100.0)
    low = numpy.floor(position)
    high = numpy.ceil(position)
    result = (ordered[buckets.starts + low.astype(numpy.int64)] * (high - position)
              + ordered[buckets.starts + high.astype(numpy.int64)] * (position - low))
    exact = low == high
    result[exact] = ordered[buckets.starts[exact] + low[exact].astype(numpy.int64)]
    return result


_REDUCERS = {
    'sum': _sum,
    'mean': _mean,
    'std': _std,
    'min': lambda v, b, c, q: numpy.minimum.reduceat(v, b.starts),
    'max': lambda v, b, c, q: numpy.maximum.reduceat(v, b.starts),
    'count': lambda v, b, c, q: b.counts.astype(numpy.float64),
    'first': lambda v, b, c, q: v[b.starts],
    'last': lambda v, b, c, q: v[b.starts + b.counts - 1],
    'median': _median,
    'pct': _percentile,
}


def reduce_buckets(values, buckets, method, cache=None):
    """Values of one parsed ``method`` (its base, ``rate:`` ignored) for every bucket.

    ``cache`` (a dict) shares sums and the sorted values between methods of one series.
    """
    if not len(buckets):
        return _EMPTY_F8
    return _REDUCERS[method.base](values, buckets, {} if cache is None else cache, method.q)


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare explicitly
class AggregateTable:
    """The aggregates of one granularity: one row per bucket that holds a measure.

    ``counts`` are the measures in each bucket and ``rate_counts`` the rate values (the
    differences stamped in it); a method has a value in a bucket when its count reaches
    ``Method.min_count``, else ``values`` holds NaN there. ``values[i]`` is ``methods[i]``.
    """

    granularity_ns: int
    methods: tuple
    timestamps: numpy.ndarray
    counts: numpy.ndarray
    rate_counts: numpy.ndarray
    values: numpy.ndarray

    @classmethod
    def empty(cls, granularity_ns, methods):
        return cls(granularity_ns, tuple(methods), _EMPTY_I8, _EMPTY_I8, _EMPTY_I8,
                   numpy.empty((len(methods), 0)))

    def __len__(self):
        return len(self.timestamps)

    def splice(self, start_ns, newer):
        """The rows before ``start_ns`` followed by the rows of ``newer``."""
        keep = int(numpy.searchsorted(self.timestamps, start_ns))
        if keep == 0:
            return newer
        return AggregateTable(
            self.granularity_ns, self.methods,
            numpy.concatenate((self.timestamps[:keep], newer.timestamps)),
            numpy.concatenate((self.counts[:keep], newer.counts)),
            numpy.concatenate((self.rate_counts[:keep], newer.rate_counts)),
            numpy.concatenate((self.values[:, :keep], newer.values), axis=1))

    def truncate(self, points):
        """The newest ``points`` bucket slots: ``ts > newest - timespan``, as Gnocchi;
        every bucket when ``points`` is None (an item with a granularity alone)."""
        if points is None or not len(self.timestamps):
            return self
        oldest = self.timestamps[-1] - (points - 1) * self.granularity_ns
        drop = int(numpy.searchsorted(self.timestamps, oldest))
        if drop == 0:
            return self
        return AggregateTable(self.granularity_ns, self.methods, self.timestamps[drop:],
                              self.counts[drop:], self.rate_counts[drop:],
                              self.values[:, drop:])

    def series(self, method):
        """``(timestamps int64, values)`` of the buckets where ``method`` has a value."""
        spec = policy_mod.parse_method(method)
        row = self.methods.index(spec.name)
        present = (self.rate_counts if spec.rate else self.counts) >= spec.min_count
        return self.timestamps[present], self.values[row, present]


def compute_table(timestamps, values, granularity_ns, specs, previous_value=None):
    """The AggregateTable of a sorted, unique raw series, for the parsed methods ``specs``.

    ``previous_value`` is the raw value just before ``timestamps[0]`` (None when the series
    starts there): it gives the first measure its rate.
    """
    buckets = Buckets.of(timestamps, granularity_ns)
    table = numpy.full((len(specs), len(buckets)), numpy.nan)
    cache = {}
    for row, spec in enumerate(specs):
        if not spec.rate:
            table[row] = reduce_buckets(values, buckets, spec, cache)
    rate_counts = numpy.zeros(len(buckets), dtype=numpy.int64)
    rate_rows = [(row, spec) for row, spec in enumerate(specs) if spec.rate]
    if rate_rows and len(timestamps):
        if previous_value is None:
            rate_ts, rates = timestamps[1:], numpy.diff(values)
        else:
            rate_ts = timestamps
            rates = numpy.diff(values, prepend=previous_value)
        rate_buckets = Buckets.of(rate_ts, granularity_ns)
        where = numpy.searchsorted(buckets.keys, rate_buckets.keys)
        rate_counts[where] = rate_buckets.counts
        rate_cache = {}
        for row, spec in rate_rows:
            table[row, where] = reduce_buckets(rates, rate_buckets, spec, rate_cache)
    return AggregateTable(granularity_ns, tuple(s.name for s in specs), buckets.keys,
                          buckets.counts, rate_counts, table)


def _as_ns(timestamps):
    timestamps = numpy.asarray(timestamps)
    if timestamps.dtype.kind == 'M':
        return timestamps.astype('datetime64[ns]').view(numpy.int64)
    return timestamps.astype(numpy.int64, copy=False)


def resample(timestamps, values, granularity, method):
    """Aggregates regrouped into coarser buckets, on read (Gnocchi's ``resample``).

    ``granularity`` is a duration or a calendar period (``Y``, ``H``, ``Q``, ``M``, ``W``).
    ``method`` is applied to the aggregates themselves: ``mean`` of means, ``count`` of
    points, ``std`` needs two points. For ``rate:<m>`` series ``m`` is applied to the stored
    rates (Gnocchi would difference them once more). Returns ``(datetime64[ns], float64)``.
    """
    spec = policy_mod.parse_method(method)
    ns = _as_ns(timestamps)
    values = numpy.asarray(values, dtype=numpy.float64)
    if not calendar.is_period(granularity):
        granularity = policy_mod.duration_ns(granularity)
    buckets = Buckets.of(ns, granularity)
    result = reduce_buckets(values, buckets, spec)
    present = buckets.counts >= spec.min_count
    return buckets.keys[present].view('datetime64[ns]'), result[present]


def resample_between(timestamps, values, granularity, method, start=None, stop=None):
    """``resample`` of the whole series, then its buckets from the one holding ``start``
    on and before ``stop`` (int ns; either may be None), as Gnocchi reads a resampled
    metric: the first bucket is not cut short by ``start``."""
    stamps, values = resample(timestamps, values, granularity, method)
    if not calendar.is_period(granularity):
        granularity = policy_mod.duration_ns(granularity)
    keys = stamps.view(numpy.int64)
    first = 0 if start is None else numpy.searchsorted(
        keys, calendar.floor([start], granularity)[0])
    end = len(keys) if stop is None else numpy.searchsorted(keys, stop)
    return stamps[first:end], values[first:end]
