"""Many metrics of one archive policy updated together: what a processor does with a sack.

Pure numpy, no I/O. ``add_measures_many`` gives exactly (bit for bit) what
``MetricState.add_measures`` gives each metric alone, but does the work of every step once
for all the metrics, on their measures laid end to end (each metric a run, in metric
order), instead of dozens of numpy calls on one- to three-element arrays per metric: the
back window, the last write winning, the merge with the stored raw measures, every bucket
of every method at every granularity. Only splicing each metric's fresh buckets into its
tables is left per metric.
"""

import numpy

from telewatch.archive import aggregation
from telewatch.archive import state as state_mod

_EMPTY_I8 = numpy.empty(0, dtype=numpy.int64)
_EMPTY_F8 = numpy.empty(0, dtype=numpy.float64)


def add_measures_many(policy, states, batches):
    """``[AddResult]`` of ``states[i].add_measures(policy, *batches[i])`` for every i.

    ``batches`` are ``(int64 ns timestamps, float64 values)`` pairs (InvalidMeasures, as
    ``normalise_measures`` raises it, names the first bad measure of a metric).
    """
    for state in states:
        state.check_policy(policy)
    batches = [_checked(*batch) for batch in batches]
    lengths = numpy.fromiter((len(b[0]) for b in batches), numpy.int64, len(batches))
    owner = numpy.repeat(numpy.arange(len(batches)), lengths)
    stamps = _concat([b[0] for b in batches], _EMPTY_I8)
    values = _concat([b[1] for b in batches], _EMPTY_F8)
    if len(stamps) and ((stamps < 0).any() or not numpy.isfinite(values).all()):
        for batch in batches:  # normalise_measures' error, for the first metric with one
            state_mod.normalise_measures(*batch)
    late = _late(policy, states, stamps, owner)
    results = _rejections(states, stamps, values, owner, late)
    kept = ~late if late is not None else slice(None)
    stamps, values, owner = stamps[kept], values[kept], owner[kept]
    accepted = numpy.bincount(owner, minlength=len(states))
    stamps, values, owner, repeated = _last_write_wins(stamps, values, owner, len(states))
    busy = numpy.flatnonzero(accepted)
    if len(busy):
        merged = _Merged(policy, [states[i] for i in busy], stamps, values,
                         numpy.searchsorted(busy, owner))
        for k, i in enumerate(busy):
            rejected_ts, rejected_values = results[i]
            results[i] = state_mod.AddResult(
                merged.state(k), int(accepted[i]), int(repeated[i]) + int(merged.replaced[k]),
                rejected_ts, rejected_values)
    for i in numpy.flatnonzero(accepted == 0):
        rejected_ts, rejected_values = results[i]
        results[i] = state_mod.AddResult(states[i], 0, 0, rejected_ts, rejected_values)
    return results


def _checked(stamps, values):
    if (type(stamps) is not numpy.ndarray or stamps.dtype != numpy.int64
            or type(values) is not numpy.ndarray or values.dtype != numpy.float64
            or stamps.shape != values.shape or stamps.ndim != 1):
        return state_mod.normalise_measures(stamps, values)
    return stamps, values


def _concat(arrays, empty):
    return numpy.concatenate(arrays) if arrays else empty


def _late(policy, states, stamps, owner):
    """The measures older than their metric's cutoff (None when none is)."""
    if not len(stamps):
        return None
    last = numpy.fromiter(
        (s.raw_timestamps[-1] if len(s.raw_timestamps) else -1 for s in states),
        numpy.int64, len(states))
    block = policy.max_granularity_ns
    cutoff = last - last % block - policy.effective_back_window * block
    cutoff[last < 0] = numpy.iinfo(numpy.int64).min
    late = stamps < cutoff[owner]
    return late if late.any() else None


def _rejections(states, stamps, values, owner, late):
    """Per metric, its rejected ``(datetime64 timestamps, values)`` in input order."""
    empty = (_EMPTY_I8.view('datetime64[ns]'), _EMPTY_F8)
    results = [empty] * len(states)
    if late is None:
        return results
    where = numpy.flatnonzero(late)
    for i in numpy.unique(owner[where]):
        mine = where[owner[where] == i]
        results[i] = (stamps[mine].view('datetime64[ns]'), values[mine])
    return results


