"""A metric state to bytes and back, for the storage drivers: compact, versioned, pure.

Layout, little-endian; integers and floats go in two sections so that only the integers,
which delta encoding makes small and repetitive, pay for zlib (level 1)::

    header    "TWAS" | version u8 (1) | flags u8 (bit 0: integer section is zlib)
              | reserved u16 | integer section length u32
    integers  n_methods u16 | n_tables u16 | methods_len u32 | n_raw u64
              methods             UTF-8, names joined by "\\n"
              raw timestamps      i64[n_raw], first absolute then deltas (ns)
              per table:  granularity_ns i64 | n_rows u64
                          bucket keys   i64[n_rows], in granularities: first, then deltas
                          counts        i64[n_rows]
                          rate_counts   i64[n_rows]
    floats    raw values f64[n_raw], then per table f64[n_methods * n_rows], method-major
"""

import struct
import sys
import zlib

import numpy

from telewatch.archive import aggregation
from telewatch.archive import errors
from telewatch.archive import state as state_mod

MAGIC = b'TWAS'
VERSION = 1
_ZLIB = 0x01
_HEADER = struct.Struct('<4sBBHI')
_COUNTS = struct.Struct('<HHIQ')
_TABLE = struct.Struct('<qQ')
_I8 = numpy.dtype('<i8')
_F8 = numpy.dtype('<f8')
# Up to this many rows from the first asked, loads_series reads them without numpy.
_FEW = 16
# Up to this many rows, the deltas of a table are summed without numpy.
_FEW_SUM = 256
_LITTLE = sys.byteorder == 'little'


def _deltas(array):
    out = numpy.empty(len(array), dtype=_I8)
    if len(array):
        out[0] = array[0]
        numpy.subtract(array[1:], array[:-1], out=out[1:])
    return out


