"""GetMetricWidgetImage: a MetricWidget (``widget_spec``) answered through GetMetricData's
reads and drawn by ``telewatch.render``; OutputFormat ``png`` (the image in the response,
base64 on the wire) or ``image/png`` (the PNG as the whole HTTP body)."""

import numpy

from telewatch import render
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metric_data
from telewatch.cloudwatch import protocols
from telewatch.cloudwatch import widget_spec

OUTPUT_FORMATS = ('png', 'image/png')
_NS = 1_000_000_000
# One widget reads at most 100 metrics of at most 1,440 periods each (GetMetricData's own
# page is smaller): the whole of it in one page.
_ALL = 100 * 1440


def get_metric_widget_image(ctx, params):
    """GetMetricWidgetImage (see the module's docstring)."""
    output = params.get('OutputFormat', 'png')
    if output not in OUTPUT_FORMATS:
        raise errors.InvalidParameterValue(
            'The value %s for parameter OutputFormat is invalid: it must be png or '
            'image/png.' % output)
    widget = widget_spec.parse(params['MetricWidget'], ctx.now)
    image = render.png(chart(widget, series(ctx, widget)))
    if output == 'image/png':
        return protocols.Response(200, [('Content-Type', 'image/png'),
                                        ('x-amzn-RequestId', ctx.request_id)], image)
    return {'MetricWidgetImage': image}


def series(ctx, widget):
    """{query id: render.Series} of the widget's visible lines, read as GetMetricData."""
    found = metric_data.get_metric_data(ctx, {
        'MetricDataQueries': widget.queries, 'StartTime': widget.start,
        'EndTime': widget.end, 'ScanBy': 'TimestampAscending', 'MaxDatapoints': _ALL})
    units = _units(ctx, widget.queries)
    out = {}
    for result in found['MetricDataResults']:
        stamps = [int(moment.timestamp()) * _NS for moment in result['Timestamps']]
        out[result['Id']] = (result['Label'], stamps, result['Values'],
                             units.get(result['Id']))
    return out


def _units(ctx, queries):
    """{query id: unit} of the MetricStat queries whose metric exists and has one."""
    keys = {}
    for query in queries:
        if 'MetricStat' in query:
            metric = query['MetricStat']['Metric']
            keys[query['Id']] = mapping.metric_key(metric['Namespace'], metric['MetricName'],
                                                   metric['Dimensions'])
    found = mapping.find_many(ctx, set(keys.values())) if keys else {}
    return {qid: getattr(found.get(key), 'unit', None) for qid, key in keys.items()}


def chart(widget, read):
    """The ``render.Chart`` of a parsed widget and its series (``series``)."""
    lines = []
    for line in widget.lines:
        label, stamps, values, unit = read[line.id]
        lines.append(render.Series(label, numpy.array(stamps, dtype=numpy.int64),
                                   numpy.array(values, dtype=numpy.float64), line.color,
                                   line.axis, unit))
    opts = dict(widget.options)
    for side in ('left', 'right'):
        opts[side] = render.Axis(**opts[side])
    opts['horizontal'] = tuple(render.Horizontal(**note) for note in opts['horizontal'])
    opts['vertical'] = tuple(render.Vertical(**_at_ns(note)) for note in opts['vertical'])
    return render.Chart(series=tuple(lines), start=int(widget.start.timestamp() * _NS),
                        end=int(widget.end.timestamp() * _NS), **opts)


def _at_ns(note):
    out = dict(note, at=int(note['at'].timestamp() * _NS))
    if 'until' in note:
        out['until'] = int(note['until'].timestamp() * _NS)
    return out


OPERATIONS = {'GetMetricWidgetImage': get_metric_widget_image}
