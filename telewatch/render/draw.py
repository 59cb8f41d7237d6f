"""Draws a ``telewatch.render.Chart`` with matplotlib's object API on the Agg canvas: never
pyplot (no global figure registry, no GUI backend to pick), so it is safe in a server.

Layout is in pixels (margins for tick labels, title and legend), not ``tight_layout``, which
would cost more than the drawing. One chart is drawn at a time in a process: matplotlib's
font and text caches are not thread-safe.
"""

import io
import threading

import matplotlib
import numpy
from matplotlib import figure as figure_mod
from matplotlib import transforms
from matplotlib.backends import backend_agg

from telewatch.render import plot
from telewatch.render import ticks
from telewatch.render import views

DPI = 100
# CloudWatch's palette is D3's category10, which is also matplotlib's default cycle.
PALETTE = ('#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
           '#7f7f7f', '#bcbd22', '#17becf')
ANNOTATION_COLOR = '#d13212'
FONT = ticks.FONT
TEXT_COLOR = ticks.TEXT_COLOR
_DAY_NS = 86_400e9
# Time that a line may skip before it is drawn broken: this many times its usual step.
GAP_STEPS = 2.5
# Unhinted glyphs: a third cheaper to lay out, and as legible at these sizes.
_RC = {'text.hinting': 'no_hinting'}
_LOCK = threading.Lock()


def png(chart):
    with _LOCK, matplotlib.rc_context(_RC):
        figure = figure_mod.Figure(figsize=(chart.width / DPI, chart.height / DPI), dpi=DPI,
                                   facecolor='white')
        backend_agg.FigureCanvasAgg(figure)
        colors = series_colors(chart.series)
        if not chart.has_data():
            views.no_data(figure, chart)
        elif chart.view == 'timeSeries':
            time_series(figure, chart, colors)
        else:
            getattr(views, chart.view)(figure, chart, colors)
        out = io.BytesIO()
        # zlib level 1: a chart's flat colours compress well anyway, in a fifth of the time.
        figure.savefig(out, format='png', dpi=DPI, pil_kwargs={'compress_level': 1})
        return out.getvalue()


