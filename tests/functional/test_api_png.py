"""``Accept: image/png`` against a live telewatch-api (gunicorn) and its archive processor:
measures by metric id and by resource and name, aggregates, the query's size, another
project refused, and a metric without measures drawn as the "No data available." image."""

import time

import numpy
import pytest
import requests

from telewatch.render import draw
from tests.functional import api_helpers
from tests.unit.render import png_pixels

ALICE = {'X-User-Id': 'alice', 'X-Project-Id': 'project-a'}
BOB = {'X-User-Id': 'bob', 'X-Project-Id': 'project-b'}
PNG = {'Accept': 'image/png'}
BLUE = draw.PALETTE[0]


@pytest.fixture(scope='module')
def api(tmp_path_factory):
    with api_helpers.running_api(tmp_path_factory.mktemp('api-png')) as url:
        yield url


def rising(body, width, height):
    pixels = png_pixels.decode(body)
    assert pixels.shape == (height, width, 3)
    rows = png_pixels.line_rows(pixels, BLUE)
    columns = sorted(rows)
    assert columns[-1] - columns[0] > width * 0.6
    assert numpy.corrcoef(columns, [rows[c] for c in columns])[0, 1] < -0.9


def test_measures_and_aggregates_as_png(api):
    made = requests.post(api + '/v1/resource/generic', headers=ALICE, timeout=30, json={
        'id': 'png-host', 'metrics': {'load': {'archive_policy_name': 'low', 'unit': '%'}}})
    assert made.status_code == 201, made.text
    metric_id = made.json()['metrics']['load']
    start = int(time.time()) // 300 * 300 - 100 * 300
    posted = requests.post(api + '/v1/metric/%s/measures' % metric_id, headers=ALICE,
                           timeout=30, json=[{'timestamp': start + i * 300, 'value': float(i)}
                                             for i in range(100)])
    assert posted.status_code == 202
    for path in ('/v1/metric/%s/measures' % metric_id,
                 '/v1/resource/generic/png-host/metric/load/measures'):
        answer = requests.get(api + path + '?refresh=true&granularity=300&width=480'
                              '&height=320', headers=dict(ALICE, **PNG), timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.headers['Content-Type'] == 'image/png'
        rising(answer.content, 480, 320)
    aggregated = requests.post(
        api + '/v1/aggregates?granularity=300&refresh=true', headers=dict(ALICE, **PNG),
        timeout=60, json={'operations': '(aggregate mean (metric load mean))',
                          'resource_type': 'generic', 'search': 'id = "png-host"'})
    assert aggregated.headers['Content-Type'] == 'image/png', aggregated.text
    rising(aggregated.content, 600, 400)
    refused = requests.get(api + '/v1/metric/%s/measures' % metric_id,
                           headers=dict(BOB, **PNG), timeout=30)
    assert refused.status_code in (403, 404)
    assert refused.headers['Content-Type'].startswith('application/json')
    bad = requests.get(api + '/v1/metric/%s/measures?width=0' % metric_id,
                       headers=dict(ALICE, **PNG), timeout=30)
    assert bad.status_code == 400 and 'width' in bad.text


def test_a_metric_without_measures_is_the_no_data_image(api):
    metric_id = requests.post(api + '/v1/metric', headers=ALICE, timeout=30,
                              json={'archive_policy_name': 'low'}).json()['id']
    answer = requests.get(api + '/v1/metric/%s/measures' % metric_id,
                          headers=dict(ALICE, **PNG), timeout=60)
    assert answer.status_code == 200
    pixels = png_pixels.decode(answer.content)
    assert pixels.shape == (400, 600, 3)
    assert not png_pixels.mask(pixels, BLUE).any()
    assert png_pixels.dark_pixels(pixels, (200, 180, 400, 220)) > 50
