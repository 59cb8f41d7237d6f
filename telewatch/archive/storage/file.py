"""The ``file`` series storage: everything under one local directory (the embedded default).

Layout::

    layout.json                     {"version": 1, "sacks": N}: fixed when created
    incoming/<sack>/log             records appended by writers (framed, fdatasync'd)
    incoming/<sack>/round-<n>.log   a log a processor claimed, removed once processed
    incoming/<sack>/next-round      the next round number of the sack
    incoming/<sack>/append.lock     held exclusive to append to the log or claim it
    incoming/<sack>/process.lock    held by the one processor working on the sack
    incoming/journal/<uuid>.log     a writer's journal of writes spanning sacks (``journal``)
    series/<id[:2]>/<id>            a metric's StoredSeries, replaced atomically
    series/<id[:2]>/<id>.spare      the one before (the next one is written over it)
    corrupt/<id>.<ns>               a series found damaged, moved aside by a processor
    processors/<host>-<pid>         each processor's status, for /v1/status

Crash safety: a write returns after its whole frame reached the disk (a write to many
sacks: its journal entry, the sack logs being flushed later), and a frame that
could not be written whole (a full disk) is cut off before anyone appends behind it; a
series is written over its metric's spare file, checked, synced and renamed over the old
one (which becomes the spare) before the claimed logs are removed; a processor killed in
between leaves the logs, and the next one skips what the rounds say is already applied.
The spare spares freeing a file per update, which costs milliseconds of waiting on a
filesystem mounted with ``discard``. Processors on this host split the sacks through
``process.lock`` (``fcntl.flock``); for several hosts use the ``postgresql`` driver.
"""

import concurrent.futures
import contextlib
import ctypes
import errno
import fcntl
import json
import logging
import os
import time

from telewatch.archive import errors
from telewatch.archive import incoming
from telewatch.archive.storage import base
from telewatch.archive.storage import journal
from telewatch import fileio

LOG = logging.getLogger(__name__)

LAYOUT_VERSION = 1
_APPEND_THREADS = 8
_STATUS_SIZE = 4096
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
try:
    _RENAMEAT2 = ctypes.CDLL(None, use_errno=True).renameat2
    _RENAMEAT2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
except (AttributeError, OSError):  # not glibc >= 2.28: renames do it (three of them)
    _RENAMEAT2 = None
# A series' file in one read most often (a day of minutes in three methods is ~40 KB).
_READ_SIZE = 1 << 16


