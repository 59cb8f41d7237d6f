"""The ``file`` series storage: everything under one local directory (the embedded default).

Layout::

    layout.json                     {"version": 1, "sacks": N}: fixed when created
    incoming/<sack>/log             records appended by writers (framed, fdatasync'd)
    incoming/<sack>/round-<n>.log   a log a processor claimed, removed once processed
    incoming/<sack>/next-round      the next round number of the sack
    incoming/<sack>/append.lock     writers hold it shared; claiming the log holds it exclusive
    incoming/<sack>/process.lock    held by the one processor working on the sack
    series/<id[:2]>/<id>            a metric's StoredSeries, replaced atomically

Crash safety: a write returns after its frame reached the disk; a series is written to a
temporary file, synced and renamed over the old one before the claimed logs are removed;
a processor killed in between leaves the logs, and the next one skips what the rounds say
is already applied. Processors on this host split the sacks through ``process.lock``
(``fcntl.flock``); for several hosts use the ``postgresql`` driver.
"""

import concurrent.futures
import contextlib
import ctypes
import errno
import fcntl
import json
import os
import time

from telewatch.archive import errors
from telewatch.archive import incoming
from telewatch.archive.storage import base

LAYOUT_VERSION = 1
_APPEND_THREADS = 8
_WAIT_STEP = 0.01


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path, data, sync_dir=True):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, data)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if sync_dir:
        _fsync_dir(os.path.dirname(path))


_libc = ctypes.CDLL(None, use_errno=True)


def _syncfs(path):
    """Flush every file of ``path``'s filesystem to disk: one call for a whole claim's
    series, where an fsync per file would cost a disk flush each."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _flock(path, mode, wait=None):
    """Hold ``fcntl.flock(mode)`` on ``path``; yields False when not had within ``wait``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, mode | (fcntl.LOCK_NB if deadline is not None else 0))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(_WAIT_STEP)
        yield True
    finally:
        os.close(fd)  # releases the lock


class FileSeriesStorage(base.SeriesStorage):
    """Series and incoming measures in files under ``root``."""

    def __init__(self, root, sacks=32):
        super().__init__(sacks)
        self.root = os.path.abspath(root)
        self._ready = False
        self._pool = None

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
            _write_atomically(layout_path, json.dumps(
                {'version': LAYOUT_VERSION, 'sacks': self.sacks}).encode())
        elif layout.get('sacks') != self.sacks or layout.get('version') != LAYOUT_VERSION:
            raise errors.InvalidState(
                '%s: the store was created with %s sacks (layout version %s); this '
                'configuration asks for %d (version %d)' % (
                    layout_path, layout.get('sacks'), layout.get('version'), self.sacks,
                    LAYOUT_VERSION))
        self._ready = True

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
        # Each sack's log needs its own flush to disk; done side by side, the filesystem
        # journal commits them together, and the write waits for about one.
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(
                _APPEND_THREADS, thread_name_prefix='archive-append')
        for done in [self._pool.submit(self._append_one, sack, record)
                     for sack, record in records.items()]:
            done.result()

    def _append_one(self, sack, record):
        sack_dir = self._sack_dir(sack)
        log = os.path.join(sack_dir, 'log')
        with _flock(os.path.join(sack_dir, 'append.lock'), fcntl.LOCK_SH):
            created = not os.path.exists(log)
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, incoming.frame(record))
                os.fdatasync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(sack_dir)

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
        with _flock(os.path.join(sack_dir, 'process.lock'), fcntl.LOCK_EX,
                    wait=wait or 0) as held:
            yield _FileClaim(self, sack_dir) if held else None

    def _load(self, metric_ids):
        found = {}
        for metric_id in metric_ids:
            try:
                with open(self._series_path(metric_id), 'rb') as f:
                    found[metric_id] = base.StoredSeries.loads(f.read())
            except FileNotFoundError:
                pass
        return found

    def _delete(self, metric_id):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._series_path(metric_id))

    def close(self):
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


def _replace_series(tmp, path):
    os.replace(tmp, path)


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
        with _flock(os.path.join(self.sack_dir, 'append.lock'), fcntl.LOCK_EX):
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
                _write_atomically(counter, b'%d' % (next_round + 1), sync_dir=False)
                os.rename(log, self._round_path(next_round))
                _fsync_dir(self.sack_dir)
                rounds.append(next_round)
        return rounds

    def _round_path(self, round_):
        return os.path.join(self.sack_dir, 'round-%020d.log' % round_)

    def records(self):
        out = []
        for round_ in self.logs:
            try:
                with open(self._round_path(round_), 'rb') as f:
                    records = incoming.unframe(f.read())[0]
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
                continue
            out.extend((round_, r) for r in records)
        return out

    def load(self, metric_ids):
        return self.storage._load(metric_ids)

    def commit(self, series):
        # Every new file's data is on disk before any rename, and every rename before the
        # claimed logs go: a crash anywhere leaves each series old or new, never torn.
        renames = []
        for metric_id, stored in series.items():
            path = self.storage._series_path(metric_id)
            tmp = '%s.tmp.%d' % (path, os.getpid())
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            except FileNotFoundError:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                os.write(fd, stored.dumps())
            finally:
                os.close(fd)
            renames.append((tmp, path))
        if renames:
            _syncfs(self.storage.root)
            for tmp, path in renames:
                _replace_series(tmp, path)
            _syncfs(self.storage.root)
        for round_ in self.logs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._round_path(round_))
        if self.logs:
            _fsync_dir(self.sack_dir)
