"""CloudWatch's MetricWidget JSON (GetMetricWidgetImage's graph) read into GetMetricData
queries and the chart's options. Pure: no I/O; golden cases in tests/cases/cloudwatch.

``metrics`` is an array of arrays ``[Namespace, MetricName, DimName, DimValue, ...,
{options}]``, where ``"."`` repeats the item at the same place in the metric above and a
leading ``"..."`` the items of the metric above that the ones given do not replace (from its
end), or ``[{"expression": ..., "id": ..., "label": ...}]``. An error names where the
document is wrong (``/metrics/1/2``), as CloudWatch's validation messages do.
"""

import dataclasses
import datetime
import json
import math
import re

from telewatch.cloudwatch import errors

MAX_METRICS = 100
MAX_SIZE = 2000
VIEWS = ('timeSeries', 'singleValue', 'bar', 'pie')
DEFAULTS = {'stat': 'Average', 'period': 300, 'start': '-PT3H', 'end': '-PT0H',
            'width': 600, 'height': 400, 'view': 'timeSeries'}
_DURATION = re.compile(r'-P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?\Z')
_COLOR = re.compile(r'#[0-9a-fA-F]{6}\Z')
_ZONE = re.compile(r'([+-])(\d\d)(\d\d)\Z')
_FILLS = {'horizontal': ('above', 'below', 'none'), 'vertical': ('before', 'after', 'none')}


@dataclasses.dataclass
class Line:
    """A drawn line: the id of its query, its colour ('#rrggbb' or None) and y axis."""

    id: str
    color: object = None
    axis: str = 'left'


@dataclasses.dataclass
class Widget:
    """A MetricWidget read: GetMetricData ``queries``, the visible ``lines`` in order, the
    time range (aware UTC datetimes) and ``options``: the chart's other settings, named as
    ``telewatch.render.Chart``'s fields (axes and annotations as plain dicts)."""

    queries: list
    lines: list
    start: datetime.datetime
    end: datetime.datetime
    options: dict


def invalid(path, message):
    return errors.ValidationError('The MetricWidget is invalid: %s: %s' % (path or '/',
                                                                           message))


