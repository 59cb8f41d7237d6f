"""The PNG renderer: sizes, the data drawn where it belongs, every view, annotations, and
the "No data available." image of an empty chart."""

import subprocess
import sys

import numpy
import pytest

from telewatch import render
from telewatch.render import draw
from telewatch.render import ticks
from tests.unit.render import png_pixels

NS = 10 ** 9
T0 = 1_796_644_800 * NS  # 2026-12-07T12:00:00Z
BLUE = draw.PALETTE[0]


def ramp(count=1440, step=60, low=0.0, high=100.0):
    stamps = T0 + numpy.arange(count, dtype=numpy.int64) * step * NS
    return stamps, numpy.linspace(low, high, count)


def chart(series=None, **kw):
    if series is None:
        series = (render.Series('CPUUtilization', *ramp(), unit='Percent'),)
    return render.Chart(series=tuple(series), **kw)


def test_a_time_series_is_drawn_rising_left_to_right_at_its_size():
    pixels = png_pixels.decode(render.png(chart(width=600, height=400, title='CPU')))
    assert pixels.shape == (400, 600, 3)
    rows = png_pixels.line_rows(pixels, BLUE)
    columns = sorted(rows)
    assert columns[-1] - columns[0] > 400  # along most of the plot's width
    # A ramp: image rows go down as values go up, so the row falls as the column grows.
    assert numpy.corrcoef(columns, [rows[c] for c in columns])[0, 1] < -0.95


@pytest.mark.parametrize('width,height', [(333, 217), (1, 1), (2000, 150)])
def test_any_size_within_limits_is_exact(width, height):
    assert png_pixels.decode(render.png(chart(width=width, height=height))).shape == (
        height, width, 3)


@pytest.mark.parametrize('series', [(), (render.Series('x', *ramp(0)),),
                                    (render.Series('x', *ramp(3)[:1],
                                                   numpy.full(3, numpy.nan)),)])
@pytest.mark.parametrize('view', render.VIEWS)
def test_an_empty_chart_is_the_no_data_image(series, view):
    pixels = png_pixels.decode(render.png(chart(series, view=view, title='Empty')))
    assert pixels.shape == (400, 600, 3)
    assert not png_pixels.mask(pixels, BLUE).any()
    assert png_pixels.dark_pixels(pixels, (200, 180, 400, 220)) > 50  # the words
    assert png_pixels.dark_pixels(pixels, (0, 40, 600, 170)) == 0


def test_a_gap_in_the_data_is_drawn_as_a_gap():
    stamps, values = ramp(120)
    kept = numpy.r_[0:50, 70:120]
    pixels = png_pixels.decode(render.png(chart(
        [render.Series('gappy', stamps[kept], values[kept])], legend='hidden')))
    columns = sorted(png_pixels.line_rows(pixels, BLUE))
    jumps = numpy.diff(columns)
    assert jumps.max() > 60  # about a sixth of the plot's width is left blank


def test_y_axis_min_and_max_and_a_threshold_with_its_fill():
    note = render.Horizontal(50.0, 'limit', color='#d62728', fill='above')
    pixels = png_pixels.decode(render.png(chart(
        left=render.Axis(min=0, max=200), horizontal=(note,), legend='hidden')))
    red_rows = numpy.flatnonzero(png_pixels.mask(pixels, '#d62728').sum(axis=1) > 300)
    blue = png_pixels.line_rows(pixels, BLUE)
    # The ramp ends at 100 of 200: half way up; the threshold at 50 is below its end.
    assert min(blue.values()) > pixels.shape[0] * 0.3
    assert len(red_rows) >= 1 and red_rows.min() > min(blue.values())
    above = pixels[:int(red_rows.min())].astype(int)  # the fill above: a pale red
    assert ((above[..., 0] > 240) & (above[..., 0] - above[..., 1] > 15)).sum() > 10_000
    below = pixels[int(red_rows.max()) + 3:].astype(int)
    assert ((below[..., 0] > 240) & (below[..., 0] - below[..., 1] > 15)).sum() == 0


def test_vertical_band_and_right_axis():
    stamps, values = ramp()
    band = render.Vertical(int(stamps[400]), 'deploy', color='#2ca02c', until=int(stamps[600]))
    pixels = png_pixels.decode(render.png(chart(
        [render.Series('left', stamps, values),
         render.Series('right', stamps, values * 1000, axis='right', color='#9467bd')],
        vertical=(band,))))
    green_columns = numpy.flatnonzero(png_pixels.mask(pixels, '#2ca02c').sum(axis=0) > 100)
    assert len(green_columns) >= 2
    assert png_pixels.mask(pixels, '#9467bd').sum() > 300


def test_stacked_areas_put_the_second_series_above_the_first():
    stamps, values = ramp()
    pixels = png_pixels.decode(render.png(chart(
        [render.Series('a', stamps, values), render.Series('b', stamps, values)],
        stacked=True, legend='hidden')))
    first, second = (png_pixels.line_rows(pixels, c) for c in draw.PALETTE[:2])
    column = max(set(first) & set(second))
    assert second[column] < first[column] - 50  # twice as high: far above


@pytest.mark.parametrize('view', ['singleValue', 'bar', 'pie'])
def test_the_other_views_draw_each_series_in_its_colour(view):
    stamps, values = ramp()
    series = [render.Series(name, stamps, values * (i + 1))
              for i, name in enumerate(['alpha', 'bravo', 'charlie'])]
    pixels = png_pixels.decode(render.png(chart(series, view=view, width=500, height=300)))
    assert pixels.shape == (300, 500, 3)
    for color in draw.PALETTE[:3]:
        assert png_pixels.mask(pixels, color).sum() > 20, (view, color)


def test_legend_right_and_hidden_and_a_time_zone():
    for legend in ('right', 'hidden'):
        assert png_pixels.decode(render.png(chart(legend=legend, utc_offset=5400))).shape == (
            400, 600, 3)


@pytest.mark.parametrize('bad', [{'view': 'gauge'}, {'legend': 'top'}, {'width': 0},
                                 {'height': 2001}])
def test_a_chart_out_of_bounds_is_refused(bad):
    with pytest.raises(ValueError):
        chart(**bad)


@pytest.mark.parametrize('value,text', [(0, '0'), (0.25, '0.25'), (80, '80'),
                                        (1500, '1.5k'), (-2e6, '-2M'), (3.2e9, '3.2G')])
def test_short_numbers(value, text):
    assert ticks.short_number(value) == text


def test_importing_the_package_does_not_import_matplotlib():
    code = 'import sys, telewatch.render; print("matplotlib" in sys.modules)'
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == 'False'