class FileSeriesStorage(base.SeriesStorage):
    """Series and incoming measures in files under ``root``."""

    def __init__(self, root, sacks=32):
        super().__init__(sacks)
        self.root = os.path.abspath(root)
        self._ready = False
        self._pool = None
        self._journal = None

    @property
    def location(self):
        return 'file://' + self.root

    def upgrade(self):
        layout_path = os.path.join(self.root, 'layout.json')
        try:
            with open(layout_path) as f:
                layout = json.load(f)
        except FileNotFoundError:
            layout = None
        except (OSError, ValueError) as exc:
            raise errors.InvalidState('%s: %s' % (layout_path, exc)) from None
        if layout is None:
            for sack in range(self.sacks):
                os.makedirs(self._sack_dir(sack), exist_ok=True)
            os.makedirs(os.path.join(self.root, 'series'), exist_ok=True)
            fileio.write_atomically(layout_path, json.dumps(
                {'version': LAYOUT_VERSION, 'sacks': self.sacks}).encode())
        elif layout.get('sacks') != self.sacks or layout.get('version') != LAYOUT_VERSION:
            raise errors.InvalidState(
                '%s: the store was created with %s sacks (layout version %s); this '
                'configuration asks for %d (version %d)' % (
                    layout_path, layout.get('sacks'), layout.get('version'), self.sacks,
                    LAYOUT_VERSION))
        self._ready = True
        if self._journal is None:
            self._journal = journal.Journal(os.path.join(self.root, 'incoming', 'journal'))
        journal.recover(self._journal.directory, self._append_one, self.sacks)

    def _check(self):
        if not self._ready:
            self.upgrade()

    def _sack_dir(self, sack):
        return os.path.join(self.root, 'incoming', str(sack))

    def _series_path(self, metric_id):
        return os.path.join(self.root, 'series', metric_id[:2], metric_id)

    # -- primitives ----------------------------------------------------------------------

    def _append(self, records):
        self._check()
        if len(records) == 1:
            self._append_one(*next(iter(records.items())))
            return
        # One flush for the whole write (the journal's) rather than one per sack log.
        with self._journal.entry(records) as entry:
            for sack, record in records.items():
                fd, created = self._write_frame(sack, record)
                entry.keep(fd, self._sack_dir(sack) if created else None)
        if self._journal.due():
            self._journal.checkpoint(self._flush)

    def _flush(self, fds):
        """fdatasync every fd; side by side, the filesystem journal commits them together
        and the wait is about one flush."""
        if len(fds) < 2:
            for fd in fds:
                os.fdatasync(fd)
            return
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                _APPEND_THREADS, thread_name_prefix='archive-flush')
        for done in [self._pool.submit(os.fdatasync, fd) for fd in fds]:
            done.result()

    def _append_one(self, sack, record):
        fd, created = self._write_frame(sack, record)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)
        if created:
            fileio.fsync_dir(self._sack_dir(sack))

    def _write_frame(self, sack, record):
        """``(fd, created)``: ``record`` framed at the end of the sack's log, not flushed.
        The write holds the log alone, so that a frame the disk had no room for is cut
        off before anyone appends behind it; the flush to disk does not, so writers of
        one sack still share one."""
        sack_dir = self._sack_dir(sack)
        log = os.path.join(sack_dir, 'log')
        with fileio.flock(os.path.join(sack_dir, 'append.lock'), fcntl.LOCK_EX):
            created = not os.path.exists(log)
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                _append_frame(fd, incoming.frame(record), log)
            except BaseException:
                os.close(fd)
                raise
        return fd, created

    def _sacks_with_pending(self):
        # Without a lock: a claim may rename a listed log before it is looked at.
        self._check()
        for sack in range(self.sacks):
            with os.scandir(self._sack_dir(sack)) as entries:
                if any(_may_be_pending(entry) for entry in entries):
                    yield sack

    @contextlib.contextmanager
    def _claim(self, sack, wait):
        self._check()
        sack_dir = self._sack_dir(sack)
        with fileio.flock(os.path.join(sack_dir, 'process.lock'), fcntl.LOCK_EX,
                          wait=wait or 0) as held:
            yield _FileClaim(self, sack_dir) if held else None

    def _load(self, metric_ids):
        found = {}
        series_dir = os.path.join(self.root, 'series', '')
        for metric_id in metric_ids:
            try:
                fd = os.open('%s%s/%s' % (series_dir, metric_id[:2], metric_id), os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                found[metric_id] = _read_whole(fd)
            except _Recycled:  # (rare) read again what is at the path now
                os.close(fd)
                found.update(self._load([metric_id]))
                continue
            os.close(fd)
        return found

    def _delete(self, metric_id):
        path = self._series_path(metric_id)
        for name in (path, path + '.spare', path + '.prev'):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def close(self):
        if self._journal is not None:
            self._journal.close(self._flush)
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def _pending_records(self):
        self._check()
        for sack in range(self.sacks):
            sack_dir = self._sack_dir(sack)
            for name in sorted(os.listdir(sack_dir)):
                if name == 'log' or name.startswith('round-'):
                    with contextlib.suppress(FileNotFoundError):
                        with open(os.path.join(sack_dir, name), 'rb') as f:
                            yield from incoming.unframe(f.read())[0]

    # -- health --------------------------------------------------------------------------

    def health(self):
        self._check()
        stats = os.statvfs(self.root)
        try:
            corrupt = len(os.listdir(os.path.join(self.root, 'corrupt')))
        except FileNotFoundError:
            corrupt = 0
        return {'free_bytes': stats.f_bavail * stats.f_frsize, 'corrupt_series': corrupt}

    def report_processor(self, name, status):
        # In place, in blocks reserved the first time: it must work on a full disk.
        directory = os.path.join(self.root, 'processors')
        os.makedirs(directory, exist_ok=True)
        fileio.overwrite_in_place(os.path.join(directory, name),
                                  json.dumps(status).encode(), _STATUS_SIZE)

    def processors(self):
        directory = os.path.join(self.root, 'processors')
        found = {}
        with contextlib.suppress(FileNotFoundError):
            for name in os.listdir(directory):
                try:
                    with open(os.path.join(directory, name), 'rb') as f:
                        found[name] = json.loads(f.read())
                except (OSError, ValueError):  # gone, or caught half-written
                    continue
        return found

    def forget_processor(self, name):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(self.root, 'processors', name))


