"""The datapoints of many alarms read through the archive's door in one batched read
(``ArchiveStore.many_series``), shaped as the engine takes them: ``(timestamp s,
granularity s, value)``. Metrics aggregated across (Aodh's aggregation rules) go through
the archive's operations language, as Aodh asks Gnocchi's ``/v1/aggregates``.
"""

import bisect
import datetime

from telewatch.archive import aggregates
from telewatch.archive import errors as archive_errors
from telewatch.alarms.evaluator import sources

_NS = 1e9


def series(stamps, values, granularity):
    """One series as read, ``(stamps, values, points)``: the datetime64[ns] and float
    arrays, and the engine's datapoints of them (``(timestamp s, granularity s, value)``).
    Tuples all through: the collector stops looking at them once it saw they hold no
    container, and thousands are kept for long."""
    return stamps, values, tuple([(stamp / _NS, granularity, value) for stamp, value in zip(
        stamps.view('int64').tolist(), values.tolist())])


def _since(found, first):
    """A series from the bucket starting at ``first`` (ns) on."""
    stamps, values, points = found
    # (t,) sorts before (t, granularity, value), and t / 1e9 keeps the order of the stamps
    # (whole buckets apart): the cut is the one the archive makes.
    cut = bisect.bisect_left(points, (first / _NS,))
    return (stamps[cut:], values[cut:], points[cut:]) if cut else found


class Recent:
    """The series last read of each (metric id, granularity s, method), from the first
    bucket read on: an evaluation reads again only what was aggregated since (``forget``,
    fed by the archive's "metrics aggregated" stream) or a window starting earlier."""

    def __init__(self):
        self._series = {}  # (metric id, granularity, method) -> (first bucket ns, series)
        self._keys = {}  # metric id -> (its keys in _series)

    def get(self, metric_id, granularity, method, first):
        kept = self._series.get((metric_id, granularity, method))
        if kept is None or kept[0] > first:
            return None
        return _since(kept[1], first)

    def keep(self, metric_id, granularity, method, first, found):
        key = (metric_id, granularity, method)
        if key not in self._series:
            self._keys[metric_id] = self._keys.get(metric_id, ()) + (key,)
        self._series[key] = (first, found)

    def forget(self, metric_ids):
        for metric_id in metric_ids:
            for key in self._keys.pop(metric_id, ()):
                self._series.pop(key, None)  # (a derived entry is under each of its metrics)

    def derived(self, key):
        """What a reader kept under ``key`` (``keep_derived``), None when one of its metrics
        was aggregated since."""
        kept = self._series.get(('derived', key))
        return None if kept is None else kept[1]

    def keep_derived(self, key, metric_ids, value):
        """Keep ``value`` (what a reader made of the series of ``metric_ids``) until one of
        them is aggregated again."""
        key = ('derived', key)
        for metric_id in metric_ids:
            keys = self._keys.get(metric_id, ())
            if key not in keys:
                self._keys[metric_id] = keys + (key,)
        self._series[key] = (None, value)

    def clear(self):
        self._series.clear()
        self._keys.clear()

    def __len__(self):
        return len(self._series)


def _read_own(plans, archive, now, lag, recent):
    """What the plans that bring their own reader (CloudWatch's alarms) read, and the other
    plans."""
    out = {}
    for reader in {plan.reader for plan in plans if plan.reader is not None}:
        out.update(reader([plan for plan in plans if plan.reader is reader], archive, now, lag,
                          recent))
    return out, [plan for plan in plans if plan.reader is None]


def read(plans, archive, now, lag=0, recent=None):
    """``{alarm id: [datapoints of each leaf] or sources.Unreadable}`` of ``plans`` at
    ``now`` (seconds since the epoch), what ``recent`` (a Recent) holds taken from it and
    what was read kept in it; StorageUnavailable when the archive cannot be reached at all
    (nothing can be said of any alarm then)."""
    recent = Recent() if recent is None else recent
    out, plans = _read_own(plans, archive, now, lag, recent)
    found, wanted = {}, {}
    keys = _keys(plans, now, lag, recent, found, wanted)
    for key, got in (archive.many_series(wanted) if wanted else {}).items():
        if not isinstance(got, archive_errors.ArchiveError):
            got = series(got[0], got[1], key[1])
            recent.keep(*key, got)
        found[key] = got
    for plan in plans:
        try:
            out[plan.alarm_id] = [_datapoints(leaf, keys[id(leaf)], found)
                                  for leaf in plan.leaves]
        except sources.Unreadable as exc:
            out[plan.alarm_id] = exc
    return out


def _keys(plans, now, lag, recent, found, wanted):
    """``{id(leaf): [(metric id, granularity, method, first bucket ns)]}`` of the plans'
    leaves; what ``recent`` holds of them put in ``found``, the rest in ``wanted`` (what
    ``many_series`` takes)."""
    keys, firsts = {}, {}
    for plan in plans:
        for leaf in plan.leaves:
            if id(leaf) in keys:  # (hashing a leaf would hash its rule and metrics)
                continue
            granularity = leaf.rule.granularity
            # The first bucket of a window, once for the leaves sharing it.
            first = firsts.get((granularity, leaf.reach))
            if first is None:
                start = int((now - (leaf.reach + lag)) * _NS)
                first = firsts[granularity, leaf.reach] = start - start % int(
                    granularity * _NS)
            # Alarms reading the same series share one read.
            keys[id(leaf)] = leaf_keys = [(metric.id, granularity, leaf.method, first)
                                          for metric in leaf.metrics]
            for metric, key in zip(leaf.metrics, leaf_keys):
                if key not in found:
                    found[key] = recent.get(*key)
                    if found[key] is None:
                        wanted[key] = (metric, granularity, leaf.method, first)
    return keys


def _datapoints(leaf, keys, found):
    if leaf.error:
        raise sources.Unreadable(leaf.error)
    if leaf.across is None:  # one metric's series as it is
        got = found[keys[0]]
        if isinstance(got, archive_errors.ArchiveError):
            raise sources.Unreadable('metric %s: %s' % (keys[0][0], got))
        return got[2]
    found_series = {}
    for key in keys:
        got = found[key]
        if isinstance(got, archive_errors.ArchiveError):
            raise sources.Unreadable('metric %s: %s' % (key[0], got))
        found_series[key[0]] = got
    return _aggregated(leaf, {metric_id: (stamps, values)
                              for metric_id, (stamps, values, _) in found_series.items()})


def _aggregated(leaf, pairs):
    """Aodh's ``(aggregate M (metric (X M') ...))`` with ``needed_overlap`` 0."""
    if not pairs:
        return []
    granularity_ns = int(leaf.rule.granularity * _NS)
    operations = '(aggregate %s (metric %s))' % (leaf.across, ' '.join(
        '(%s %s)' % (metric_id, leaf.method) for metric_id in pairs))
    given = {(metric_id, leaf.method): {granularity_ns: pair}
             for metric_id, pair in pairs.items()}
    try:
        result = aggregates.evaluate(operations, given, granularity=granularity_ns,
                                     needed_overlap=0)
    except aggregates.AggregatesError as exc:
        raise sources.Unreadable(str(exc)) from None
    return [(_seconds(stamp), granularity, value)
            for stamp, granularity, value in result['aggregated']]


def _seconds(stamp):
    moment = datetime.datetime.fromisoformat(stamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()
