"""GetMetricWidgetImage through every real client (boto3 json and CBOR, botocore 1.42.6
query, the aws CLI, the JS SDK in its three protocols) against a live telewatch-cloudwatch
on the real Keystone: the PNG decoded at the widget's size with the data line drawn rising,
the "No data available." image for a metric without data (and for another project), and
AWS's error for a widget that is not one."""

import base64
import datetime
import json

import numpy
import pytest

from telewatch.render import draw
from tests.functional import services
from tests.functional.cloudwatch_clients import ClientError
from tests.unit.render import png_pixels

BLUE = draw.PALETTE[0]


def png_of(answer):
    """The image's bytes: the aws CLI prints the blob in base64."""
    image = answer['MetricWidgetImage']
    return base64.b64decode(image) if isinstance(image, str) else image


def test_widget_image_through_every_client(client, cloudwatch):
    namespace = services.unique('Widget')
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    dims = [{'Name': 'Client', 'Value': client.name}]
    client.call('PutMetricData', {'Namespace': namespace, 'MetricData': [
        {'MetricName': 'Load', 'Dimensions': dims, 'Value': float(i), 'Unit': 'Percent',
         'Timestamp': now - datetime.timedelta(minutes=60 - i)} for i in range(60)]})
    widget = {'metrics': [[namespace, 'Load', 'Client', client.name]], 'period': 60,
              'stat': 'Maximum', 'start': '-PT1H', 'width': 500, 'height': 300,
              'title': 'Load', 'legend': {'position': 'hidden'},
              'annotations': {'horizontal': [{'value': 90, 'label': 'high'}]}}
    pixels = png_pixels.decode(png_of(client.call(
        'GetMetricWidgetImage', {'MetricWidget': json.dumps(widget)})))
    assert pixels.shape == (300, 500, 3)
    rows = png_pixels.line_rows(pixels, BLUE)
    columns = sorted(rows)
    assert columns[-1] - columns[0] > 300  # along the plot
    assert numpy.corrcoef(columns, [rows[c] for c in columns])[0, 1] < -0.9  # rising
    for key, metric in ((cloudwatch.alice, 'Nothing'), (cloudwatch.bob, 'Load')):
        empty = dict(widget, metrics=[[namespace, metric, 'Client', client.name]])
        pixels = png_pixels.decode(png_of(client.call(
            'GetMetricWidgetImage', {'MetricWidget': json.dumps(empty)}, key=key)))
        assert pixels.shape == (300, 500, 3)
        assert not png_pixels.mask(pixels, BLUE).any()
        assert png_pixels.dark_pixels(pixels, (150, 130, 350, 170)) > 50  # the words
    with pytest.raises(ClientError) as caught:
        client.call('GetMetricWidgetImage', {'MetricWidget': '{"metrics": ['})
    assert caught.value.code == 'ValidationError'
    assert caught.value.status in (400, None)
    assert 'Should be valid JSON' in caught.value.message