def dumps(state, compress=True):
    """The bytes of a ``MetricState``."""
    methods = '\n'.join(state.methods).encode('utf-8')
    integers = [_COUNTS.pack(len(state.methods), len(state.tables), len(methods),
                             len(state.raw_timestamps)),
                methods, _deltas(state.raw_timestamps).tobytes()]
    floats = [state.raw_values.astype(_F8, copy=False).tobytes()]
    for table in state.tables:
        g = table.granularity_ns
        integers += [_TABLE.pack(g, len(table)), _deltas(table.timestamps // g).tobytes(),
                     table.counts.astype(_I8, copy=False).tobytes(),
                     table.rate_counts.astype(_I8, copy=False).tobytes()]
        floats.append(numpy.ascontiguousarray(table.values, dtype=_F8).tobytes())
    integers = b''.join(integers)
    if compress:
        integers = zlib.compress(integers, 1)
    header = _HEADER.pack(MAGIC, VERSION, _ZLIB if compress else 0, 0, len(integers))
    return b''.join([header, integers] + floats)


class _Reader:
    """Reads consecutive fields of a buffer; InvalidState when it runs short."""

    def __init__(self, data, offset=0):
        self.data = data
        self.offset = offset

    def struct(self, layout):
        self.need(layout.size)
        fields = layout.unpack_from(self.data, self.offset)
        self.offset += layout.size
        return fields

    def array(self, dtype, count):
        self.need(dtype.itemsize * count)
        array = numpy.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += dtype.itemsize * count
        return array.astype(dtype.newbyteorder('='))

    def skip(self, size):
        self.need(size)
        self.offset += size

    def raw(self, size):
        self.need(size)
        self.offset += size
        return self.data[self.offset - size:self.offset]

    def need(self, size):
        if self.offset + size > len(self.data):
            raise errors.InvalidState('truncated data')


def _sections(data):
    """``(integers reader, floats reader, n_tables, methods, n_raw)`` after the header."""
    data = bytes(data)
    if len(data) < _HEADER.size:
        raise errors.InvalidState('truncated header')
    magic, version, flags, _, length = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise errors.InvalidState('not a telewatch archive state')
    if version != VERSION:
        raise errors.UnsupportedState('unsupported state version %d' % version)
    floats = _Reader(data, _HEADER.size)
    integers = floats.raw(length)
    if flags & _ZLIB:
        try:
            integers = zlib.decompress(integers)
        except zlib.error as exc:
            raise errors.InvalidState('corrupted integer section: %s' % exc) from None
    integers = _Reader(integers)
    n_methods, n_tables, methods_len, n_raw = integers.struct(_COUNTS)
    try:
        methods = tuple(integers.raw(methods_len).decode('utf-8').split('\n'))
    except UnicodeDecodeError:
        raise errors.InvalidState('method names are not UTF-8') from None
    if len(methods) != n_methods or not n_tables:
        raise errors.InvalidState('inconsistent header')
    return integers, floats, n_tables, methods, n_raw


def loads(data):
    """The ``MetricState`` of bytes from ``dumps``; InvalidState if they are not that."""
    integers, floats, n_tables, methods, n_raw = _sections(data)
    # Every field left is 8 bytes: each section is read (and copied) once, then sliced.
    ints, flts = _Words(integers, _I8), _Words(floats, _F8)
    raw_ts = numpy.cumsum(ints.take(n_raw))
    raw_values = flts.take(n_raw)
    tables = tuple(_read_table(ints, flts, methods) for _ in range(n_tables))
    if ints.left or flts.left:
        raise errors.InvalidState('trailing data')
    return state_mod.MetricState(raw_ts, raw_values, tables)


class _Words:
    """The rest of a section as 8-byte words, taken in order; InvalidState when short."""

    def __init__(self, reader, dtype):
        size = len(reader.data) - reader.offset
        self.words = numpy.frombuffer(reader.data, dtype, size // 8, reader.offset).astype(
            dtype.newbyteorder('='))
        self.at = 0
        self.extra = size % 8

    def take(self, count):
        if count < 0 or self.at + count > len(self.words):
            raise errors.InvalidState('truncated data')
        self.at += count
        return self.words[self.at - count:self.at]

    @property
    def left(self):
        return len(self.words) - self.at + self.extra


def loads_series(data, granularity_ns, method, start_ns=None, offset=0):
    """``(int64 ns timestamps, float64 values)`` of one granularity and one method (a
    parsed ``policy.Method``) of bytes from ``dumps`` (at ``offset`` of ``data``), from the
    bucket of ``start_ns`` on, as ``MetricState.series`` gives them, read-only; None if the
    state has no such granularity or method. Only those numbers are decoded (a reader of
    the recent points of many metrics pays for what it reads). InvalidState if the bytes
    are not a state."""
    ints, at_int, at_float, methods, n_tables = _series_head(data, offset)
    if method.name not in methods:
        return None
    row, width = methods.index(method.name), _F8.itemsize * len(methods)
    for _ in range(n_tables):
        if at_int + _TABLE.size > len(ints):
            raise errors.InvalidState('truncated data')
        g, rows = _TABLE.unpack_from(ints, at_int)
        at_int += _TABLE.size
        table_floats, at_float = at_float, at_float + width * rows
        if g != granularity_ns:
            at_int += 3 * _I8.itemsize * rows
            continue
        if at_int + 3 * _I8.itemsize * rows > len(ints) or at_float > len(data):
            raise errors.InvalidState('truncated data')
        return _table_series(ints, data, at_int, table_floats + _F8.itemsize * rows * row,
                             rows, g, method, start_ns)
    return None


def _series_head(data, offset):
    """``(integer section, offset of the first table in it, offset of the first table's
    floats in data, methods, n_tables)`` of the state at ``offset`` of ``data``: the
    header as ``_sections`` checks it, in the fewest steps (read for every alarm)."""
    data = bytes(data)
    if len(data) < offset + _HEADER.size:
        raise errors.InvalidState('truncated header')
    magic, version, flags, _, length = _HEADER.unpack_from(data, offset)
    if magic != MAGIC:
        raise errors.InvalidState('not a telewatch archive state')
    if version != VERSION:
        raise errors.UnsupportedState('unsupported state version %d' % version)
    floats_at = offset + _HEADER.size + length
    if floats_at > len(data):
        raise errors.InvalidState('truncated data')
    ints = data[offset + _HEADER.size:floats_at]
    if flags & _ZLIB:
        try:
            ints = zlib.decompress(ints)
        except zlib.error as exc:
            raise errors.InvalidState('corrupted integer section: %s' % exc) from None
    if len(ints) < _COUNTS.size:
        raise errors.InvalidState('truncated data')
    n_methods, n_tables, methods_len, n_raw = _COUNTS.unpack_from(ints)
    at_int = _COUNTS.size + methods_len
    try:
        methods = tuple(ints[_COUNTS.size:at_int].decode('utf-8').split('\n'))
    except UnicodeDecodeError:
        raise errors.InvalidState('method names are not UTF-8') from None
    if len(methods) != n_methods or not n_tables or at_int > len(ints):
        raise errors.InvalidState('inconsistent header')
    return (ints, at_int + _I8.itemsize * n_raw, floats_at + _F8.itemsize * n_raw, methods,
            n_tables)


def _last_key(ints, at_int, rows):
    """The last bucket key of a table: the sum of its deltas (a short table's without
    numpy, whose call costs more than a few dozen additions)."""
    if rows <= _FEW_SUM and _LITTLE:
        return sum(memoryview(ints)[at_int:at_int + _I8.itemsize * rows].cast('q'))
    return int(numpy.frombuffer(ints, _I8, rows, at_int).sum()) if rows else 0


def _table_series(ints, floats, at_int, at_float, rows, g, method, start_ns):
    """``loads_series`` of a table whose keys start at ``at_int`` and the method's values at
    ``at_float``. Keys are at least one granularity apart, so those from ``start_ns``'s
    bucket on are among the last ``last - start + 1``: a reader of the recent points sums
    the deltas once and adds up only those, not the whole table."""
    counts_at = at_int + _I8.itemsize * rows * (2 if method.rate else 1)
    if start_ns is None:
        keys, first = numpy.frombuffer(ints, _I8, rows, at_int).cumsum() * g, 0
    else:
        last = _last_key(ints, at_int, rows)
        first = rows - min(rows, max(0, last - start_ns // g + 1))
        if rows - first <= _FEW:
            return _few(ints, floats, at_int, counts_at, at_float, first, rows, last, g,
                        method, start_ns)
        keys = numpy.frombuffer(ints, _I8, rows, at_int)[first:].cumsum()
        keys += last - int(keys[-1])
        keys *= g
        cut = int(keys.searchsorted(start_ns - start_ns % g))
        keys, first = keys[cut:], first + cut
    present = numpy.frombuffer(ints, _I8, rows - first,
                               counts_at + _I8.itemsize * first) >= method.min_count
    values = numpy.frombuffer(floats, _F8, rows - first, at_float + _F8.itemsize * first)
    return keys[present], values[present]


def _few(ints, floats, at_int, counts_at, at_float, first, rows, last, g, method, start_ns):
    # A few points (an alarm's window): struct and plain ints beat a dozen numpy calls.
    few = rows - first
    deltas = struct.unpack_from('<%dq' % few, ints, at_int + _I8.itemsize * first)
    counts = struct.unpack_from('<%dq' % few, ints, counts_at + _I8.itemsize * first)
    values = struct.unpack_from('<%dd' % few, floats, at_float + _F8.itemsize * first)
    key, start_key, min_count = last - sum(deltas), start_ns // g, method.min_count
    out_keys, out_values = [], []
    for delta, count, value in zip(deltas, counts, values):
        key += delta
        if key >= start_key and count >= min_count:
            out_keys.append(key * g)
            out_values.append(value)
    return numpy.array(out_keys, numpy.int64), numpy.array(out_values, numpy.float64)


def _read_table(ints, flts, methods):
    g, rows = ints.take(2).tolist()  # _TABLE: i64, then u64 (a huge one: negative)
    if g <= 0:
        raise errors.InvalidState('granularity must be > 0')
    columns = ints.take(3 * rows) if rows >= 0 else ints.take(-1)
    keys = numpy.cumsum(columns[:rows]) * g
    values = flts.take(rows * len(methods)).reshape(len(methods), rows)
    return aggregation.AggregateTable(g, methods, keys, columns[rows:2 * rows],
                                      columns[2 * rows:], values)