def _last_write_wins(stamps, values, owner, metrics):
    """Sorted by metric then time, one value per (metric, timestamp), the last in input
    order; and how many each metric lost."""
    order = numpy.lexsort((stamps, owner))  # stable: equal timestamps keep input order
    stamps, values, owner = stamps[order], values[order], owner[order]
    repeated = (stamps[1:] == stamps[:-1]) & (owner[1:] == owner[:-1])
    if not repeated.any():
        return stamps, values, owner, numpy.zeros(metrics, dtype=numpy.int64)
    keep = numpy.append(~repeated, True)
    lost = numpy.bincount(owner[:-1][repeated], minlength=metrics)
    return stamps[keep], values[keep], owner[keep], lost


class _Merged:
    """The raw measures of the metrics that accepted some, merged with their new ones
    (the new winning a timestamp both have), end to end; and each metric's new state."""

    def __init__(self, policy, states, stamps, values, owner):
        self.policy = policy
        self.states = states
        count = len(states)
        # Sorted by metric then time: a metric's first new measure starts its run.
        self.first_new = stamps[numpy.searchsorted(owner, numpy.arange(count))]
        raw_lengths = numpy.fromiter((len(s.raw_timestamps) for s in states), numpy.int64,
                                     count)
        all_ts = numpy.concatenate([s.raw_timestamps for s in states] + [stamps])
        all_values = numpy.concatenate([s.raw_values for s in states] + [values])
        all_owner = numpy.concatenate((numpy.repeat(numpy.arange(count), raw_lengths), owner))
        source = numpy.repeat((0, 1), (len(all_ts) - len(stamps), len(stamps)))
        order = numpy.lexsort((source, all_ts, all_owner))
        all_ts, all_values, all_owner = all_ts[order], all_values[order], all_owner[order]
        replaced = (all_ts[1:] == all_ts[:-1]) & (all_owner[1:] == all_owner[:-1])
        self.replaced = numpy.bincount(all_owner[:-1][replaced], minlength=count)
        keep = numpy.append(~replaced, True)
        self.ts, self.values, self.owner = all_ts[keep], all_values[keep], all_owner[keep]
        self.ends = numpy.cumsum(numpy.bincount(self.owner, minlength=count))
        self.starts = self.ends - numpy.bincount(self.owner, minlength=count)
        self.tables = [_FreshTables(self, g) for g in policy.granularities]
        self.keep_from = self._keep_from()

    def _keep_from(self):
        """Index in the merged arrays of each metric's first raw measure to keep."""
        last = self.ts[self.ends - 1]
        block = self.policy.max_granularity_ns
        cutoff = last - last % block - self.policy.effective_back_window * block
        oldest = numpy.min([cutoff - cutoff % g for g in self.policy.granularities], axis=0)
        before = numpy.bincount(self.owner, weights=self.ts < oldest[self.owner],
                                minlength=len(self.states)).astype(numpy.int64)
        return self.starts + numpy.maximum(before - 1, 0)

    def state(self, k):
        """The new MetricState of the k-th metric."""
        start, end = int(self.keep_from[k]), int(self.ends[k])
        tables = tuple(fresh.table_of(k, table)
                       for fresh, table in zip(self.tables, self.states[k].tables))
        return state_mod.MetricState(self.ts[start:end], self.values[start:end], tables)