def _append_frame(fd, frame, log):
    """Append all of ``frame`` to the log open at ``fd``, or cut back what was written
    and raise: a torn frame is never left for the next write to land behind."""
    start = os.fstat(fd).st_size
    try:
        fileio.write_all(fd, frame)
    except OSError:
        try:
            os.ftruncate(fd, start)
        except OSError as exc:  # readers skip the torn frame: nothing is hidden
            LOG.error('%s: could not cut back a torn frame at %d: %s', log, start, exc)
        raise


class _Recycled(Exception):
    """The file read was written meanwhile: it had become a spare (see _replace_series)."""


def _read_whole(fd):
    # Without the buffering of open(). A file is written only while it is its metric's
    # spare, never while it is the one at the series' path; a reader that opened it just
    # before it turned spare, and was slow enough for it to be written again, sees its
    # modification time change and reads again.
    before = os.fstat(fd).st_mtime_ns
    data = os.read(fd, _READ_SIZE)
    if len(data) == _READ_SIZE:
        chunks = [data]
        while data:
            data = os.read(fd, _READ_SIZE)
            chunks.append(data)
        data = b''.join(chunks)
    if os.fstat(fd).st_mtime_ns != before:
        raise _Recycled()
    return data


def _may_be_pending(entry):
    """Whether an entry of a sack's directory may hold measures to process. A log renamed
    since the listing (another processor, or a read with refresh, claimed it) counts: a
    superset is fine, the claim sees under the locks what is really there."""
    if entry.name.startswith('round-'):
        return True
    if entry.name != 'log':
        return False
    try:
        return entry.stat().st_size > 0
    except FileNotFoundError:
        return True