def parse(text, now):
    """The ``Widget`` of a MetricWidget text, at ``now`` (relative times); ValidationError
    saying where and why when it is not one."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise invalid('/', 'Should be valid JSON (%s)' % exc) from None
    _check(isinstance(document, dict), '', 'Should be object')
    get = document.get
    stat, period = get('stat', DEFAULTS['stat']), get('period', DEFAULTS['period'])
    _check(isinstance(stat, str), '/stat', 'Should be string')
    _check(_integer(period) and period > 0, '/period', 'Should be integer greater than 0')
    start = moment(get('start', DEFAULTS['start']), now, '/start')
    end = moment(get('end', DEFAULTS['end']), now, '/end')
    _check(start < end, '/start', 'Should be before end')
    view = get('view', DEFAULTS['view'])
    _check(view in VIEWS, '/view', 'Should be equal to one of the allowed values: %s'
           % ', '.join(VIEWS))
    if view != 'timeSeries' and get('setPeriodToTimeRange') is True:
        seconds = (end - start).total_seconds()
        period = int(max(60, math.ceil(seconds / 60) * 60))
    queries, lines = metric_queries(get('metrics'), stat, period)
    return Widget(queries, lines, start, end, options(document, view, now))


def _check(condition, path, message):
    if not condition:
        raise invalid(path, message)


def _integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def moment(value, now, path):
    """An aware UTC datetime of a relative ISO 8601 duration back from ``now`` (-PT3H,
    -P7D) or an absolute ISO 8601 time."""
    _check(isinstance(value, str), path, 'Should be string')
    found = _DURATION.match(value)
    if found and value != '-P':
        weeks, days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
        return now - datetime.timedelta(weeks=weeks, days=days, hours=hours,
                                        minutes=minutes, seconds=seconds)
    try:
        parsed = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
    except ValueError:
        raise invalid(path, 'Should be an ISO 8601 time or a negative ISO 8601 duration '
                            '(-PT3H)') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    return parsed.astimezone(datetime.timezone.utc)


def metric_queries(metrics, stat, period):
    """(GetMetricData queries, visible Lines) of the ``metrics`` array."""
    _check(metrics is not None, '', "Should have required property 'metrics'")
    _check(isinstance(metrics, list), '/metrics', 'Should be array')
    _check(1 <= len(metrics) <= MAX_METRICS, '/metrics',
           'Should have 1 to %d items' % MAX_METRICS)
    given = {entry[-1].get('id') for entry in metrics if isinstance(entry, list) and entry
             and isinstance(entry[-1], dict)}
    queries, lines, previous, taken = [], [], None, set()
    for index, entry in enumerate(metrics, 1):
        path = '/metrics/%d' % (index - 1)
        _check(isinstance(entry, list) and entry, path, 'Should be a non-empty array')
        opts = entry[-1] if isinstance(entry[-1], dict) else {}
        names = entry[:-1] if opts is entry[-1] else entry
        qid = opts.get('id') or _free_id('e' if 'expression' in opts else 'm', index,
                                         given | taken)
        _check(isinstance(qid, str) and qid not in taken, path + '/id',
               'Should be a string unique among the metrics')
        taken.add(qid)
        if 'expression' in opts:
            _check(not names, path, 'An expression is alone in its array')
            query = _expression(opts, qid, path)
        else:
            names = expand(names, previous, path)
            previous = names
            query = _metric_stat(names, opts, qid, stat, period, path)
        queries.append(query)
        if query['ReturnData']:
            lines.append(Line(qid, _color(opts, path), _side(opts.get('yAxis', 'left'),
                                                             path + '/yAxis')))
    return queries, lines


def _free_id(prefix, index, used):
    candidate, n = '%s%d' % (prefix, index), index
    while candidate in used:
        n += 1000
        candidate = '%s%d' % (prefix, n)
    return candidate


def expand(names, previous, path):
    """The items of a metric with "." and "..." replaced from the metric above."""
    _check(all(isinstance(n, str) for n in names), path, 'Should be strings then an '
           'optional object of rendering properties')
    if names and names[0] == '...':
        _check(previous is not None and len(names) - 1 <= len(previous), path + '/0',
               '"..." needs a metric above with at least as many items')
        names = previous[:len(previous) - len(names) + 1] + names[1:]
    out = []
    for place, name in enumerate(names):
        if name == '.':
            _check(previous is not None and place < len(previous), '%s/%d' % (path, place),
                   '"." needs an item at this place in the metric above')
            name = previous[place]
        out.append(name)
    _check(len(out) >= 2 and len(out) % 2 == 0, path, 'Should be [Namespace, MetricName, '
           'DimensionName, DimensionValue, ...]')
    return out


def _metric_stat(names, opts, qid, stat, period, path):
    dims = [{'Name': names[i], 'Value': names[i + 1]} for i in range(2, len(names), 2)]
    stat = opts.get('stat', stat)
    period = opts.get('period', period)
    _check(isinstance(stat, str), path + '/stat', 'Should be string')
    _check(_integer(period) and period > 0, path + '/period',
           'Should be integer greater than 0')
    query = {'Id': qid, 'MetricStat': {
        'Metric': {'Namespace': names[0], 'MetricName': names[1], 'Dimensions': dims},
        'Period': period, 'Stat': stat}, 'ReturnData': opts.get('visible', True) is not False}
    label = opts.get('label')
    if label is not None:
        _check(isinstance(label, str), path + '/label', 'Should be string')
        query['Label'] = label
    return query


def _expression(opts, qid, path):
    expression, label = opts['expression'], opts.get('label', opts['expression'])
    _check(isinstance(expression, str) and expression, path + '/expression',
           'Should be a non-empty string')
    _check(isinstance(label, str), path + '/label', 'Should be string')
    return {'Id': qid, 'Expression': expression, 'Label': label,
            'ReturnData': opts.get('visible', True) is not False}


def _color(opts, path):
    color = opts.get('color')
    _check(color is None or (isinstance(color, str) and _COLOR.match(color)),
           path + '/color', 'Should be a colour #rrggbb')
    return color


def _side(value, path):
    _check(value in ('left', 'right'), path, "Should be 'left' or 'right'")
    return value


def options(document, view, now):
    """The chart's settings other than its lines (``telewatch.render.Chart``'s names)."""
    get = document.get
    out = {'view': view, 'stacked': get('stacked', False) is True}
    for name in ('width', 'height'):
        value = get(name, DEFAULTS[name])
        _check(_integer(value) and 1 <= value <= MAX_SIZE, '/' + name,
               'Should be integer from 1 to %d' % MAX_SIZE)
        out[name] = value
    title = get('title')
    _check(title is None or isinstance(title, str), '/title', 'Should be string')
    out['title'] = title
    legend = get('legend', {})
    _check(isinstance(legend, dict), '/legend', 'Should be object')
    out['legend'] = legend.get('position', 'bottom')
    _check(out['legend'] in ('bottom', 'right', 'hidden'), '/legend/position',
           "Should be 'bottom', 'right' or 'hidden'")
    out['utc_offset'] = _zone(get('timezone'))
    y_axis = get('yAxis', {})
    _check(isinstance(y_axis, dict), '/yAxis', 'Should be object')
    for side in ('left', 'right'):
        out[side] = _axis(y_axis.get(side, {}), '/yAxis/' + side)
    notes = get('annotations', {})
    _check(isinstance(notes, dict), '/annotations', 'Should be object')
    out['horizontal'] = [_note(n, 'horizontal', i, now)
                         for i, n in enumerate(_list(notes, 'horizontal'))]
    out['vertical'] = [_note(n, 'vertical', i, now)
                       for i, n in enumerate(_list(notes, 'vertical'))]
    out['horizontal'] = [n for n in out['horizontal'] if n is not None]
    out['vertical'] = [n for n in out['vertical'] if n is not None]
    return out


def _zone(value):
    """Seconds east of UTC of CloudWatch's ``timezone`` (+0130, -0500; absent: UTC)."""
    if value is None:
        return 0
    found = _ZONE.match(value) if isinstance(value, str) else None
    _check(found is not None, '/timezone', 'Should be an offset from UTC as +HHMM or -HHMM')
    sign, hours, minutes = found.groups()
    _check(int(hours) <= 14 and int(minutes) < 60, '/timezone', 'Should be at most +1400')
    return (1 if sign == '+' else -1) * (int(hours) * 3600 + int(minutes) * 60)


