"""``Accept: image/png`` on measures and aggregates reads: the series drawn at the query's
size (by metric id, by resource and name, through aggregates and their searches), a bad
size refused, and an empty read drawn as the "No data available." image."""

import numpy
import pytest

from telewatch.render import draw
from tests.unit.render import png_pixels

ALICE = {'X-User-Id': 'alice', 'X-Project-Id': 'project-a', 'X-Roles': 'admin'}
PNG = dict(ALICE, Accept='image/png')
BLUE = draw.PALETTE[0]


@pytest.fixture
def metric(api):
    """A metric of the 'low' policy (5 minutes) on a resource, with a rising ramp of 100
    measures, 5 minutes apart."""
    api.post_json('/v1/resource/generic', {'id': 'r1', 'metrics': {
        'load': {'archive_policy_name': 'low', 'unit': '%'}}}, headers=ALICE)
    metric_id = api.get('/v1/resource/generic/r1', headers=ALICE).json['metrics']['load']
    measures = [{'timestamp': 1_796_644_800 + i * 300, 'value': float(i)} for i in range(100)]
    api.post_json('/v1/metric/%s/measures' % metric_id, measures, headers=ALICE)
    return metric_id


def rising(body, width=600, height=400):
    pixels = png_pixels.decode(body)
    assert pixels.shape == (height, width, 3)
    rows = png_pixels.line_rows(pixels, BLUE)
    columns = sorted(rows)
    assert columns[-1] - columns[0] > width * 0.6
    assert numpy.corrcoef(columns, [rows[c] for c in columns])[0, 1] < -0.9


@pytest.mark.parametrize('path', ['/v1/metric/{id}/measures',
                                  '/v1/resource/generic/r1/metric/load/measures'])
def test_measures_as_png(api, metric, path):
    response = api.get(path.format(id=metric) + '?refresh=true&granularity=300',
                       headers=PNG)
    assert response.content_type == 'image/png'
    rising(response.body)
    sized = api.get(path.format(id=metric) + '?width=320&height=200', headers=PNG)
    rising(sized.body, 320, 200)


def test_json_stays_the_default(api, metric):
    response = api.get('/v1/metric/%s/measures?refresh=true' % metric, headers=ALICE)
    assert response.content_type == 'application/json'
    assert len(response.json) >= 100


@pytest.mark.parametrize('query', ['width=0', 'height=2001', 'width=wide'])
def test_a_bad_size_is_refused(api, metric, query):
    response = api.get('/v1/metric/%s/measures?%s' % (metric, query), headers=PNG,
                       status=400)
    assert response.content_type == 'application/json'
    assert query.split('=')[0] in response.text


def test_no_measures_is_the_no_data_image(api):
    metric_id = api.post_json('/v1/metric', {'archive_policy_name': 'low'},
                              headers=ALICE).json['id']
    pixels = png_pixels.decode(api.get('/v1/metric/%s/measures' % metric_id,
                                       headers=PNG).body)
    assert not png_pixels.mask(pixels, BLUE).any()
    assert png_pixels.dark_pixels(pixels, (200, 180, 400, 220)) > 50


def test_aggregates_as_png(api, metric):
    response = api.post_json('/v1/aggregates?refresh=true&granularity=300', {
        'operations': '(aggregate mean (metric %s mean))' % metric}, headers=PNG)
    assert response.content_type == 'image/png'
    rising(response.body)
    searched = api.post_json('/v1/aggregates?width=500&height=300', {
        'operations': '(metric load mean)', 'resource_type': 'generic',
        'search': 'id = r1'}, headers=PNG)
    rising(searched.body, 500, 300)
    grouped = api.post_json('/v1/aggregates?groupby=id', {
        'operations': '(metric load mean)', 'resource_type': 'generic',
        'search': 'id = r1'}, headers=PNG)
    rising(grouped.body)


def test_an_aggregates_error_stays_json(api):
    response = api.post_json('/v1/aggregates', {'operations': '(metric nope mean)'},
                             headers=PNG, status=404)
    assert response.content_type == 'application/json'
