"""Tick labels and grid lines, drawn as a few plain artists rather than by matplotlib's
axis machinery: its Tick objects (a text and two marker lines each, copied per tick) cost
two thirds of a chart's time, where the same labels as texts cost a quarter of it."""

import datetime

from matplotlib import collections
from matplotlib import dates as mdates
from matplotlib import ticker
from matplotlib import transforms

FONT = 8  # points: 11 pixels at 100 dpi
TEXT_COLOR = '#16191f'
GRID_COLOR = '#e9ebed'
SPINE_COLOR = '#aab7b8'
_FORMATS = ['%Y', '%Y-%m', '%m-%d', '%H:%M', '%H:%M', '%S.%f']
_ZERO_FORMATS = ['', '%Y', '%Y-%m', '%m-%d', '%H:%M', '%H:%M']
_OFFSET_FORMATS = ['', '%Y', '%Y-%m', '%Y-%m-%d', '%Y-%m-%d', '%Y-%m-%d %H:%M']


def short_number(value):
    """A tick label: 1.5k, 20M, 0.25 (CloudWatch's axis labels are as short)."""
    magnitude = abs(value)
    for factor, suffix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'k')):
        if magnitude >= factor:
            return '%.3g%s' % (value / factor, suffix)
    return '%.3g' % value if value else '0'


def bare(ax):
    """An axes without matplotlib's ticks, only its bottom line."""
    ax.set_xticks([])
    ax.set_yticks([])
    for name, spine in ax.spines.items():
        spine.set_visible(name == 'bottom')
        spine.set_color(SPINE_COLOR)


def y_ticks(ax, height, side='left', grid=True):
    """Labels (and grid lines) at round values of ``ax``'s y range."""
    low, high = ax.get_ylim()
    locator = ticker.MaxNLocator(nbins=max(2, height // 60))
    values = [v for v in locator.tick_values(low, high) if low <= v <= high]
    along = ax.get_yaxis_transform()  # x in axes fraction, y in data
    if grid:
        ax.add_collection(collections.LineCollection(
            [[(0, v), (1, v)] for v in values], transform=along, colors=GRID_COLOR,
            linewidths=0.8, zorder=0.5), autolim=False)
    x, align, shift = (0, 'right', -4) if side == 'left' else (1, 'left', 4)
    moved = transforms.offset_copy(along, fig=ax.figure, x=shift, y=0, units='dots')
    for value in values:
        ax.text(x, value, short_number(value), transform=moved, ha=align, va='center',
                fontsize=FONT, color=TEXT_COLOR, clip_on=False)


def time_ticks(ax, width, zone, zone_name):
    """Date and time labels under ``ax`` (its x range in matplotlib dates), with tick marks,
    and the date (with the zone's name) they share at the lower right."""
    low, high = ax.get_xlim()
    locator = mdates.AutoDateLocator(tz=zone, minticks=3, maxticks=max(3, width // 90))
    values = [v for v in locator.tick_values(mdates.num2date(low, zone),
                                             mdates.num2date(high, zone))
              if low <= v <= high]
    formatter = mdates.ConciseDateFormatter(
        locator, tz=zone, formats=_FORMATS, zero_formats=_ZERO_FORMATS,
        offset_formats=[f + (' ' if f else '') + zone_name for f in _OFFSET_FORMATS])
    labels = formatter.format_ticks(values)
    along = ax.get_xaxis_transform()  # x in data, y in axes fraction
    below = transforms.offset_copy(along, fig=ax.figure, x=0, y=-4, units='dots')
    ax.add_collection(collections.LineCollection(
        [[(v, 0), (v, -0.015)] for v in values], transform=along, colors=SPINE_COLOR,
        linewidths=0.8, clip_on=False), autolim=False)
    for value, label in zip(values, labels):
        ax.text(value, 0, label, transform=below, ha='center', va='top', fontsize=FONT,
                color=TEXT_COLOR, clip_on=False)
    offset = formatter.get_offset() or zone_name
    ax.text(1, 0, offset, transform=transforms.offset_copy(
        ax.transAxes, fig=ax.figure, x=0, y=-18, units='dots'), ha='right', va='top',
        fontsize=FONT - 1, color='#545b64', clip_on=False)


def zone_of(utc_offset):
    """(tzinfo, name) of an offset in seconds: UTC, or UTC+01:30."""
    zone = datetime.timezone(datetime.timedelta(seconds=utc_offset))
    return zone, ('UTC' if not utc_offset else zone.tzname(None))
