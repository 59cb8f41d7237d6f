"""The guarded loop, its backoff, and the detection of a thread that ends unexpectedly."""

import collections
import logging
import threading

import pytest

from telewatch import delivery
from telewatch import loops


class Stopping:
    """A threading.Event stand-in that records the waits instead of sleeping, and is set
    once ``steps`` calls of the loop are done."""

    def __init__(self):
        self.waits = []
        self._set = False

    def is_set(self):
        return self._set

    def set(self):
        self._set = True

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return self._set


def scripted(stopping, outcomes):
    """A step that raises or returns each of ``outcomes`` in turn, then stops the loop."""
    calls = []

    def step():
        calls.append(len(calls))
        outcome = outcomes[len(calls) - 1]
        if len(calls) == len(outcomes):
            stopping.set()
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
    return step, calls


def test_a_step_that_raises_is_logged_counted_and_the_loop_goes_on(caplog):
    stopping, errors = Stopping(), collections.Counter()
    step, calls = scripted(stopping, [RuntimeError('boom'), RuntimeError('again'), 7, None])
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        loops.run('test-loop', step, stopping, errors, delivery.Backoff(1.0, 10.0))
    assert calls == [0, 1, 2, 3]
    assert errors == {'test-loop': 2}
    assert stopping.waits == [1.0, 2.0, 7]  # backoff, backoff, the step's own pause
    assert 'test-loop: unexpected error (2 so far); the loop goes on in 2.0 s' in caplog.text
    assert 'Traceback' in caplog.text and "RuntimeError: again" in caplog.text


def test_a_step_that_returns_resets_the_backoff():
    stopping, errors = Stopping(), collections.Counter()
    step, _ = scripted(stopping, [RuntimeError(), RuntimeError(), None, RuntimeError()])
    loops.run('test-loop', step, stopping, errors, delivery.Backoff(1.0, 10.0), key='shared')
    assert stopping.waits == [1.0, 2.0, 1.0]
    assert errors == {'shared': 3}


def test_thread_ended_goes_through_the_guard():
    stopping = Stopping()
    step, calls = scripted(stopping, [loops.ThreadEnded(['t']), None])
    with pytest.raises(loops.ThreadEnded, match='t ended unexpectedly'):
        loops.run('test-loop', step, stopping, collections.Counter())
    assert calls == [0]


def test_run_every_waits_an_interval_first_and_after_an_error_at_least_one():
    stopping, errors = Stopping(), collections.Counter()
    actions = []

    def action():
        actions.append(True)
        if len(actions) == 1:
            raise RuntimeError('first')
        stopping.set()
    loops.run_every('every', 5.0, action, stopping, errors)
    assert actions == [True, True]
    assert stopping.waits == [5.0, 5.0, 5.0]  # first, after the error, after the action
    assert errors == {'every': 1}


def test_a_loop_thread_that_ends_unasked_is_found_and_one_asked_is_not():
    stopping = threading.Event()
    quits = loops.start_thread('quits', lambda: None, stopping)
    waits = loops.start_thread('waits', stopping.wait, stopping)
    never_started = loops.LoopThread('never-started', lambda: None, stopping)
    quits.join()
    assert loops.ended([quits, waits, never_started]) == ['quits']
    with pytest.raises(loops.ThreadEnded, match='quits ended unexpectedly'):
        loops.check([quits, waits])
    stopping.set()
    waits.join()
    assert loops.ended([quits, waits]) == []


def test_watch_raises_for_a_thread_that_ended_and_returns_on_stop():
    stopping = threading.Event()
    crashed = loops.start_thread('crashed', lambda: None, threading.Event())
    crashed.join()
    with pytest.raises(loops.ThreadEnded):
        loops.watch(lambda: [crashed], stopping, interval=0.01)
    stopping.set()
    loops.watch(lambda: [crashed], stopping, interval=0.01)  # stopping: no more checks
