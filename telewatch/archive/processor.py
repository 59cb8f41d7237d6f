"""telewatch-archive-processor: workers that aggregate the archive's incoming measures.

Each worker loops over the sacks with pending measures, skipping those another worker
(on this host or, with the postgresql storage, any host) holds, and sleeps
``[archive] processing_delay`` when it found nothing to do. A worker killed at any moment
loses nothing: the measures it was working on stay in the incoming buffer. A sack that
fails (a full disk...) stays as it was and is tried again later, backing off up to
``MAX_BACKOFF`` seconds, while the other sacks go on; each worker reports its state for
``/v1/status`` every round. An unexpected error is logged, counted (``loop_errors``) and
retried after a backoff (telewatch.loops).
"""

import collections
import dataclasses
import logging
import os
import socket
import threading
import time

from telewatch import delivery
from telewatch import loops
from telewatch.archive import errors
from telewatch.archive import store as store_mod

LOG = logging.getLogger(__name__)

MAX_BACKOFF = 10.0
# How often a processor with work logs the backlog (what waits and its oldest measure's age).
BACKLOG_LOG_SECONDS = 60.0
_ERROR_CHARS = 300  # of an error in the status: it must fit in a few kilobytes


@dataclasses.dataclass
class SackFailure:
    error: Exception
    since: float  # time.time()
    backoff: delivery.Backoff
    attempts: int = 0
    retry_at: float = 0.0  # time.monotonic()


def _state(errors_seen):
    if not errors_seen:
        return 'ok'
    if any(isinstance(e, errors.InsufficientStorage) for e in errors_seen):
        return 'insufficient_storage'
    return 'error'


class ArchiveProcessor:
    """One processing loop over an ArchiveStore, in its own thread from ``start`` (which
    returns at once) to ``stop``."""

    def __init__(self, conf, store=None):
        self.delay = conf.archive.processing_delay
        self.store = store or store_mod.ArchiveStore.from_conf(conf)
        self._stopping = threading.Event()
        self._thread = None
        self.processed = 0
        self.rejected = 0
        self.orphaned = 0
        self.loop_errors = collections.Counter()
        self.quarantined = 0
        self.failing = {}  # sack -> SackFailure
        self.storage_error = None  # the storage as a whole failed (StorageUnavailable)
        self._backlog_logged = -BACKLOG_LOG_SECONDS

    def run_once(self):
        """Process every sack with pending measures once, but those backing off; the
        ProcessReport. StorageUnavailable when the storage cannot even be listed."""
        now = time.monotonic()
        skip = {sack for sack, failure in self.failing.items() if failure.retry_at > now}
        try:
            report = self.store.process(skip=skip)
        except errors.StorageUnavailable as exc:
            self.storage_error = exc
            self._report_status()
            raise
        self.storage_error = None
        self._note_failures(report, skip)
        self._report_status()
        self.processed += report.measures
        self.orphaned += report.orphaned
        for metric_id, count in report.rejected.items():
            self.rejected += count
            LOG.warning('Rejected %d measures of metric %s: older than its archive '
                        "policy's back window allows", count, metric_id)
        if report.measures:
            LOG.debug('Aggregated %d measures of %d metrics in %d sacks', report.measures,
                      report.metrics, report.sacks)
            self._log_backlog()
        return report

    def _log_backlog(self):
        """What waits, and the age of its oldest measure, every BACKLOG_LOG_SECONDS while
        there is work (a look at every pending record: not every round)."""
        now = time.monotonic()
        if now < self._backlog_logged + BACKLOG_LOG_SECONDS:
            return
        self._backlog_logged = now
        try:
            backlog = self.store.backlog()[1]
        except errors.StorageUnavailable as exc:
            LOG.debug('Could not read the backlog: %s', exc)
            return
        LOG.info('Backlog: %d measures of %d metrics waiting, the oldest %s s old',
                 backlog['measures'], backlog['metrics'], backlog['oldest_measure_age'])

    def _note_failures(self, report, skipped):
        for corrupt in report.quarantined:
            self.quarantined += 1
            LOG.error('Series of metric %s is damaged (%s): moved aside into the '
                      "storage's corrupt/ place; the metric starts afresh from its pending "
                      'measures', corrupt.metric_id, corrupt.reason)
        now = time.monotonic()
        for sack in [s for s in self.failing if s not in skipped and s not in report.failed]:
            failure = self.failing.pop(sack)
            LOG.info('Sack %d processed again after %d failed attempts (%.0f s)', sack,
                     failure.attempts, time.time() - failure.since)
        for sack, error in report.failed.items():
            failure = self.failing.get(sack)
            if failure is None:
                failure = self.failing[sack] = SackFailure(
                    error, time.time(), delivery.Backoff(self.delay * 2, MAX_BACKOFF))
                LOG.warning('Sack %d left as it is, tried again later: %s', sack, error)
            else:
                LOG.debug('Sack %d failed again: %s', sack, error)
            failure.error = error
            failure.attempts += 1
            failure.retry_at = now + failure.backoff.next()

    @property
    def name(self):
        return '%s-%d' % (socket.gethostname(), os.getpid())

    def status(self):
        """This worker's state for ``/v1/status`` (a few small fields)."""
        seen = [f.error for f in self.failing.values()]
        seen += [self.storage_error] if self.storage_error is not None else []
        first = seen[0] if seen else None
        return {'state': _state(seen), 'updated': time.time(),
                'failing_sacks': sorted(self.failing)[:100],
                'error': None if first is None else str(first)[:_ERROR_CHARS],
                'measures_processed': self.processed,
                'measures_rejected_late': self.rejected,
                'corrupt_series_moved_aside': self.quarantined}

    def _report_status(self):
        try:
            self.store.report_processor(self.name, self.status())
        except Exception as exc:  # a status that cannot be told must not stop processing
            LOG.debug('Could not report the processor status: %s', exc)

    def start(self):
        """Start the processing loop in its thread."""
        self._thread = loops.start_thread('archive-processor', self._run, self._stopping)

    def _run(self):
        try:
            loops.run('archive-processor', self._step, self._stopping, self.loop_errors,
                      delivery.Backoff.at_least(self.delay))
        finally:
            self.store.forget_processor(self.name)

    def _step(self):
        """One round; how long to wait before the next (none while there is work)."""
        try:
            report = self.run_once()
        except errors.StorageUnavailable as exc:
            LOG.warning('Archive storage unavailable, retrying: %s', exc)
            return self.delay
        return 0 if report.measures else self.delay

    def threads(self):
        """The loop's thread, once started (see service.AgentService)."""
        return [self._thread] if self._thread is not None else []

    def stop(self):
        """Stop the loop once the round in hand is done."""
        self._stopping.set()
        # From a step of the loop itself, the loop ends after that step.
        if self._thread not in (None, threading.current_thread()):
            self._thread.join()

    def reload(self):
        """SIGHUP: nothing to re-read; policies come from the index on every round."""