class _FreshTables:
    """The buckets of one granularity recomputed for every metric: from the bucket of its
    first new measure on (``_update_table``'s, for all the metrics at once)."""

    def __init__(self, merged, g):
        self.g = g
        self.points = merged.policy.points_of(g)
        specs = merged.policy.method_specs
        self.start = merged.first_new - merged.first_new % g
        fresh = merged.ts >= self.start[merged.owner]
        ts, values, owner = merged.ts[fresh], merged.values[fresh], merged.owner[fresh]
        keys = ts - ts % g
        buckets = _runs(keys, owner)
        self.keys, self.counts = keys[buckets.starts], buckets.counts
        bucket_owner = owner[buckets.starts]
        self.ends = numpy.cumsum(numpy.bincount(bucket_owner, minlength=len(merged.states)))
        self.first = self.ends - numpy.bincount(bucket_owner, minlength=len(merged.states))
        self.values = numpy.full((len(specs), len(buckets)), numpy.nan)
        cache = {}
        for row, spec in enumerate(specs):
            if not spec.rate:
                self.values[row] = aggregation.reduce_buckets(values, buckets, spec, cache)
        self.rate_counts = numpy.zeros(len(buckets), dtype=numpy.int64)
        if merged.policy.has_rate and len(ts):
            self._rates(merged, fresh, buckets, specs)

    def _rates(self, merged, fresh, buckets, specs):
        # A rate is a measure minus the one before it of the same metric (the raw measure
        # before the fresh ones included: _update_table's ``previous``).
        has_previous = numpy.append(False, merged.owner[1:] == merged.owner[:-1])
        rates = numpy.diff(merged.values, prepend=0.0)
        rated = fresh & has_previous
        bucket_of = numpy.repeat(numpy.arange(len(buckets)), buckets.counts)
        rate_bucket = bucket_of[rated[fresh]]
        rates = rates[rated]
        rate_buckets = _runs(rate_bucket, rate_bucket)
        where = rate_bucket[rate_buckets.starts]
        self.rate_counts[where] = rate_buckets.counts
        cache = {}
        for row, spec in enumerate(specs):
            if spec.rate:
                self.values[row, where] = aggregation.reduce_buckets(rates, rate_buckets,
                                                                     spec, cache)

    def table_of(self, k, table):
        """The k-th metric's ``table`` with its fresh buckets spliced in, truncated (what
        ``splice`` then ``truncate`` give, in one go: positions found with plain ints, as
        the fresh buckets most often start at or after the last stored one)."""
        first, end = int(self.first[k]), int(self.ends[k])
        keys = self.keys[first:end]
        keep = _before(table.timestamps, int(self.start[k]))
        drop = 0
        if self.points is not None:
            oldest = int(keys[-1]) - (self.points - 1) * self.g
            drop = min(_before(table.timestamps[:keep], oldest), keep)
        if keep - drop == 0:
            skip = _before(keys, oldest) if self.points is not None else 0
            return aggregation.AggregateTable(
                self.g, table.methods, keys[skip:], self.counts[first + skip:end],
                self.rate_counts[first + skip:end], self.values[:, first + skip:end])
        return aggregation.AggregateTable(
            self.g, table.methods,
            numpy.concatenate((table.timestamps[drop:keep], keys)),
            numpy.concatenate((table.counts[drop:keep], self.counts[first:end])),
            numpy.concatenate((table.rate_counts[drop:keep], self.rate_counts[first:end])),
            numpy.concatenate((table.values[:, drop:keep], self.values[:, first:end]),
                              axis=1))


def _before(sorted_keys, key):
    """How many of ``sorted_keys`` are below ``key`` (searchsorted, without its cost when
    all or all but the last are)."""
    n = len(sorted_keys)
    if not n or int(sorted_keys[-1]) < key:
        return n
    if n == 1 or int(sorted_keys[-2]) < key:
        return n - 1
    if int(sorted_keys[0]) >= key:
        return 0
    return int(sorted_keys.searchsorted(key))


def _runs(keys, owner):
    """The Buckets of runs of equal ``(owner, key)`` in arrays sorted by both."""
    if not len(keys):
        return aggregation.Buckets(_EMPTY_I8, _EMPTY_I8, _EMPTY_I8)
    change = (keys[1:] != keys[:-1]) | (owner[1:] != owner[:-1])
    starts = numpy.concatenate(([0], numpy.flatnonzero(change) + 1))
    counts = numpy.diff(numpy.append(starts, len(keys)))
    return aggregation.Buckets(keys[starts], starts, counts)
