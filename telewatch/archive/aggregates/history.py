"""Gnocchi's ``use_history`` groupby of ``/v1/aggregates``: the revisions of the resources
grouped by their attribute values then, each read over its own time span, summed by group.

Gnocchi's Grouper (gnocchi/rest/aggregates/api.py): the revisions overlapping the query's
span (``revision_filter``) are grouped by their values of the groupby attributes; each is
read from its ``revision_start`` to its ``revision_end`` (``windows``: a resource's first
revision from the query's start, unbounded without one; the last to the query's stop), its
``aggregated`` rows weighted by the share of each point's interval inside that span, and a
group's rows of the same granularity and timestamp added (``combine``): a resource whose
attributes changed within a point's interval has that point split between its two groups.
"""

import dataclasses
import itertools

import numpy

from telewatch.archive import calendar
from telewatch.archive import state as state_mod
from telewatch.archive.aggregates import engine
from telewatch.archive.aggregates import errors


@dataclasses.dataclass(frozen=True)
class Revision:
    """One revision as the grouping needs it: ``resource_id``, ``start``/``end`` (int ns,
    datetime or datetime64; ``end`` None for the current one), ``key`` (``((attribute,
    value), ...)`` of the groupby attributes) and ``item`` (the caller's own revision)."""

    resource_id: str
    start: int
    end: object
    key: tuple
    item: object = None


@dataclasses.dataclass(frozen=True)
class Window:
    """The span a revision's series are read over: ``start`` inclusive, ``stop``
    exclusive (int ns; None: unbounded)."""

    revision: Revision
    start: object
    stop: object


class NotAggregated(errors.AggregatesError):
    """Operations whose result is not one ``aggregated`` series: the revisions' rows could
    not be added (Gnocchi answers a 404, as if the metric were missing)."""

    cause = 'Invalid operations'

    def __init__(self):
        super().__init__('use_history needs operations that aggregate the metrics, such as '
                         '(aggregate mean (metric ...))', ['operations'])


@dataclasses.dataclass(frozen=True)
class Group:
    """One group of ``grouped``: ``key`` (``((attribute, value), ...)``), its ``rows``
    (``[iso8601, granularity, value]``) and ``last`` (the item of the last revision that
    had the metrics: Gnocchi's ``references`` of the group)."""

    key: tuple
    rows: list
    last: object


def grouped(tree, revisions, series, start=None, stop=None, **params):
    """The Groups (those with rows) of ``revisions`` (Revisions), each revision's rows
    the ``evaluate`` of ``tree`` over its Window, of ``series`` the Matches of its own
    resource (``{(reference, aggregation): [Match, ...]}`` of every resource); ``params``:
    ``evaluate``'s granularity, fill, needed_overlap. A revision whose resource has none of
    the metrics adds nothing; NotAggregated when the operations do not aggregate."""
    result = []
    for key, members in groups(windows(revisions, start, stop)):
        parts, last = [], None
        for window in members:
            own = {ref: [m for m in matches if m.resource_id == window.revision.resource_id]
                   for ref, matches in series.items()}
            if not any(own.values()):
                continue
            measures = engine.evaluate(tree, own, start=window.start, stop=window.stop,
                                       **params)
            if 'aggregated' not in measures:
                raise NotAggregated()
            parts.append((measures['aggregated'], window))
            last = window.revision.item
        rows = combine(parts)
        if rows:
            result.append(Group(key, rows, last))
    return result


def revision_filter(start, stop):
    """Gnocchi's query of the revisions overlapping [start, stop] (ISO 8601 strings), None
    unless both are given (then every revision is read)."""
    if start is None or stop is None:
        return None
    return {'and': [{'<': {'revision_start': stop}},
                    {'or': [{'>=': {'revision_end': start}}, {'=': {'revision_end': None}}]}]}


def windows(revisions, start=None, stop=None):
    """The Window of each revision, by resource then revision start: from the revision's
    start (a resource's first revision: from ``start``, unbounded without one) to its end
    (the current one: to ``stop``), clipped to [start, stop]."""
    result = []
    start, stop = _ns(start), _ns(stop)
    ordered = sorted(revisions, key=lambda r: (r.resource_id, _ns(r.start)))
    for _, own in itertools.groupby(ordered, key=lambda r: r.resource_id):
        for number, revision in enumerate(own):
            # Gnocchi reads a resource's first revision from the query's start: measures
            # stored before the resource was created (back-dated) count for it.
            begin = start if number == 0 else _latest(_ns(revision.start), start)
            result.append(Window(revision, begin, _earliest(_ns(revision.end), stop)))
    return result


def _ns(moment):
    return None if moment is None else state_mod.timestamp_ns(moment)


def _latest(moment, bound):
    return moment if bound is None else max(moment, bound)


def _earliest(moment, bound):
    if moment is None:
        return bound
    return moment if bound is None else min(moment, bound)


def groups(windows_):
    """``[(key, [Window, ...]), ...]``: the windows by their revision's key, the groups in
    Gnocchi's order (the values as text, None as ''), each group's windows by start."""
    def text(window):
        return tuple((name, '' if value is None else str(value))
                     for name, value in window.revision.key)
    ordered = sorted(windows_, key=text)
    result = []
    for _, members in itertools.groupby(ordered, key=text):
        members = list(members)
        members.sort(key=lambda w: (w.start is not None, w.start or 0))
        result.append((members[0].revision.key, _joined(members)))
    return result


def _joined(members):
    """Consecutive windows of one resource starting at the same moment are one (Gnocchi
    joins them: the first's span was empty, cut to the query's start)."""
    joined = []
    for window in members:
        last = joined[-1] if joined else None
        if (last is not None and last.start == window.start
                and last.revision.resource_id == window.revision.resource_id):
            joined[-1] = dataclasses.replace(last, stop=window.stop)
        else:
            joined.append(window)
    return joined


def combine(parts):
    """A group's rows from ``[(rows, Window), ...]`` (each revision's ``aggregated`` rows:
    ``[iso8601, granularity seconds (or a calendar period), value]``): each value weighted
    by the share of its point's interval inside the window, then the rows of one
    granularity and timestamp added; coarsest granularity first, then by time."""
    totals = {}
    for rows, window in parts:
        if not rows:
            continue
        stamps = numpy.array([row[0][:-6] for row in rows], dtype='datetime64[ns]')
        for row, stamp in zip(rows, stamps.view(numpy.int64).tolist()):
            value = row[2] * _share(stamp, row[1], window)
            key = (row[1], stamp)
            totals[key] = (row[0], totals[key][1] + value) if key in totals else (row[0], value)
    ordered = sorted(totals, key=lambda k: (-_seconds(k[0]), k[1]))
    return [[totals[key][0], key[0], totals[key][1]] for key in ordered]


def _seconds(granularity):
    return 0 if calendar.is_period(granularity) else granularity


def _share(stamp, granularity, window):
    """The part of the point's interval [stamp, stamp + granularity) inside the window
    (1 for a calendar period: its length varies)."""
    if calendar.is_period(granularity):
        return 1.0
    length = int(round(granularity * 1e9))
    end = stamp + length
    begin = stamp if window.start is None else max(window.start, stamp)
    finish = end if window.stop is None else min(window.stop, end)
    return (finish - begin) / length