def _axis(axis, path):
    _check(isinstance(axis, dict), path, 'Should be object')
    out = {'show_units': axis.get('showUnits', True) is not False}
    for name in ('min', 'max'):
        if axis.get(name) is not None:
            _check(_number(axis[name]), '%s/%s' % (path, name), 'Should be number')
            out[name] = float(axis[name])
    if axis.get('label') is not None:
        _check(isinstance(axis['label'], str), path + '/label', 'Should be string')
        out['label'] = axis['label']
    return out


def _list(notes, kind):
    items = notes.get(kind, [])
    _check(isinstance(items, list), '/annotations/' + kind, 'Should be array')
    return items


def _note(note, kind, index, now):
    """A horizontal or vertical annotation (a band: a pair of them) as a dict of
    ``telewatch.render.Horizontal``/``Vertical``'s fields; None when not visible."""
    path = '/annotations/%s/%d' % (kind, index)
    band = isinstance(note, list)
    _check(not band or (len(note) == 2 and all(isinstance(n, dict) for n in note)), path,
           'A band is an array of two annotations')
    first = note[0] if band else note
    _check(isinstance(first, dict), path, 'Should be object')
    if first.get('visible', True) is False:
        return None
    out = {'label': first.get('label'), 'color': _color(first, path)}
    _check(out['label'] is None or isinstance(out['label'], str), path + '/label',
           'Should be string')
    fill = first.get('fill', 'none')
    _check(fill in _FILLS[kind], path + '/fill', 'Should be one of %s'
           % ', '.join(_FILLS[kind]))
    out['fill'] = None if fill == 'none' else fill
    read = _value if kind == 'horizontal' else (lambda v, p: _time(v, p, now))
    out['value' if kind == 'horizontal' else 'at'] = read(first.get('value'), path)
    if band:
        out['until'] = read(note[1].get('value'), path + '/1')
    if kind == 'horizontal':
        out['axis'] = _side(first.get('yAxis', 'left'), path + '/yAxis')
    return out


def _value(value, path):
    _check(_number(value), path + '/value', 'Should be number')
    return float(value)


def _time(value, path, now):
    return moment(value, now, path + '/value')
