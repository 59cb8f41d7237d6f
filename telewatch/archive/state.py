"""The state the archive keeps per metric, and how a batch of measures updates it.

A ``MetricState`` holds two things (see ``MetricState``): the raw measures that a later,
late batch could still change the buckets of, and the finished aggregates of every
granularity. Updating recomputes, from the raw measures, only the buckets a batch touches;
so every method (mean, std, median, percentiles, rates) gets exactly the value that
aggregating the whole accepted series at once would give, as Gnocchi's metricd does.
"""

import dataclasses
import datetime

import numpy

from telewatch.archive import aggregation
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod

_EMPTY_I8 = numpy.empty(0, dtype=numpy.int64)
_EMPTY_F8 = numpy.empty(0, dtype=numpy.float64)


def normalise_measures(timestamps, values):
    """``(int64 ns, float64)`` arrays of a batch; InvalidMeasures naming the first bad one.

    Timestamps are ``datetime64`` (any unit) or integer nanoseconds since the epoch, never
    before it; values must be finite numbers.
    """
    stamps = numpy.asarray(timestamps)
    if stamps.ndim != 1:
        raise errors.InvalidMeasures('timestamps must be a one-dimensional array')
    if stamps.dtype.kind == 'M':
        nat = numpy.isnat(stamps)
        if nat.any():
            raise errors.InvalidMeasures('timestamp is NaT', int(numpy.argmax(nat)))
        stamps = stamps.astype('datetime64[ns]', copy=False).view(numpy.int64)
    elif stamps.dtype.kind in 'iu' or not len(stamps):
        stamps = stamps.astype(numpy.int64, copy=False)
    else:
        raise errors.InvalidMeasures('timestamps must be datetime64 or integer nanoseconds')
    try:
        values = numpy.asarray(values, dtype=numpy.float64)
    except (TypeError, ValueError):
        raise errors.InvalidMeasures('values must be numbers') from None
    if values.shape != stamps.shape:
        raise errors.InvalidMeasures('%d timestamps but %s values'
                                     % (len(stamps), values.shape[0] if values.ndim else 1))
    for bad, reason in ((stamps < 0, 'timestamp is before the epoch'),
                        (~numpy.isfinite(values), 'value is not a finite number')):
        if bad.any():
            raise errors.InvalidMeasures(reason, int(numpy.argmax(bad)))
    return stamps, values


