"""The views of a chart other than time series: singleValue (each series' last value in
large type), bar and pie (of the last values), and the "No data available." image."""

from telewatch import render
from telewatch.render import draw
from telewatch.render import ticks


def no_data(figure, chart):
    """The chart's title and "No data available." in the middle, at the chart's size."""
    draw.add_title(figure, chart)
    figure.text(0.5, 0.5, render.NO_DATA, ha='center', va='center', color='#545b64',
                fontsize=max(6, min(14, chart.width // 40)))


def _label(series):
    unit = series.unit if series.unit and series.unit != 'None' else None
    return '%s (%s)' % (series.label, unit) if unit else series.label


def singleValue(figure, chart, colors):  # noqa: N802 (CloudWatch's name of the view)
    """A grid of cells, one per series: its label (and unit) in its colour above its last
    value in type as large as the cell allows."""
    draw.add_title(figure, chart)
    count = len(chart.series)
    columns = max(1, min(count, chart.width // 150))
    rows = -(-count // columns)
    top = 1 - (26 if chart.title else 6) / chart.height
    cell_height, cell_width = top / rows, chart.width / columns
    for index, (series, color) in enumerate(zip(chart.series, colors)):
        row, column = divmod(index, columns)
        x = (column + 0.5) / columns
        y = top - (row + 0.5) * cell_height
        value = series.last()
        text = '--' if value is None else ticks.short_number(value)
        # Points: at most a third of the cell's height, and the digits within its width.
        size = min(cell_height * chart.height / 3, cell_width * 0.8 / (0.6 * len(text)))
        figure.text(x, y + cell_height * 0.22, _label(series), ha='center', va='center',
                    fontsize=draw.FONT, color=color)
        figure.text(x, y - cell_height * 0.08, text, ha='center', va='center',
                    fontsize=max(6, min(48, size * 72 / draw.DPI)), color=draw.TEXT_COLOR)


def bar(figure, chart, colors):
    """A bar per series, its last value; the y axis and horizontal annotations apply."""
    draw.margins(figure, chart, draw.legend_rows(chart), False)
    ax = figure.add_subplot()
    values = [series.last() or 0.0 for series in chart.series]
    handles = ax.bar(range(len(values)), values, color=colors, width=0.7)
    for note in chart.horizontal:
        ax.axhline(note.value, color=note.color or draw.ANNOTATION_COLOR, linewidth=1.2)
    ticks.bare(ax)
    draw.y_axis(ax, chart, 'left')
    for note in chart.horizontal:
        draw.horizontal(ax, note)
    draw.add_title(figure, chart)
    draw.add_legend(figure, chart, list(handles))


def pie(figure, chart, colors):
    """A slice per series of positive last value, its share in the legend."""
    draw.margins(figure, chart, draw.legend_rows(chart), False)
    ax = figure.add_subplot()
    values = [max(series.last() or 0.0, 0.0) for series in chart.series]
    total = sum(values)
    if total <= 0:
        ax.set_axis_off()
        no_data(figure, chart)
        return
    wedges, _ = ax.pie(values, colors=colors, startangle=90, counterclock=False,
                       wedgeprops={'linewidth': 1, 'edgecolor': 'white'})
    ax.set_aspect('equal')
    draw.add_title(figure, chart)
    draw.add_legend(figure, chart, wedges, ['%s (%.1f%%)' % (series.label, 100 * value / total)
                                            for series, value in zip(chart.series, values)])
