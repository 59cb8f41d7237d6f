"""Deterministic disk faults for the ``file`` storage's tests: a disk of a given room that
does what tmpfs does when it fills up (``os.write`` writes what fits and returns the short
count without raising; the next write raises ENOSPC), and failures of chosen calls."""

import errno
import os

_real_write = os.write
_real_ftruncate = os.ftruncate


class FaultyDisk:
    """Patches ``os.write`` (and, on demand, ``os.ftruncate``) for files under ``root``.

    ``room``: bytes the disk still takes (None: unlimited). ``fail_truncate``: ftruncate
    raises EIO. Writes elsewhere (pytest's own) go through untouched.
    """

    def __init__(self, monkeypatch, root):
        self.root = os.path.abspath(str(root))
        self.room = None
        self.fail_truncate = False
        self.short_writes = 0
        monkeypatch.setattr(os, 'write', self._write)
        monkeypatch.setattr(os, 'ftruncate', self._ftruncate)

    def _ours(self, fd):
        try:
            return os.readlink('/proc/self/fd/%d' % fd).startswith(self.root)
        except OSError:
            return False

    def _write(self, fd, data):
        if self.room is None or not self._ours(fd):
            return _real_write(fd, data)
        data = memoryview(data)
        if self.room == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        if len(data) > self.room:
            self.short_writes += 1
            data = data[:self.room]
        written = _real_write(fd, data)
        self.room -= written
        return written

    def _ftruncate(self, fd, length):
        if self.fail_truncate and self._ours(fd):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return _real_ftruncate(fd, length)
