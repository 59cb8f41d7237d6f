"""InfluxDB's line protocol (what Telegraf and InfluxDB clients write) read into points, and
the metric names Gnocchi's ``/v1/influxdb/write`` gives them. Pure: no I/O."""

import dataclasses

# Nanoseconds per unit of the write's ``precision`` (InfluxDB 1.x's values).
PRECISIONS = {'n': 1, 'ns': 1, 'u': 10 ** 3, 'us': 10 ** 3, 'ms': 10 ** 6, 's': 10 ** 9,
              'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9}
_BOOLEANS = frozenset(('t', 'T', 'true', 'True', 'TRUE', 'f', 'F', 'false', 'False', 'FALSE'))


class LineError(ValueError):
    """A line that is not line protocol; ``number`` counts from 1."""

    def __init__(self, number):
        super().__init__('Unable to parse line %d' % number)
        self.number = number


@dataclasses.dataclass
class Point:
    measurement: str
    tags: dict
    fields: dict  # name -> float; string and boolean fields are left out
    timestamp: 'int | None'  # nanoseconds since the epoch; None: the time of the write


def _split(text, separator, quotes=False):
    """``text`` cut at each ``separator`` that no backslash escapes (and, with ``quotes``,
    that is outside a double-quoted string); the pieces keep their escapes."""
    pieces, start, escaped, quoted = [], 0, False, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == '\\':
            escaped = True
        elif quotes and char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            pieces.append(text[start:i])
            start = i + 1
    if quoted:
        raise ValueError('unterminated string')
    pieces.append(text[start:])
    return pieces


def _unescape(text):
    out, escaped = [], False
    for char in text:
        if escaped or char != '\\':
            out.append(char)
            escaped = False
        else:
            escaped = True
    if escaped:  # a trailing backslash is itself
        out.append('\\')
    return ''.join(out)


def _pair(text):
    pieces = _split(text, '=', quotes=True)
    if len(pieces) != 2 or not pieces[0] or not pieces[1]:
        raise ValueError(text)
    return _unescape(pieces[0]), pieces[1]


def _field_value(text):
    """A number, or None for a string or boolean field (kept out, as Gnocchi does)."""
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise ValueError(text)
        return None
    if text in _BOOLEANS:
        return None
    if text[-1] in 'iu':
        return float(int(text[:-1]))
    value = float(text)
    if text.lower().lstrip('+-') in ('nan', 'inf', 'infinity'):
        raise ValueError(text)
    return value


def parse_line(line, number, precision='ns'):
    """The Point of one line; LineError (with ``number``) when it is not line protocol."""
    try:
        parts = _split(line, ' ', quotes=True)
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise ValueError(line)
        series = _split(parts[0], ',')
        tags = dict(_pair(tag) for tag in series[1:])
        tags = {key: _unescape(value) for key, value in tags.items()}
        fields = {}
        for field in _split(parts[1], ',', quotes=True):
            key, value = _pair(field)
            fields[key] = _field_value(value)
        timestamp = None
        if len(parts) == 3:
            if not parts[2].lstrip('-').isdigit():
                raise ValueError(parts[2])
            timestamp = int(parts[2]) * PRECISIONS[precision]
    except (ValueError, KeyError):
        raise LineError(number) from None
    return Point(_unescape(series[0]), tags,
                 {k: v for k, v in fields.items() if v is not None}, timestamp)


def parse(text, precision='ns'):
    """The Points of a write's body (``str``), empty lines skipped; LineError."""
    return [parse_line(line, number, precision)
            for number, line in enumerate(text.split('\n'), 1) if line.strip()]


def metric_name(point, field, tags):
    """Gnocchi's name for a field: ``<measurement>.<field>@<tag>=<value>,...`` with the
    tags (but the resource's) in name order, every ``/`` made ``_`` (no ``/`` in a metric
    name)."""
    name = '%s.%s' % (point.measurement, field)
    if tags:
        name += '@' + ','.join('%s=%s' % (key, tags[key]) for key in sorted(tags))
    return name.replace('/', '_')
