"""The datapoints of many alarms read through the archive's door in one batched read
(``ArchiveStore.many_series``), shaped as the engine takes them: ``(timestamp s,
granularity s, value)``. Metrics aggregated across (Aodh's aggregation rules) go through
the archive's operations language, as Aodh asks Gnocchi's ``/v1/aggregates``.
"""

import datetime

import numpy

from telewatch.archive import aggregates
from telewatch.archive import errors as archive_errors
from telewatch.alarms.evaluator import sources

_NS = 1e9


def read(plans, archive, now, lag=0):
    """``{alarm id: [datapoints of each leaf] or sources.Unreadable}`` of ``plans`` at
    ``now`` (seconds since the epoch); StorageUnavailable when the archive cannot be
    reached at all (nothing can be said of any alarm then)."""
    out = {}
    for reader in {plan.reader for plan in plans if plan.reader is not None}:
        out.update(reader([plan for plan in plans if plan.reader is reader], archive, now, lag))
    plans = [plan for plan in plans if plan.reader is None]
    wanted, keys = {}, {}
    for plan in plans:
        for leaf in plan.leaves:
            if id(leaf) in keys:  # (hashing a leaf would hash its rule and metrics)
                continue
            rule = leaf.rule
            since = now - rule.query_window(lag)
            # Alarms reading the same series share one read.
            keys[id(leaf)] = leaf_keys = [(metric.id, rule.granularity, leaf.method, since)
                                          for metric in leaf.metrics]
            start = int(since * _NS)
            for metric, key in zip(leaf.metrics, leaf_keys):
                wanted[key] = (metric, rule.granularity, leaf.method, start)
    found = archive.many_series(wanted) if wanted else {}
    for plan in plans:
        try:
            out[plan.alarm_id] = [_datapoints(leaf, keys[id(leaf)], found)
                                  for leaf in plan.leaves]
        except sources.Unreadable as exc:
            out[plan.alarm_id] = exc
    return out


def _datapoints(leaf, keys, found):
    if leaf.error:
        raise sources.Unreadable(leaf.error)
    series = {}
    for key in keys:
        got = found[key]
        if isinstance(got, archive_errors.ArchiveError):
            raise sources.Unreadable('metric %s: %s' % (key[0], got))
        series[key[0]] = got
    if leaf.across is None:
        (stamps, values), = series.values()
        granularity = leaf.rule.granularity
        return [(stamp, granularity, value) for stamp, value in zip(
            (stamps.view(numpy.int64) / _NS).tolist(), values.tolist())]
    return _aggregated(leaf, series)


def _aggregated(leaf, series):
    """Aodh's ``(aggregate M (metric (X M') ...))`` with ``needed_overlap`` 0."""
    if not series:
        return []
    granularity_ns = int(leaf.rule.granularity * _NS)
    operations = '(aggregate %s (metric %s))' % (leaf.across, ' '.join(
        '(%s %s)' % (metric_id, leaf.method) for metric_id in series))
    given = {(metric_id, leaf.method): {granularity_ns: pair}
             for metric_id, pair in series.items()}
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
