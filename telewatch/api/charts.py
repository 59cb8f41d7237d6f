"""``Accept: image/png`` on the Gnocchi API's measures and aggregates reads (a telewatch
extension): the series the JSON would hold, drawn by ``telewatch.render``.

A controller exposes ``PNG`` beside ``json`` and calls ``wanted()``; ``size()`` is read (and
checked) before the series. A series holding several granularities is drawn at one: the one
with the most points (the finest of those), unless the query names one.
"""

import numpy
import pecan

from telewatch import render
from telewatch.api import rest

PNG = 'image/png'
DEFAULT_SIZE = (600, 400)


def wanted():
    """Whether the request negotiated a PNG (``Accept: image/png``)."""
    return pecan.request.pecan.get('content_type') == PNG


def size():
    """(width, height) of the query's ``width`` and ``height`` (1 to 2,000 pixels)."""
    params = pecan.request.GET
    out = []
    for name, default in zip(('width', 'height'), DEFAULT_SIZE):
        raw = params.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = 0
        if not 1 <= value <= render.MAX_SIZE:
            rest.invalid_input('%s must be an integer from 1 to %d' % (name, render.MAX_SIZE),
                               [name])
        out.append(value)
    return tuple(out)


def one_granularity(parts):
    """The (stamps, values) of ``[(granularity, stamps, values)]`` to draw: the one with
    the most points, the finest among equals; empty arrays for none."""
    if not parts:
        return numpy.empty(0, numpy.int64), numpy.empty(0)
    _, stamps, values = max(parts, key=lambda p: (len(p[1]), -p[0]))
    return numpy.asarray(stamps).astype('datetime64[ns]').view(numpy.int64), \
        numpy.asarray(values, dtype=numpy.float64)


def rows_series(rows):
    """[(granularity, stamps, values)] of Gnocchi's ``[[time, granularity, value]]``."""
    by_granularity = {}
    for stamp, granularity, value in rows:
        stamps, values = by_granularity.setdefault(granularity, ([], []))
        stamps.append(stamp)
        values.append(numpy.nan if value is None else value)
    out = []
    for granularity, (stamps, values) in by_granularity.items():
        parsed = rest.parse_timestamps(stamps)
        if parsed is None:
            parsed = numpy.array([rest.parse_timestamp(s) for s in stamps],
                                 dtype='datetime64[ns]')
        out.append((granularity, parsed, values))
    return out


def measures_tree(result, label=()):
    """[(label, rows)] of every list of rows in an aggregates answer (its nested dicts,
    and its groups), labelled by the keys leading to it."""
    if isinstance(result, list):
        if result and isinstance(result[0], dict) and 'group' in result[0]:
            out = []
            for group in result:
                name = ' '.join('%s=%s' % item for item in sorted(group['group'].items()))
                out.extend(measures_tree(group['measures'], label + (name,)))
            return out
        return [(label, result)]
    out = []
    for key, value in result.items():
        if key in ('references', 'group'):
            continue
        out.extend(measures_tree(value, label if key == 'measures' else label + (key,)))
    return out


def png(named_series, title=None, unit=None):
    """The PNG of ``[(label, [(granularity, stamps, values)])]`` at the query's size."""
    width, height = size()
    series = tuple(render.Series(label, *one_granularity(parts), unit=unit)
                   for label, parts in named_series)
    return render.png(render.Chart(series=series, width=width, height=height,
                                   title=title))