def _exchange(spare, path):
    """Swap two files' names atomically (Linux's renameat2 RENAME_EXCHANGE); False where
    the filesystem or the C library cannot."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(spare), _AT_FDCWD, os.fsencode(path),
                  _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOENT):
        return False
    raise OSError(err, os.strerror(err), path)


def _replace_series(spare, path):
    """Make the new series written in ``spare`` the one at ``path``, atomically; the old
    one becomes the spare. No file is freed: freeing a file's blocks is what costs (on a
    filesystem mounted with ``discard``, milliseconds of waiting per file), so a metric's
    two files take turns."""
    if _exchange(spare, path):
        return
    prev = path + '.prev'
    try:
        os.link(path, prev)
    except FileNotFoundError:  # the metric's first series
        os.rename(spare, path)
        return
    except FileExistsError:  # left by a processor killed here: the same file as path's
        os.unlink(prev)
        os.link(path, prev)
    os.rename(spare, path)
    os.rename(prev, spare)


def _write_series(path, data):
    """Write ``data`` over the metric's spare file (made when there is none yet); its
    name. The spare is never what readers read, so a failed write leaves nothing wrong."""
    spare = path + '.spare'
    try:
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT, 0o640)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        fileio.write_all(fd, data)
        os.ftruncate(fd, len(data))
    except OSError:
        with contextlib.suppress(OSError):  # give the room back on a full disk
            os.ftruncate(fd, 0)
        raise
    finally:
        os.close(fd)
    return spare


class _FileClaim(base.SackClaim):
    def __init__(self, storage, sack_dir):
        self.storage = storage
        self.sack_dir = sack_dir
        self.logs = self._take_logs()

    def _claimed(self):
        rounds = []
        for name in os.listdir(self.sack_dir):
            if name.startswith('round-') and name.endswith('.log'):
                rounds.append(int(name[6:-4]))
        return sorted(rounds)

    def _take_logs(self):
        """The claimed logs (earlier claims' leftovers first) after claiming the live one."""
        rounds = self._claimed()
        log = os.path.join(self.sack_dir, 'log')
        with fileio.flock(os.path.join(self.sack_dir, 'append.lock'), fcntl.LOCK_EX):
            try:
                size = os.stat(log).st_size
            except FileNotFoundError:
                size = 0
            if size:
                counter = os.path.join(self.sack_dir, 'next-round')
                try:
                    with open(counter) as f:
                        next_round = int(f.read())
                except FileNotFoundError:
                    next_round = 1
                next_round = max([next_round] + [r + 1 for r in rounds])
                fileio.write_atomically(counter, b'%d' % (next_round + 1), sync_dir=False)
                os.rename(log, self._round_path(next_round))
                fileio.fsync_dir(self.sack_dir)
                rounds.append(next_round)
        return rounds

    def _round_path(self, round_):
        return os.path.join(self.sack_dir, 'round-%020d.log' % round_)

    def records(self):
        out = []
        for round_ in self.logs:
            path = self._round_path(round_)
            try:
                with open(path, 'rb') as f:
                    records, skipped = incoming.unframe(f.read())
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
                continue
            if skipped:
                LOG.warning('%s: skipped %d bytes of torn or damaged frames (writes that '
                            'failed or were killed, never acknowledged)', path, skipped)
            out.extend((round_, r) for r in records)
        return out

    def load(self, metric_ids):
        return self.storage._load(metric_ids)

    def quarantine(self, metric_id):
        directory = os.path.join(self.storage.root, 'corrupt')
        os.makedirs(directory, exist_ok=True)
        os.rename(self.storage._series_path(metric_id),
                  os.path.join(directory, '%s.%d' % (metric_id, time.time_ns())))

    def commit(self, series):
        # Every new file is whole and on disk before any rename, and every rename before
        # the claimed logs go: a crash or a full disk anywhere leaves each series old or
        # new, never torn.
        written = self._write_all_series(series)
        if written:
            for tmp, path in written:
                _replace_series(tmp, path)
            fileio.syncfs(self.storage.root)
        for round_ in self.logs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._round_path(round_))
        if self.logs:
            fileio.fsync_dir(self.sack_dir)

    def _write_all_series(self, series):
        """``[(spare, path)]``: every new series whole in its metric's spare file, on disk;
        on any error no series was touched (a spare holds nothing anyone reads)."""
        written, sizes = [], []
        try:
            for metric_id, stored in series.items():
                data = stored.dumps()
                path = self.storage._series_path(metric_id)
                written.append((_write_series(path, data), path))
                sizes.append(len(data))
            if written:
                fileio.syncfs(self.storage.root)
            for (tmp, _), size in zip(written, sizes):
                if os.stat(tmp).st_size != size:
                    raise OSError(errno.EIO, '%s: %d bytes on disk, %d written' % (
                        tmp, os.stat(tmp).st_size, size))
        except OSError:
            for spare, _ in written:  # give the room back on a full disk
                with contextlib.suppress(OSError):
                    os.truncate(spare, 0)
            raise
        return written
