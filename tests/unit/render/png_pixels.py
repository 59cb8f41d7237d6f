"""What a test reads from a PNG: its size, and where pixels of a colour are (Pillow)."""

import io

import numpy
from PIL import Image


def decode(data):
    """The RGB pixels (height x width x 3 uint8) of PNG bytes; AssertionError if they are
    not a PNG."""
    assert data[:8] == b'\x89PNG\r\n\x1a\n', data[:16]
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == 'PNG'
        return numpy.asarray(image.convert('RGB'))


def rgb(color):
    return numpy.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])


def mask(pixels, color, tolerance=40):
    """Where the pixels are within ``tolerance`` (per channel) of '#rrggbb'."""
    return (numpy.abs(pixels.astype(int) - rgb(color)) <= tolerance).all(axis=2)


def line_rows(pixels, color):
    """{column: mean row} of the columns holding pixels of ``color``."""
    found = mask(pixels, color)
    columns = numpy.flatnonzero(found.any(axis=0))
    return {int(c): float(numpy.flatnonzero(found[:, c]).mean()) for c in columns}


def dark_pixels(pixels, box):
    """How many pixels of text darkness lie in ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    region = pixels[top:bottom, left:right].astype(int)
    return int((region.max(axis=2) < 140).sum())
