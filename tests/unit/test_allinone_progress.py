"""The all-in-one's progress line: its text from counts, and the thread that logs it."""

import logging
import time

from telewatch import allinone_progress as progress

Counts = progress.Counts


def test_a_quiet_minute():
    assert progress.describe(progress.ZERO, 60.2, 0) == (
        'last 60 s: polled 0 samples, transformers derived 0 more; archived 0 measures, '
        'aggregated 0; rejected 0; 0 measures wait to be aggregated')


def test_the_difference_of_two_readings_with_what_was_rejected_and_why():
    before = Counts(polled=10, derived=2, archived=12, aggregated=12, too_late=1,
                    unmapped=0, dropped=0)
    after = Counts(polled=38, derived=14, archived=50, aggregated=44, too_late=3,
                   unmapped=4, dropped=0)
    assert progress.describe(after - before, 59.9, 6) == (
        'last 60 s: polled 28 samples, transformers derived 12 more; archived 38 measures, '
        'aggregated 32; rejected 6 (2 too late for their series, 4 of meters '
        'archive_resources.yaml maps to no resource type); 6 measures wait to be aggregated')


def test_pending_measures_that_cannot_be_counted_are_said_so():
    assert progress.describe(progress.ZERO, 60, None).endswith(
        '; the measures waiting to be aggregated could not be counted')


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_each_line_covers_what_happened_since_the_previous_one(caplog):
    readings = iter([Counts(5, 0, 5, 5, 0, 0, 0), Counts(17, 4, 21, 20, 0, 0, 1),
                     Counts(17, 4, 21, 21, 0, 0, 1)])
    clock = Clock()
    log = progress.ProgressLog(lambda: next(readings), lambda: 1, interval=3600, clock=clock)
    caplog.set_level(logging.INFO, logger=progress.LOG.name)
    log.start()
    try:
        clock.now += 60
        log.log_once()
        clock.now += 61
        log.log_once()
    finally:
        log.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == progress.LOG.name]
    assert lines == [
        'last 60 s: polled 12 samples, transformers derived 4 more; archived 16 measures, '
        'aggregated 15; rejected 1 (1 dropped by a failing publisher); 1 measures wait to be '
        'aggregated',
        'last 61 s: polled 0 samples, transformers derived 0 more; archived 0 measures, '
        'aggregated 1; rejected 0; 1 measures wait to be aggregated']


def test_a_failing_count_of_pending_measures_does_not_stop_the_line(caplog):
    def broken():
        raise FileNotFoundError(2, 'No such file or directory', 'sack-3/measure')
    log = progress.ProgressLog(lambda: progress.ZERO, broken, interval=3600)
    caplog.set_level(logging.INFO, logger=progress.LOG.name)
    log.log_once()
    messages = [r.getMessage() for r in caplog.records]
    assert 'measures waiting to be aggregated: FileNotFoundError' in messages[0]
    assert messages[1].endswith('could not be counted')


def test_the_thread_logs_every_interval_and_stops(caplog):
    caplog.set_level(logging.INFO, logger=progress.LOG.name)
    log = progress.ProgressLog(lambda: progress.ZERO, lambda: 0, interval=0.05)
    log.start()
    deadline = time.monotonic() + 10
    while len(caplog.records) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    log.stop()
    log.stop()  # safe twice
    assert len(caplog.records) >= 2
    progress.ProgressLog(lambda: progress.ZERO, lambda: 0).stop()  # safe without start
