"""The ``file`` storage's write journal: a write that spans many sacks made durable by one
flush of one file (the writer's journal) rather than one per sack log.

A write's ``{sack: record}`` goes first, as one framed entry, to this process's journal
(``incoming/journal/<uuid>.log``, flushed to disk: the write is then durable); then each
record to its sack's log without a flush. Every so often (``checkpoint``) the sack logs
written since are flushed and the journal emptied. A journal whose writer is gone (its
``flock`` is free) is replayed into the sack logs, flushed, and removed (``recover``);
measures a replay writes twice change nothing (the archive keeps one value a timestamp).

Entry: ``MAGIC | 0x80 u8 | 3 reserved | n u32``, then per sack ``sack u32 | length u32 |
record``, framed as the sack logs' records are (``incoming.frame``).
"""

import contextlib
import fcntl
import logging
import os
import struct
import threading
import time
import uuid

from telewatch.archive import incoming
from telewatch import fileio

LOG = logging.getLogger(__name__)

_HEADER = struct.Struct('<4sB3xI')
_PART = struct.Struct('<II')
_VERSION = 0x80
# A checkpoint is due past any of these: the bytes a replay would re-append, the sack log
# files held open until they are flushed, the seconds since the oldest unflushed write.
CHECKPOINT_BYTES = 1 << 20
CHECKPOINT_FILES = 64
CHECKPOINT_SECONDS = 10.0


def encode(records):
    parts = [_HEADER.pack(incoming.MAGIC, _VERSION, len(records))]
    for sack, record in records.items():
        parts += [_PART.pack(sack, len(record)), record]
    return b''.join(parts)


def decode(entry):
    """``[(sack, record)]`` of an entry; ValueError if it is not one."""
    magic, version, count = _HEADER.unpack_from(entry)
    if magic != incoming.MAGIC or version != _VERSION:
        raise ValueError('not a journal entry')
    out, offset = [], _HEADER.size
    for _ in range(count):
        sack, length = _PART.unpack_from(entry, offset)
        offset += _PART.size
        out.append((sack, entry[offset:offset + length]))
        offset += length
    if offset != len(entry):
        raise ValueError('%d bytes of a %d bytes entry read' % (offset, len(entry)))
    return out


class Journal:
    """One process's journal in ``directory`` (thread-safe; a forked child opens its own)."""

    def __init__(self, directory):
        self.directory = directory
        self._pid = None

    def _reset(self):
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._fd = None
        self._path = None
        self._size = 0
        self._in_flight = 0
        self._since = None
        self._files = {}  # (st_dev, st_ino) -> an fd of a sack log written unflushed
        self._dirs = set()  # sack directories where a log was created unflushed

    def _open(self):
        # Locked before it has its name: whoever sees a journal unlocked may replay it.
        os.makedirs(self.directory, exist_ok=True)
        name = uuid.uuid4().hex
        hidden = os.path.join(self.directory, '.new-' + name)
        fd = os.open(hidden, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o640)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._path = os.path.join(self.directory, name + '.log')
        os.rename(hidden, self._path)
        fileio.fsync_dir(self.directory)
        self._fd = fd

    @contextlib.contextmanager
    def entry(self, records):
        """Journal ``records`` durably; the body appends them to the sack logs unflushed,
        handing each log's fd to ``keep``."""
        if self._pid != os.getpid():
            self._reset()
        data = incoming.frame(encode(records))
        with self._lock:
            if self._fd is None:
                self._open()
            try:
                fileio.write_all(self._fd, data)
            except OSError:
                with contextlib.suppress(OSError):  # never leave a torn entry behind
                    os.ftruncate(self._fd, self._size)
                raise
            self._size += len(data)
            self._in_flight += 1
            if self._since is None:
                self._since = time.monotonic()
        try:
            os.fdatasync(self._fd)
            yield self
        finally:
            with self._lock:
                self._in_flight -= 1

    def keep(self, fd, created_in=None):
        """Hold ``fd`` (a sack log just written) until the next checkpoint flushes it (or
        close it if its file is held already); ``created_in``: the log's directory, when
        this write created it."""
        stat = os.fstat(fd)
        with self._lock:
            if created_in is not None:
                self._dirs.add(created_in)
            key = (stat.st_dev, stat.st_ino)
            if key in self._files:
                os.close(fd)
            else:
                self._files[key] = fd

    def due(self):
        return self._pid == os.getpid() and self._since is not None and (
            self._size >= CHECKPOINT_BYTES or len(self._files) >= CHECKPOINT_FILES
            or time.monotonic() - self._since >= CHECKPOINT_SECONDS)

    def checkpoint(self, flush, force=False):
        """Flush the sack logs written since the last checkpoint (``flush(fds)``), then
        empty the journal; skipped while a write is between its entry and its appends
        (the next write does it)."""
        if self._pid != os.getpid():
            return
        with self._lock:
            if self._in_flight or not (force or self.due()):
                return
            fds = list(self._files.values())
            try:
                flush(fds)
                for directory in sorted(self._dirs):
                    fileio.fsync_dir(directory)
            finally:
                for fd in fds:
                    os.close(fd)
                self._files.clear()
            self._dirs.clear()
            # Not flushed: should the old length come back, its entries replay harmlessly.
            os.ftruncate(self._fd, 0)
            self._size, self._since = 0, None

    def close(self, flush):
        """A last checkpoint; the journal file is removed (nothing left to replay)."""
        if self._pid != os.getpid() or self._fd is None:
            return
        self.checkpoint(flush, force=True)
        with contextlib.suppress(OSError):
            os.unlink(self._path)
        os.close(self._fd)
        self._fd = None


def recover(directory, append, sacks):
    """Replay every journal in ``directory`` whose writer is gone: ``append(sack,
    record)`` (a durable append) for each of its records (of sacks 0 .. sacks - 1), then
    remove it; how many records were replayed."""
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return 0
    replayed = 0
    for name in names:
        path = os.path.join(directory, name)
        if not name.endswith('.log') and not _stale(path):
            continue  # a journal being made (locked just after it is created)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            if name.endswith('.log'):
                replayed += _replay(fd, path, append, sacks)
            os.unlink(path)
        finally:
            os.close(fd)
    if replayed:
        fileio.fsync_dir(directory)
    return replayed


def _stale(path):
    try:
        return time.time() - os.stat(path).st_mtime > 3600
    except FileNotFoundError:
        return False


def _replay(fd, path, append, sacks):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    entries, skipped = incoming.unframe(b''.join(chunks))
    if skipped:
        LOG.warning('%s: skipped %d bytes of a torn journal entry (a write never '
                    'acknowledged)', path, skipped)
    count = 0
    for entry in entries:
        try:
            parts = decode(entry)
        except (ValueError, struct.error) as exc:
            LOG.error('%s: an entry that cannot be read is skipped: %s', path, exc)
            continue
        for sack, record in parts:
            if not 0 <= sack < sacks:
                LOG.error('%s: a record of sack %d (of %d) is dropped', path, sack, sacks)
                continue
            append(sack, record)
            count += 1
    if count:
        LOG.info('%s: replayed %d records of a writer that stopped', path, count)
    return count
