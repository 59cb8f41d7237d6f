"""The series an operations tree reads, put on one grid per granularity, as Gnocchi does:
granularity selection, start/stop clipping, alignment on the union of timestamps, fill, and
the overlap check when there is no fill.
"""

import collections
import collections.abc
import dataclasses

import numpy

from telewatch.archive.aggregates import errors
from telewatch.archive.aggregates import evaluator

FILLS = ('null', 'dropna', 'ffill', 'bfill', 'full_ffill', 'full_bfill')
# Fills after which NaN and infinite results are left out of the output.
DROPPING_FILLS = frozenset(FILLS) - {'null'}

Match = collections.namedtuple('Match', 'resource_id metric_name granularities')
Match.__doc__ = """One metric of a resource found for a reference of a resource search:
``granularities`` is ``{granularity_ns: (timestamps, values)}`` as for a metric reference."""


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare explicitly
class Column:
    """One series: ``lookup`` is its ``(reference, aggregation)`` in the operations,
    ``path`` its keys in the output, ``label`` its ``(name, aggregation)`` in errors."""

    lookup: tuple
    path: tuple
    label: tuple
    granularities: dict


def columns_of(refs, series):
    """The Columns of ``refs`` (from ``references(tree)``) given the caller's ``series``.

    A reference mapped to ``{granularity_ns: (timestamps, values)}`` is one metric
    (output ``{reference: {aggregation: ...}}``); one mapped to a list of Match is a
    resource search (output ``{resource_id: {metric_name: {aggregation: ...}}}``), its
    columns ordered by resource (first seen first), then reference, as Gnocchi's.
    """
    single, found = [], []
    for index, ref in enumerate(refs):
        if ref not in series:
            raise KeyError('no series given for reference %r' % (ref,))
        given = series[ref]
        if isinstance(given, collections.abc.Mapping):
            single.append(Column(tuple(ref), tuple(ref), tuple(ref), _normalised(given)))
        else:
            found.extend((index, match) for match in given)
    if single and found:
        raise ValueError('series mix metric references and resource search matches')
    return single or _search_columns(refs, found)


def _search_columns(refs, found):
    rank = {}
    for _, match in found:
        rank.setdefault(match.resource_id, len(rank))
    ordered = sorted(found, key=lambda item: (rank[item[1].resource_id], item[0]))
    return [Column(tuple(refs[index]), (m.resource_id, m.metric_name, refs[index][1]),
                   (m.metric_name, refs[index][1]), _normalised(m.granularities))
            for index, m in ordered]


def _normalised(granularities):
    result = {}
    for granularity, (stamps, values) in granularities.items():
        stamps = numpy.asarray(stamps)
        if stamps.dtype.kind == 'M':
            stamps = stamps.astype('datetime64[ns]').view(numpy.int64)
        stamps = stamps.astype(numpy.int64, copy=False)
        values = numpy.asarray(values, dtype=numpy.float64)
        if stamps.shape != values.shape:
            raise ValueError('%d timestamps but %d values' % (len(stamps), len(values)))
        result[int(granularity)] = (stamps, values)
    return result


def select_granularities(columns, granularity_ns=None):
    """Granularities to compute, coarsest first: the one asked for (every series must have
    it) or those every series has; MetricsCannotBeAggregated otherwise."""
    if granularity_ns is not None:
        missing = [list(c.label) + [granularity_ns / 1e9] for c in columns
                   if granularity_ns not in c.granularities]
        if missing:
            raise errors.GranularitiesMissing(missing)
        return [granularity_ns]
    common = set.intersection(*(set(c.granularities) for c in columns)) if columns else ()
    if not common:
        raise errors.NoGranularityMatch([c.label for c in columns])
    return sorted(common, reverse=True)


def aligned(columns, granularity_ns, start=None, stop=None, fill=None, needed_overlap=100.0):
    """The ``evaluator.Frame`` of every column at one granularity.

    ``start`` is floored to the granularity and inclusive, ``stop`` exclusive (int ns).
    Without ``fill`` the overlap check applies (and trims to the overlapping span the
    bounds not given); with it, missing points are the number, or NaN for the named fills,
    propagated for ``ffill``/``bfill``/``full_*``.
    """
    parts = [_clipped(c.granularities[granularity_ns], granularity_ns, start, stop)
             for c in columns]
    stamps = _union([p[0] for p in parts])
    filler = numpy.nan if fill is None or fill in FILLS else float(fill)
    matrix = numpy.full((len(stamps), len(parts)), filler)
    for column, (part_stamps, values) in enumerate(parts):
        matrix[numpy.searchsorted(stamps, part_stamps), column] = values
    matrix = _filled(matrix, fill)
    if fill is None:
        lookups = [list(c.lookup) for c in columns]
        stamps, matrix = _overlapping(stamps, matrix, start, stop, needed_overlap, lookups)
    return evaluator.Frame(granularity_ns, stamps, matrix)


def _union(stamps):
    if not stamps:
        return numpy.empty(0, dtype=numpy.int64)
    if all(numpy.array_equal(s, stamps[0]) for s in stamps[1:]):
        return stamps[0]  # the usual case: series of one policy, all up to date
    return numpy.unique(numpy.concatenate(stamps))


def _clipped(part, granularity_ns, start, stop):
    stamps, values = part
    first, end = 0, len(stamps)
    if start is not None:
        first = numpy.searchsorted(stamps, start - start % granularity_ns)
    if stop is not None:
        end = numpy.searchsorted(stamps, stop)
    return stamps[first:end], values[first:end]


def _forward(matrix):
    index = numpy.where(numpy.isnan(matrix), 0, numpy.arange(len(matrix))[:, None])
    numpy.maximum.accumulate(index, axis=0, out=index)
    return numpy.take_along_axis(matrix, index, axis=0)


def _backward(matrix):
    return _forward(matrix[::-1])[::-1]


def _filled(matrix, fill):
    """Edge points with nothing to copy stay NaN (left out of the output afterwards)."""
    steps = {'ffill': (_forward,), 'bfill': (_backward,),
             'full_ffill': (_forward, _backward), 'full_bfill': (_backward, _forward)}
    for step in steps.get(fill, ()) if len(matrix) else ():
        matrix = step(matrix)
    return matrix


def _overlapping(stamps, matrix, start, stop, needed, lookups):
    overlap = numpy.flatnonzero(~numpy.isnan(matrix).any(axis=1))
    if not overlap.size and needed > 0:
        raise errors.NoOverlap(lookups)
    if not stamps.size:
        return stamps, matrix
    if overlap.size:
        last = overlap[-1] + 1 if stop is None else len(stamps)
        first = overlap[0] if start is None else 0
        stamps, matrix = stamps[first:last], matrix[first:last]
    percent = overlap.size * 100.0 / stamps.size
    if percent < needed:
        raise errors.NotEnoughOverlap(needed, percent, lookups)
    return stamps, matrix
