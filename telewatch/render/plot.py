"""A plot area without matplotlib's Axes: a box of the figure in pixels, data limits, and
the few drawing calls a time series needs, each one artist on the figure.

An Axes builds two Axis objects, their ticks, spines, a patch and a dozen transforms
before it draws anything: a quarter of a chart's time, spent on what ``ticks`` draws anyway.
``Plot`` offers the subset of the Axes interface that ``draw`` and ``ticks`` use, so the bar
view can still use a real Axes through the same functions.
"""

from matplotlib import collections
from matplotlib import lines
from matplotlib import patches
from matplotlib import transforms

SPINE_COLOR = '#aab7b8'


class Plot:
    """``box``: (left, bottom, right, top) in pixels of ``figure``; ``xlim``, ``ylim``."""

    def __init__(self, figure, box, xlim, ylim):
        self.figure = figure
        self._box = transforms.Bbox.from_extents(*box)
        self._data = transforms.Bbox.from_extents(xlim[0], ylim[0], xlim[1], ylim[1])
        self.transData = transforms.BboxTransform(self._data, self._box)
        self.transAxes = transforms.BboxTransformTo(self._box)

    def get_position(self):
        """The box as figure fractions (as an Axes answers)."""
        return transforms.Bbox(self._box.get_points() / self.figure.bbox.size)

    def get_xlim(self):
        return tuple(self._data.intervalx)

    def set_xlim(self, low, high):
        self._data.intervalx = low, high

    def get_ylim(self):
        return tuple(self._data.intervaly)

    def set_ylim(self, low, high):
        self._data.intervaly = low, high

    def set_autoscaley_on(self, _on):
        """Limits are only ever set."""

    def get_yaxis_transform(self):
        """x in fractions of the box, y in data."""
        return transforms.blended_transform_factory(self.transAxes, self.transData)

    def get_xaxis_transform(self):
        """x in data, y in fractions of the box."""
        return transforms.blended_transform_factory(self.transData, self.transAxes)

    def _add(self, artist):
        if artist.get_clip_on():
            artist.set_clip_box(self._box)
        self.figure.add_artist(artist)
        return artist

    def add_collection(self, collection, autolim=False):
        return self._add(collection)

    def text(self, x, y, text, transform=None, clip_on=False, **kwargs):
        return self.figure.text(x, y, text, transform=transform or self.transData,
                                clip_on=clip_on, **kwargs)

    def plot(self, x, y, **kwargs):
        return [self._add(lines.Line2D(x, y, transform=self.transData, **kwargs))]

    def fill_between(self, x, low, high, **kwargs):
        points = [list(zip(x, high)) + list(zip(x[::-1], low[::-1]))]
        return self._add(collections.PolyCollection(points, transform=self.transData,
                                                    **kwargs))

    def axhline(self, y, **kwargs):
        return self._add(lines.Line2D([0, 1], [y, y], transform=self.get_yaxis_transform(),
                                      **kwargs))

    def axvline(self, x, **kwargs):
        return self._add(lines.Line2D([x, x], [0, 1], transform=self.get_xaxis_transform(),
                                      **kwargs))

    def axhspan(self, low, high, **kwargs):
        return self._add(patches.Rectangle((0, low), 1, high - low,
                                           transform=self.get_yaxis_transform(), **kwargs))

    def axvspan(self, low, high, **kwargs):
        return self._add(patches.Rectangle((low, 0), high - low, 1,
                                           transform=self.get_xaxis_transform(), **kwargs))

    def bottom_line(self):
        self._add(lines.Line2D([0, 1], [0, 0], transform=self.transAxes, color=SPINE_COLOR,
                               linewidth=0.8, clip_on=False))
