"""Worker loops that outlive their own bugs, and the detection of a thread that ends anyway.

Every daemon loop runs its step through ``run`` (or ``run_every``): an unexpected exception
is logged with its traceback, counted under the loop's name, and the loop goes on after a
bounded exponential backoff (telewatch.delivery.Backoff). Loop threads are started with
``start_thread``; one that still ends without being asked to (a bug outside the step, a
BaseException) is found by ``ended``, and ``watch`` raises ThreadEnded for it, so that the
process exits non-zero and its supervisor (cotyledon, systemd) starts it again: a daemon
never runs on with a dead thread.
"""

import logging
import threading

from telewatch import delivery

LOG = logging.getLogger(__name__)

_COUNT_LOCK = threading.Lock()


class ThreadEnded(RuntimeError):
    """Threads that ended without being asked to stop; ``run`` lets it through."""

    def __init__(self, names):
        self.names = list(names)
        super().__init__('%s ended unexpectedly' % ', '.join(self.names))


def count(errors, name, amount=1):
    """``errors[name] += amount`` for a Counter shared by several threads; the new total."""
    with _COUNT_LOCK:
        errors[name] += amount
        return errors[name]


def run(name, step, stopping, errors, backoff=None, key=None):
    """Call ``step()`` until ``stopping`` (a threading.Event) is set.

    ``step`` returns the seconds to wait before its next call (None or 0: at once). An
    exception it raises (but ThreadEnded) is logged with its traceback, naming the loop,
    and counted in ``errors[key or name]`` (a Counter); the next call comes after
    ``backoff``'s next delay (default: ``delivery.Backoff()``); a step that returns resets it.
    """
    backoff = backoff or delivery.Backoff()
    while not stopping.is_set():
        try:
            pause = step()
        except ThreadEnded:
            raise
        except Exception:
            pause = backoff.next()
            total = count(errors, key or name)
            LOG.exception('%s: unexpected error (%d so far); the loop goes on in %.1f s',
                          name, total, pause)
        else:
            backoff.reset()
        if pause:
            stopping.wait(pause)


def run_every(name, interval, action, stopping, errors):
    """``action()`` every ``interval`` seconds, the first after one interval, until
    ``stopping`` is set; guarded as ``run`` does, never sooner than ``interval``."""
    def step():
        action()
        return interval
    if not stopping.wait(interval):
        run(name, step, stopping, errors, delivery.Backoff.at_least(interval))


class LoopThread(threading.Thread):
    """A daemon thread meant to run until ``stopping`` (a threading.Event) is set."""

    def __init__(self, name, target, stopping, args=()):
        super().__init__(target=target, name=name, args=args, daemon=True)
        self.stopping = stopping

    @property
    def ended(self):
        """Whether it was started and ended without being asked to stop."""
        return (self.ident is not None and not self.is_alive()
                and not self.stopping.is_set())


def start_thread(name, target, stopping, *args):
    """A started LoopThread running ``target(*args)``."""
    thread = LoopThread(name, target, stopping, args)
    thread.start()
    return thread


def ended(threads):
    """The names of the LoopThreads of ``threads`` that ended without being asked to."""
    return [thread.name for thread in threads if thread.ended]


def check(threads):
    """ThreadEnded if one of ``threads`` ended without being asked to."""
    names = ended(threads)
    if names:
        raise ThreadEnded(names)


def watch(threads, stopping, interval=1.0):
    """Until ``stopping`` is set, every ``interval`` seconds: ``check(threads())``."""
    while not stopping.wait(interval):
        check(threads())
