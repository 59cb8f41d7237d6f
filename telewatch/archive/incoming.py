"""Measures waiting to be aggregated: the bytes of one write, and their framing in a log.

Pure: no I/O. A write of measures for many metrics becomes, per sack, one record::

    header   "TWIN" | version u8 (1) | reserved 3 bytes | n_metrics u32
    index    per metric: id (16 bytes, the UUID) | n_measures u32
    data     every metric's timestamps i64 ns, in index order, then every value f64

A log (the file driver's incoming buffer) holds records as frames, ``length u32 | crc32 u32
| record``; a frame cut short by a crash or a full disk, or whose checksum fails, was never
acknowledged: readers skip it and go on with the frames after it.
"""

import functools
import struct
import uuid
import zlib

import numpy

from telewatch.archive import errors

MAGIC = b'TWIN'
VERSION = 1
_HEADER = struct.Struct('<4sB3xI')
_ENTRY = numpy.dtype([('id', 'S16'), ('count', '<u4')])
_FRAME = struct.Struct('<II')
_I8 = numpy.dtype('<i8')
_F8 = numpy.dtype('<f8')


@functools.lru_cache(maxsize=1 << 16)
def _uuid(metric_id):
    return uuid.UUID(str(metric_id))


def sack_of(metric_id, sacks):
    """The sack (0 .. sacks - 1) of a metric id (a UUID or its text); stable everywhere."""
    return _uuid(metric_id).int % sacks


def encode(measures):
    """The record of ``{metric_id: (int64 ns timestamps, float64 values)}``."""
    index = numpy.empty(len(measures), dtype=_ENTRY)
    stamps, values = [], []
    for i, (metric_id, (ts, vals)) in enumerate(measures.items()):
        index[i] = (_uuid(metric_id).bytes, len(ts))
        stamps.append(numpy.asarray(ts, dtype=_I8))
        values.append(numpy.asarray(vals, dtype=_F8))
    parts = [_HEADER.pack(MAGIC, VERSION, len(measures)), index.tobytes()]
    parts += [a.tobytes() for a in stamps] + [a.tobytes() for a in values]
    return b''.join(parts)


def decode(record):
    """``{metric_id (text): (timestamps, values)}`` of a record; InvalidIncoming if not one."""
    if len(record) < _HEADER.size:
        raise errors.InvalidIncoming('truncated header')
    magic, version, count = _HEADER.unpack_from(record)
    if magic != MAGIC or version != VERSION:
        raise errors.InvalidIncoming('not a version %d incoming record' % VERSION)
    index_end = _HEADER.size + count * _ENTRY.itemsize
    if len(record) < index_end:
        raise errors.InvalidIncoming('truncated index')
    index = numpy.frombuffer(record, dtype=_ENTRY, count=count, offset=_HEADER.size)
    total = int(index['count'].sum())
    if len(record) != index_end + total * 16:
        raise errors.InvalidIncoming('%d bytes of measures for %d measures'
                                     % (len(record) - index_end, total))
    stamps = numpy.frombuffer(record, dtype=_I8, count=total, offset=index_end)
    values = numpy.frombuffer(record, dtype=_F8, count=total, offset=index_end + total * 8)
    out = {}
    start = 0
    for raw_id, n in zip(index['id'].tolist(), index['count'].tolist()):
        out[str(uuid.UUID(bytes=raw_id.ljust(16, b'\0')))] = (
            stamps[start:start + n], values[start:start + n])
        start += n
    return out


def split_by_sack(measures, sacks):
    """``{sack: record}`` of ``{metric_id: (timestamps, values)}``."""
    grouped = {}
    for metric_id, series in measures.items():
        grouped.setdefault(sack_of(metric_id, sacks), {})[metric_id] = series
    return {sack: encode(group) for sack, group in grouped.items()}


def frame(record):
    """A record framed for a log: its length and CRC-32 first."""
    return _FRAME.pack(len(record), zlib.crc32(record)) + record


def unframe(data):
    """The records of a log's bytes, and how many bytes were skipped as damaged.

    A frame cut short or failing its checksum (a write that failed or was killed half way,
    never acknowledged) is skipped, and reading goes on at the next frame whose length,
    checksum and record magic agree: frames written behind a tear are never lost.
    """
    records, offset, skipped = [], 0, 0
    while offset + _FRAME.size <= len(data):
        record = _frame_at(data, offset)
        if record is None:
            following = _next_frame(data, offset)
            skipped += following - offset
            offset = following
        else:
            records.append(record)
            offset += _FRAME.size + len(record)
    return records, skipped + len(data) - offset


def _frame_at(data, offset):
    """The record of the frame at ``offset``, None when there is no whole, valid one."""
    if offset + _FRAME.size > len(data):
        return None
    length, crc = _FRAME.unpack_from(data, offset)
    end = offset + _FRAME.size + length
    if end > len(data):
        return None
    record = bytes(memoryview(data)[offset + _FRAME.size:end])
    return record if zlib.crc32(record) == crc else None


def _next_frame(data, damaged):
    """The offset of the first valid frame after the damaged one at ``damaged``, else the
    end of ``data``. Every record starts with MAGIC, so only those places are tried."""
    search = damaged + _FRAME.size + 1
    while True:
        found = data.find(MAGIC, search)
        if found < 0:
            return len(data)
        if _frame_at(data, found - _FRAME.size) is not None:
            return found - _FRAME.size
        search = found + 1
