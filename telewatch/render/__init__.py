"""Server-side PNG charts: one renderer for CloudWatch's GetMetricWidgetImage and the Gnocchi
API's ``Accept: image/png``. A chart is plain data (``Chart``); ``png(chart)`` draws it.

Importing this package costs nothing more than numpy: matplotlib is imported by ``png`` on
the first chart a process draws (``telewatch.render.draw``), never on the API's other paths.
"""

import dataclasses
import typing

import numpy

VIEWS = ('timeSeries', 'singleValue', 'bar', 'pie')
LEGEND_POSITIONS = ('bottom', 'right', 'hidden')
NO_DATA = 'No data available.'
MAX_SIZE = 2000  # pixels, either side (CloudWatch's limit)


@dataclasses.dataclass(frozen=True)
class Series:
    """One line: ``timestamps`` int64 nanoseconds since the epoch (ascending), ``values``
    float64 (NaN: no value); ``color`` '#rrggbb' (None: the palette's next); ``axis`` 'left'
    or 'right'; ``unit`` shown on its axis."""

    label: str
    timestamps: numpy.ndarray
    values: numpy.ndarray
    color: typing.Optional[str] = None
    axis: str = 'left'
    unit: typing.Optional[str] = None

    def last(self):
        """The last value that is a number, or None (what singleValue, bar and pie show)."""
        finite = self.values[numpy.isfinite(self.values)]
        return float(finite[-1]) if len(finite) else None


@dataclasses.dataclass(frozen=True)
class Axis:
    """A y axis: ``min``/``max`` (None: from the data), ``label``, ``show_units``."""

    min: typing.Optional[float] = None
    max: typing.Optional[float] = None
    label: typing.Optional[str] = None
    show_units: bool = True


@dataclasses.dataclass(frozen=True)
class Horizontal:
    """A horizontal annotation: a line at ``value`` (a band up to ``until`` when given),
    shaded ``fill`` 'above' or 'below' it when given, on the ``axis`` of that name."""

    value: float
    label: typing.Optional[str] = None
    color: typing.Optional[str] = None
    fill: typing.Optional[str] = None
    axis: str = 'left'
    until: typing.Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Vertical:
    """A vertical annotation at ``at`` (int nanoseconds; a band up to ``until`` when given),
    shaded ``fill`` 'before' or 'after' it when given."""

    at: int
    label: typing.Optional[str] = None
    color: typing.Optional[str] = None
    fill: typing.Optional[str] = None
    until: typing.Optional[int] = None


@dataclasses.dataclass(frozen=True)
class Chart:
    """What to draw: ``series`` in ``view`` (VIEWS) on ``width`` x ``height`` pixels, the
    time axis from ``start`` to ``end`` (int ns; None: the data's) in UTC shifted by
    ``utc_offset`` seconds, ``stacked`` areas, ``left``/``right`` axes, annotations, the
    legend at ``legend`` (LEGEND_POSITIONS). A chart whose series hold no number at all is
    drawn as a "No data available." image of the same size."""

    series: tuple = ()
    view: str = 'timeSeries'
    width: int = 600
    height: int = 400
    title: typing.Optional[str] = None
    start: typing.Optional[int] = None
    end: typing.Optional[int] = None
    stacked: bool = False
    left: Axis = Axis()
    right: Axis = Axis()
    horizontal: tuple = ()
    vertical: tuple = ()
    legend: str = 'bottom'
    utc_offset: int = 0

    def __post_init__(self):
        if self.view not in VIEWS:
            raise ValueError('view %r is none of %s' % (self.view, ', '.join(VIEWS)))
        if self.legend not in LEGEND_POSITIONS:
            raise ValueError('legend %r is none of %s' % (self.legend,
                                                          ', '.join(LEGEND_POSITIONS)))
        for side in (self.width, self.height):
            if not 1 <= side <= MAX_SIZE:
                raise ValueError('a chart is 1 to %d pixels a side' % MAX_SIZE)

    def has_data(self):
        return any(numpy.isfinite(s.values).any() for s in self.series)


def png(chart):
    """The PNG bytes of ``chart`` (see ``Chart``)."""
    from telewatch.render import draw  # matplotlib: on the first chart only
    return draw.png(chart)