def series_colors(series):
    """Each series' colour: its own, or the palette's next one."""
    out, free = [], iter(PALETTE * (len(series) // len(PALETTE) + 1))
    for item in series:
        out.append(item.color or next(free))
    return out


def plot_box(chart, legend_rows, right_axis):
    """(left, bottom, right, top) of the plot in pixels: room for tick labels, axis
    labels, the title and the legend."""
    left = 50 + (14 if _axis_label(chart, 'left') else 0)
    right = 12 + ((50 + (14 if _axis_label(chart, 'right') else 0)) if right_axis else 0)
    top = 26 if chart.title else 10
    bottom = 34 + (legend_rows * 15 + 4 if chart.legend == 'bottom' else 0)
    if chart.legend == 'right' and chart.series:
        right += min(160, chart.width // 4)
    width, height = chart.width, chart.height
    left, right = min(left, width * 0.4), min(right, width * 0.4)
    top, bottom = min(top, height * 0.3), min(bottom, height * 0.45)
    return left, bottom, width - right, height - top


def margins(figure, chart, legend_rows, right_axis):
    """``plot_box`` for the subplot of an Axes (the bar and pie views)."""
    left, bottom, right, top = plot_box(chart, legend_rows, right_axis)
    figure.subplots_adjust(left=left / chart.width, right=right / chart.width,
                           bottom=bottom / chart.height, top=top / chart.height)


def legend_rows(chart):
    if chart.legend != 'bottom' or not chart.series:
        return 0
    columns = legend_columns(chart)
    return min(-(-len(chart.series) // columns), max(1, chart.height // 60))


def legend_columns(chart):
    longest = max(len(s.label) for s in chart.series)
    return max(1, min(len(chart.series), chart.width // max(60, 6 * longest + 30)))


def add_legend(figure, chart, handles, labels=None):
    if chart.legend == 'hidden' or not handles:
        return
    labels = labels or [s.label for s in chart.series]
    if chart.legend == 'bottom':
        columns = legend_columns(chart)
        shown = legend_rows(chart) * columns
        figure.legend(handles[:shown], labels[:shown], loc='lower left', ncol=columns,
                      frameon=False, fontsize=FONT, bbox_to_anchor=(0, 0),
                      borderaxespad=0.3, handlelength=1.2, columnspacing=1.0,
                      labelcolor=TEXT_COLOR)
    else:
        shown = max(1, chart.height // 15 - 1)
        figure.legend(handles[:shown], labels[:shown], loc='upper right', frameon=False,
                      fontsize=FONT, bbox_to_anchor=(1, 1 - 26 / chart.height),
                      borderaxespad=0.3, handlelength=1.2, labelcolor=TEXT_COLOR)


def add_title(figure, chart):
    if chart.title:
        figure.text(8 / chart.width, 1 - 6 / chart.height, chart.title, ha='left', va='top',
                    fontsize=FONT + 2, color=TEXT_COLOR, fontweight='bold')


def _axis_label(chart, side):
    axis = getattr(chart, side)
    units = {s.unit for s in chart.series if s.axis == side and s.unit and s.unit != 'None'}
    unit = units.pop() if axis.show_units and len(units) == 1 else None
    if axis.label and unit:
        return '%s (%s)' % (axis.label, unit)
    return axis.label or unit


def y_axis(ax, chart, side, grid=True):
    """``ax``'s final y range (the chart's min/max for that side), labels and unit."""
    limits(ax, getattr(chart, side))
    ticks.y_ticks(ax, chart.height, side, grid)
    label = _axis_label(chart, side)
    if label:  # at the figure's edge: the tick labels' widths vary
        box = ax.get_position()
        ax.figure.text(4 / chart.width if side == 'left' else 1 - 4 / chart.width,
                       (box.y0 + box.y1) / 2, label, rotation=90, fontsize=FONT,
                       color=TEXT_COLOR, ha='left' if side == 'left' else 'right',
                       va='center')


def time_series(figure, chart, colors):
    """Lines (or stacked areas) on a UTC time axis, with annotations."""
    right = any(s.axis == 'right' for s in chart.series) or any(
        h.axis == 'right' for h in chart.horizontal)
    box = plot_box(chart, legend_rows(chart), right)
    xlim = _time_range(chart)
    used = {side: plot.Plot(figure, box, xlim, (0, 1))
            for side in (('left', 'right') if right else ('left',))}
    if chart.stacked:
        handles, drawn = _stacked(used, chart, colors)
    else:
        handles = _lines(used, chart, colors)
        drawn = {side: [s.values for s in chart.series if _side(s.axis, used) == side]
                 for side in used}
    for side, area in used.items():
        area.set_ylim(*_data_range(drawn.get(side, []) + [
            [note.value] for note in chart.horizontal if _side(note.axis, used) == side]))
        y_axis(area, chart, side, grid=side == 'left')
    used['left'].bottom_line()
    for note in chart.horizontal:  # a threshold, as CloudWatch draws it
        used[_side(note.axis, used)].axhline(note.value, color=note.color or ANNOTATION_COLOR,
                                             linewidth=1.2)
        horizontal(used[_side(note.axis, used)], note)
    for note in chart.vertical:
        _vertical(used['left'], note)
    zone, name = ticks.zone_of(chart.utc_offset)
    ticks.time_ticks(used['left'], chart.width, zone, name)
    add_title(figure, chart)
    add_legend(figure, chart, handles)


def _side(axis, used):
    return axis if axis in used else 'left'


def _data_range(arrays):
    """(low, high) of the finite values of ``arrays``, widened by 5 % each way (as
    matplotlib's autoscaling)."""
    finite = [a[numpy.isfinite(a)] for a in map(numpy.asarray, arrays)]
    finite = [a for a in finite if len(a)]
    if not finite:
        return 0.0, 1.0
    low = float(min(a.min() for a in finite))
    high = float(max(a.max() for a in finite))
    span = (high - low) or abs(high) * 0.1 or 1.0
    return low - span * 0.05, high + span * 0.05


def _days(stamps):
    """matplotlib's dates (float days since 1970) of int64 nanoseconds."""
    return numpy.asarray(stamps, dtype=numpy.float64) / _DAY_NS


def broken(stamps, values):
    """The points with a NaN inserted where a step is much longer than the usual one, so
    that a gap in the data is drawn as a gap."""
    if len(stamps) < 3:
        return stamps, values
    steps = numpy.diff(stamps)
    usual = numpy.median(steps)
    cuts = numpy.flatnonzero(steps > usual * GAP_STEPS) + 1
    if not len(cuts):
        return stamps, values
    stamps = numpy.insert(stamps.astype(numpy.float64), cuts, stamps[cuts - 1] + usual)
    return stamps, numpy.insert(values, cuts, numpy.nan)


def _lines(axes, chart, colors):
    handles = []
    width = 1.5 if chart.width >= 300 else 1.0
    for series, color in zip(chart.series, colors):
        stamps, values = broken(series.timestamps, series.values)
        few = len(stamps) <= max(2, chart.width // 12)
        line, = axes[_side(series.axis, axes)].plot(
            _days(stamps), values, color=color, linewidth=width, marker='o' if few else None,
            markersize=3, solid_joinstyle='round')
        handles.append(line)
    return handles


def _stacked(axes, chart, colors):
    """Areas stacked in the order given, on the union of their timestamps (a missing value
    adds nothing); stacking is per axis. (handles, {side: [tops, base]})."""
    handles, tops = [], {}
    grid = numpy.unique(numpy.concatenate([s.timestamps for s in chart.series]))
    x = _days(grid)
    for series, color in zip(chart.series, colors):
        side = _side(series.axis, axes)
        on_grid = numpy.zeros(len(grid))
        where = numpy.searchsorted(grid, series.timestamps)
        on_grid[where] = numpy.nan_to_num(series.values)
        base = tops.get(side, numpy.zeros(len(grid)))
        top = tops[side] = base + on_grid
        axes[side].fill_between(x, base, top, color=color, alpha=0.35, linewidth=0)
        line, = axes[side].plot(x, top, color=color, linewidth=1.2)
        handles.append(line)
    return handles, {side: [top, numpy.zeros(1)] for side, top in tops.items()}


def _time_range(chart):
    """The x limits (matplotlib dates): the chart's, or its data's."""
    stamps = [s.timestamps for s in chart.series if len(s.timestamps)]
    start = chart.start if chart.start is not None else min(int(s[0]) for s in stamps)
    end = chart.end if chart.end is not None else max(int(s[-1]) for s in stamps)
    if end <= start:
        end = start + 60 * 10 ** 9
    return start / _DAY_NS, end / _DAY_NS


def limits(ax, axis):
    """The y range: the data's (from 0 for positive data near it, as CloudWatch draws it),
    or the axis' min and max where given."""
    low, high = ax.get_ylim()
    if axis.min is None and low > 0 >= low - (high - low) * 0.5:
        low = 0
    low = axis.min if axis.min is not None else low
    high = axis.max if axis.max is not None else high
    if high <= low:
        high = low + 1
    ax.set_ylim(low, high)
    ax.set_autoscaley_on(False)


def horizontal(ax, note):
    color = note.color or ANNOTATION_COLOR
    low, high = ax.get_ylim()
    if note.until is not None:
        ax.axhline(note.until, color=color, linewidth=1.2)
        ax.axhspan(note.value, note.until, color=color, alpha=0.15, linewidth=0, zorder=0.8)
    elif note.fill in ('above', 'below'):
        ax.axhspan(note.value, high if note.fill == 'above' else low, color=color,
                   alpha=0.12, linewidth=0, zorder=0.8)
    if note.label and low <= note.value <= high:
        ax.text(1, note.value, note.label, transform=transforms.offset_copy(
            ax.get_yaxis_transform(), fig=ax.figure, x=-3, y=2, units='dots'), ha='right',
            va='bottom', fontsize=FONT - 1, color=color)


def _vertical(ax, note):
    color = note.color or ANNOTATION_COLOR
    at = note.at / _DAY_NS
    low, high = ax.get_xlim()
    ax.axvline(at, color=color, linewidth=1.2)
    if note.until is not None:
        ax.axvline(note.until / _DAY_NS, color=color, linewidth=1.2)
        ax.axvspan(at, note.until / _DAY_NS, color=color, alpha=0.15, linewidth=0,
                   zorder=0.8)
    elif note.fill in ('before', 'after'):
        ax.axvspan(low if note.fill == 'before' else at, at if note.fill == 'before' else high,
                   color=color, alpha=0.12, linewidth=0, zorder=0.8)
    ax.set_xlim(low, high)
    if note.label and low <= at <= high:
        ax.text(at, 1, note.label, transform=transforms.offset_copy(
            ax.get_xaxis_transform(), fig=ax.figure, x=3, y=-3, units='dots'), ha='left',
            va='top', fontsize=FONT - 1, color=color)