def timestamp_ns(value):
    """Nanoseconds since the epoch of a datetime64, an int (ns) or a datetime (naive = UTC)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        value = numpy.datetime64(value)
    if isinstance(value, numpy.datetime64):
        return int(value.astype('datetime64[ns]').astype(numpy.int64))
    if isinstance(value, (int, numpy.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError('not a timestamp: %r' % (value,))


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare explicitly
class AddResult:
    """What ``MetricState.add_measures`` did with a batch.

    ``accepted`` measures were merged (``superseded`` of them, or of the stored raw ones,
    were replaced by a later write for the same timestamp); the ``rejected_*`` measures were
    older than the back window allows, in input order, and changed nothing.
    """

    state: 'MetricState'
    accepted: int
    superseded: int
    rejected_timestamps: numpy.ndarray
    rejected_values: numpy.ndarray

    @property
    def rejected(self):
        return len(self.rejected_timestamps)


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare explicitly
class MetricState:
    """Everything the archive stores for one metric; immutable, updates return a new one.

    ``raw_timestamps`` / ``raw_values``
        The accepted raw measures (int64 ns, sorted, one value per timestamp, the last
        write winning) from ``keep_from`` on, plus the one measure just before it.
        ``keep_from`` is the floor, to every granularity, of the oldest timestamp the next
        batch may bring (``cutoff_ns``): every bucket a later batch can touch still has all
        its raw measures here, and the measure before them gives the first one its rate.
        Gnocchi's unaggregated buffer, kept to the same window.
    ``tables``
        One ``AggregateTable`` per granularity (ascending): every method's value per bucket,
        with the counts that say which methods have a value there, truncated to the policy's
        ``points`` relative to the newest bucket (never, for an item without ``points``).
    """

    raw_timestamps: numpy.ndarray
    raw_values: numpy.ndarray
    tables: tuple

    @classmethod
    def new(cls, policy):
        return cls(_EMPTY_I8, _EMPTY_F8, tuple(
            aggregation.AggregateTable.empty(g, policy.methods) for g in policy.granularities))

    @property
    def methods(self):
        return self.tables[0].methods

    @property
    def granularities(self):
        return tuple(t.granularity_ns for t in self.tables)

    def check_policy(self, policy):
        """PolicyMismatch unless the state has the policy's granularities and methods.

        Only ``points`` may change in a policy (as in Gnocchi): the next update applies it.
        """
        if self.granularities != policy.granularities:
            raise errors.PolicyMismatch('granularities', self.granularities,
                                        policy.granularities)
        if self.methods != policy.methods:
            raise errors.PolicyMismatch('aggregation_methods', self.methods, policy.methods)

    def cutoff_ns(self, policy):
        """Oldest timestamp the next batch may bring; None while nothing is stored.

        ``floor(last, gmax) - back_window * gmax`` with gmax the largest granularity and one
        more block when a ``rate:`` method is present (Gnocchi's rule).
        """
        if not len(self.raw_timestamps):
            return None
        return _cutoff(policy, int(self.raw_timestamps[-1]))

    def add_measures(self, policy, timestamps, values):
        """Merge a batch (any order, duplicates allowed) and return an ``AddResult``.

        Measures older than ``cutoff_ns`` are rejected and returned, never dropped
        silently (Gnocchi drops them). A timestamp's last write wins, within the batch and
        over the stored raw measures.
        """
        self.check_policy(policy)
        stamps, values = normalise_measures(timestamps, values)
        rejected_ts, rejected_values = _EMPTY_I8, _EMPTY_F8
        cutoff = self.cutoff_ns(policy)
        if cutoff is not None and len(stamps) and stamps.min() < cutoff:
            late = stamps < cutoff
            rejected_ts, rejected_values = stamps[late], values[late]
            stamps, values = stamps[~late], values[~late]
        accepted = len(stamps)
        state, superseded = self, 0
        if accepted:
            stamps, values, superseded = _last_write_wins(stamps, values)
            state, replaced = self._merged(policy, stamps, values)
            superseded += replaced
        return AddResult(state, accepted, superseded,
                         rejected_ts.view('datetime64[ns]'), rejected_values)

    def _merged(self, policy, stamps, values):
        raw_ts, raw_values, replaced = _merge_raw(self.raw_timestamps, self.raw_values,
                                                  stamps, values)
        first = int(stamps[0])
        tables = tuple(_update_table(table, policy, raw_ts, raw_values, first)
                       for table in self.tables)
        keep = _keep_index(policy, raw_ts)
        return MetricState(raw_ts[keep:], raw_values[keep:], tables), replaced

    def table(self, granularity):
        """The AggregateTable of a granularity (a duration); NoSuchAggregation if none."""
        g = policy_mod.duration_ns(granularity)
        for table in self.tables:
            if table.granularity_ns == g:
                return table
        raise errors.NoSuchAggregation(granularity=g)

    def series(self, granularity, method, start=None, stop=None):
        """``(datetime64[ns], float64)`` aggregates of one granularity and method.

        ``start`` is floored to the granularity and inclusive, ``stop`` exclusive (Gnocchi).
        """
        return table_series(self.table(granularity), method, start, stop)


def table_series(table, method, start=None, stop=None):
    """``MetricState.series`` of one AggregateTable (NoSuchAggregation for a method it
    lacks)."""
    name = policy_mod.parse_method(method).name
    if name not in table.methods:
        raise errors.NoSuchAggregation(method=name)
    stamps, values = table.series(name)
    first, end = 0, len(stamps)
    if start is not None:
        start = timestamp_ns(start)
        first = numpy.searchsorted(stamps, start - start % table.granularity_ns)
    if stop is not None:
        end = numpy.searchsorted(stamps, timestamp_ns(stop))
    return stamps[first:end].view('datetime64[ns]'), values[first:end]


def _cutoff(policy, last):
    block = policy.max_granularity_ns
    return last - last % block - policy.effective_back_window * block


def _last_write_wins(stamps, values):
    """Sorted, one value per timestamp (the last in input order), and how many lost."""
    steps = numpy.diff(stamps)
    if (steps < 0).any():
        order = numpy.argsort(stamps, kind='stable')
        stamps, values = stamps[order], values[order]
        steps = numpy.diff(stamps)
    repeated = steps == 0
    if not repeated.any():
        return stamps, values, 0
    keep = numpy.append(~repeated, True)
    return stamps[keep], values[keep], int(repeated.sum())


def _merge_raw(raw_ts, raw_values, stamps, values):
    """The stored raw series with a sorted, unique batch merged in (the batch wins)."""
    if not len(raw_ts) or stamps[0] > raw_ts[-1]:
        return (numpy.concatenate((raw_ts, stamps)), numpy.concatenate((raw_values, values)),
                0)
    split = int(numpy.searchsorted(raw_ts, stamps[0]))
    merged_ts = numpy.concatenate((raw_ts[split:], stamps))
    merged_values = numpy.concatenate((raw_values[split:], values))
    order = numpy.argsort(merged_ts, kind='stable')
    merged_ts, merged_values = merged_ts[order], merged_values[order]
    keep = numpy.append(merged_ts[1:] != merged_ts[:-1], True)
    return (numpy.concatenate((raw_ts[:split], merged_ts[keep])),
            numpy.concatenate((raw_values[:split], merged_values[keep])),
            len(keep) - int(keep.sum()))


def _update_table(table, policy, raw_ts, raw_values, first_new):
    """Recompute the buckets from the one holding ``first_new`` on, keep ``points`` (all
    of them when the item has none)."""
    g = table.granularity_ns
    start = first_new - first_new % g
    index = int(numpy.searchsorted(raw_ts, start))
    previous = raw_values[index - 1] if index else None
    fresh = aggregation.compute_table(raw_ts[index:], raw_values[index:], g,
                                      policy.method_specs, previous)
    return table.splice(start, fresh).truncate(policy.points_of(g))


def _keep_index(policy, raw_ts):
    """Index of the first raw measure to keep: the one before ``keep_from``."""
    cutoff = _cutoff(policy, int(raw_ts[-1]))
    keep_from = min(cutoff - cutoff % g for g in policy.granularities)
    return max(int(numpy.searchsorted(raw_ts, keep_from)) - 1, 0)
