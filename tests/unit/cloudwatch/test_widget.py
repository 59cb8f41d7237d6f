"""GetMetricWidgetImage: the MetricWidget's golden cases (widget_spec), the operation on a
real archive (the data drawn, the project's only, "no data" for none, both OutputFormats),
and its answer in each protocol through the WSGI app as botocore reads it."""

import datetime
import json
import pathlib

import numpy
import pytest
import yaml

from telewatch.cloudwatch import app as app_mod
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import metrics
from telewatch.cloudwatch import protocols
from telewatch.cloudwatch import widget
from telewatch.cloudwatch import widget_spec
from telewatch.render import draw
from tests.unit.cloudwatch import test_app
from tests.unit.cloudwatch import wsgi_client
from tests.unit.cloudwatch.conftest import make_context
from tests.unit.render import png_pixels

CASES = yaml.safe_load((pathlib.Path(__file__).parents[2] / 'cases' / 'cloudwatch' /
                        'metric_widget.yaml').read_text())
NOW = datetime.datetime.fromisoformat(CASES['now'].replace('Z', '+00:00'))
BLUE = draw.PALETTE[0]


def _when(text):
    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))


def _plain(options):
    """Options with datetimes as the YAML's ISO texts."""
    out = {}
    for key, value in options.items():
        if isinstance(value, list):
            value = [_plain(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, dict):
            value = _plain(value)
        elif isinstance(value, datetime.datetime):
            value = value.strftime('%Y-%m-%dT%H:%M:%SZ')
        out[key] = value
    return out


@pytest.mark.parametrize('case', CASES['cases'], ids=[c['name'] for c in CASES['cases']])
def test_metric_widget(case):
    text = case['text'] if 'text' in case else json.dumps(case['widget'])
    if 'error' in case:
        with pytest.raises(errors.ValidationError) as raised:
            widget_spec.parse(text, NOW)
        assert case['error'] in raised.value.message
        assert raised.value.code == 'ValidationError' and raised.value.status == 400
        return
    parsed = widget_spec.parse(text, NOW)
    if 'queries' in case:
        assert parsed.queries == case['queries']
        assert [[line.id, line.color, line.axis] for line in parsed.lines] == case['lines']
    for name in ('start', 'end'):
        if name in case:
            assert getattr(parsed, name) == _when(case[name])
    options = _plain(parsed.options)
    for key, value in case.get('options', {}).items():
        assert options[key] == value, key


def test_at_most_100_metrics():
    text = json.dumps({'metrics': [['A', 'M%d' % i] for i in range(101)]})
    with pytest.raises(errors.ValidationError, match='Should have 1 to 100 items'):
        widget_spec.parse(text, NOW)
    assert len(widget_spec.parse(text.replace(', ["A", "M100"]', ''), NOW).queries) == 100


def put(ctx, name='Load', count=60, dimensions=()):
    """``count`` values rising from 0 to 99, one a minute up to ctx.now."""
    data = [{'MetricName': name, 'Dimensions': list(dimensions), 'Unit': 'Percent',
             'Value': 99.0 * i / (count - 1),
             'Timestamp': ctx.now - datetime.timedelta(minutes=count - i)}
            for i in range(count)]
    metrics.put_metric_data(ctx, {'Namespace': 'Shop', 'MetricData': data})
    while ctx.store.process().measures:
        pass


def image(ctx, document, output=None):
    params = {'MetricWidget': json.dumps(document)}
    if output:
        params['OutputFormat'] = output
    return widget.get_metric_widget_image(ctx, params)


WIDGET = {'metrics': [['Shop', 'Load', 'Host', 'a']], 'period': 60, 'start': '-PT1H',
          'width': 500, 'height': 300, 'legend': {'position': 'hidden'}}


def test_the_data_is_drawn_rising(ctx):
    put(ctx, dimensions=[{'Name': 'Host', 'Value': 'a'}])
    pixels = png_pixels.decode(image(ctx, WIDGET)['MetricWidgetImage'])
    assert pixels.shape == (300, 500, 3)
    rows = png_pixels.line_rows(pixels, BLUE)
    columns = sorted(rows)
    assert columns[-1] - columns[0] > 300
    assert numpy.corrcoef(columns, [rows[c] for c in columns])[0, 1] < -0.9


def test_another_project_and_an_unknown_metric_get_the_no_data_image(ctx, bob):
    put(ctx, dimensions=[{'Name': 'Host', 'Value': 'a'}])
    for asker, document in ((bob, WIDGET), (ctx, dict(WIDGET, metrics=[['Shop', 'Nope']]))):
        pixels = png_pixels.decode(image(asker, document)['MetricWidgetImage'])
        assert pixels.shape == (300, 500, 3)
        assert not png_pixels.mask(pixels, BLUE).any()
        assert png_pixels.dark_pixels(pixels, (150, 130, 350, 170)) > 50


def test_image_png_is_the_whole_body(ctx):
    answer = image(ctx, WIDGET, 'image/png')
    assert isinstance(answer, protocols.Response)
    assert ('Content-Type', 'image/png') in answer.headers
    assert png_pixels.decode(answer.body).shape == (300, 500, 3)


def test_another_output_format_is_refused(ctx):
    with pytest.raises(errors.InvalidParameterValue, match='OutputFormat'):
        image(ctx, WIDGET, 'jpeg')


def test_a_bad_query_is_getmetricdatas_error(ctx):
    with pytest.raises(errors.InvalidParameterValue, match='Period'):
        image(ctx, dict(WIDGET, period=7))


@pytest.fixture
def wire_app(store):
    ctx = make_context(store, project=test_app.KEY.project_id)
    put(ctx, dimensions=[{'Name': 'Host', 'Value': 'a'}])
    return app_mod.CloudWatchApp(store.conf, store, None, credentials=test_app.Keys(
        test_app.KEY), operations=widget.OPERATIONS)


@pytest.mark.parametrize('protocol', wsgi_client.PROTOCOLS)
def test_each_protocol_carries_the_png(wire_app, protocol):
    status, parsed = test_app.roundtrip(wire_app, protocol, 'GetMetricWidgetImage', {
        'MetricWidget': json.dumps(WIDGET)})
    assert status == 200, parsed
    assert png_pixels.decode(parsed['MetricWidgetImage']).shape == (300, 500, 3)
    status, parsed = test_app.roundtrip(wire_app, protocol, 'GetMetricWidgetImage', {
        'MetricWidget': '{"metrics": 1}'})
    assert status == 400
    assert parsed['Error']['Code'] == 'ValidationError'
    assert parsed['Error']['Message'] == (
        'The MetricWidget is invalid: /metrics: Should be array')


def test_image_png_over_the_wire(wire_app):
    prepared = wsgi_client.prepare('query', 'GetMetricWidgetImage', {
        'MetricWidget': json.dumps(WIDGET), 'OutputFormat': 'image/png'},
        test_app.ACCESS, test_app.SECRET)
    status, headers, body = wsgi_client.call(wire_app, prepared)
    assert (status, headers['content-type']) == (200, 'image/png')
    assert headers['x-amzn-requestid']
    assert png_pixels.decode(body).shape == (300, 500, 3)
