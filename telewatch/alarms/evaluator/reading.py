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
    wanted = {}
    for plan in plans:
        for leaf in plan.leaves:
            for metric in leaf.metrics:
                key = _key(leaf, metric, now, lag)
                wanted[key] = (metric, leaf.rule.granularity, leaf.method,
                               numpy.datetime64(int(key[3] * _NS), 'ns'))
    found = archive.many_series(wanted) if wanted else {}
    out = {}
    for plan in plans:
        try:
            out[plan.alarm_id] = [_datapoints(leaf, found, now, lag) for leaf in plan.leaves]
        except sources.Unreadable as exc:
            out[plan.alarm_id] = exc
    return out


def _key(leaf, metric, now, lag):
    # Alarms reading the same series share one read.
    return (metric.id, leaf.rule.granularity, leaf.method, now - leaf.rule.query_window(lag))


def _datapoints(leaf, found, now, lag):
    if leaf.error:
        raise sources.Unreadable(leaf.error)
    series = {}
    for metric in leaf.metrics:
        got = found[_key(leaf, metric, now, lag)]
        if isinstance(got, archive_errors.ArchiveError):
            raise sources.Unreadable('metric %s: %s' % (metric.id, got))
        series[metric.id] = got
    granularity = leaf.rule.granularity
    if leaf.across is None:
        (stamps, values), = series.values()
        return list(zip((stamps.astype(numpy.int64) / _NS).tolist(),
                        [granularity] * len(values), values.tolist()))
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
