"""File primitives that never take a short write for a whole one (the ``file`` series
storage's, the notification agent's dead letters): on a filesystem that fills up,
``os.write`` may write part of what it was given and return the count without raising
(tmpfs does), so every write here checks it."""

import contextlib
import ctypes
import errno
import fcntl
import os
import time

_WAIT_STEP = 0.01
_libc = ctypes.CDLL(None, use_errno=True)


def write_all(fd, data):
    """Write every byte of ``data`` at ``fd``'s position, or raise OSError (ENOSPC when the
    filesystem took nothing more). On error, part of ``data`` may be written: the caller
    cuts it back or throws the file away."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, 'wrote nothing of the last %d bytes' % len(view))
        view = view[written:]


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path, data, sync_dir=True):
    """Replace ``path`` by a file holding exactly ``data``, on disk; on any error ``path``
    is untouched and the temporary file gone."""
    tmp = '%s.tmp.%d' % (path, os.getpid())
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            write_all(fd, data)
            os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_dir:
        fsync_dir(os.path.dirname(path))


def syncfs(path):
    """Flush every file of ``path``'s filesystem to disk: one call for a whole claim's
    series, where an fsync per file would cost a disk flush each."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc.syncfs(fd) != 0:
            error = ctypes.get_errno()
            raise OSError(error, os.strerror(error), path)
    finally:
        os.close(fd)


def overwrite_in_place(path, data, size):
    """Write ``data`` padded to ``size`` bytes over the start of ``path``, whose blocks are
    reserved the first time: later writes need no new space, so they work on a full disk
    (a status that must be told exactly then). Not synced: readers are on this host."""
    if len(data) > size:
        raise ValueError('%d bytes do not fit in %d' % (len(data), size))
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        if os.fstat(fd).st_size < size:
            os.posix_fallocate(fd, 0, size)
        padded = data.ljust(size)
        if os.pwrite(fd, padded, 0) != size:
            raise OSError(errno.ENOSPC, 'short write of %s' % path)
    finally:
        os.close(fd)


@contextlib.contextmanager
def flock(path, mode, wait=None):
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
