"""Delivery to one publisher under its failure policy, with counters: the synchronous
executor of telewatch.delivery (whose table says what each policy does).

``publish(samples)`` answers whether the samples were taken care of (published, queued, or
dropped as the policy allows). False means the caller must not acknowledge its input: a
retryable failure that the policy cannot absorb is handed back, so the input is redelivered
rather than lost. The publisher URL's ``policy`` (``retry`` by default; ``[pipeline]
publish_retries`` times, doubling delays) and ``max_queue_length`` choose the policy.

A permanent failure (PermanentPublishError, or a plugin's bug) cannot pass by retrying;
but it may be one sample's (one no backend takes) and not its neighbours'. So a batch that
failed for good is split in halves, each published apart, down to single samples: only the
samples that fail alone are dropped and counted (``dropped``), under every policy. A
publisher that says only some of its samples failed (``PublishError.samples`` smaller than
the batch) published the others: they are not sent again.
"""

import logging
import threading
import time

from telewatch import delivery
from telewatch.publishers import base as publisher_base

LOG = logging.getLogger(__name__)
DEFAULT_DELIVERY = {'policy': delivery.PUBLISHER_POLICY,
                    'max_queue_length': delivery.MAX_QUEUE_LENGTH}


class PublisherRunner:
    """Calls one publisher (shared by the sinks that name its URL) under its policy (its
    ``delivery`` options; any object with ``publish`` gets the default policy)."""

    def __init__(self, publisher, retries=3, backoff=0.5, sleep=time.sleep):
        self.publisher = publisher
        options = getattr(publisher, 'delivery', DEFAULT_DELIVERY)
        self._policy = delivery.Policy(options['policy'], options['max_queue_length'],
                                       retries)
        self.policy = self._policy.name
        self.max_queue_length = self._policy.max_queue_length
        self.counters = delivery.Counters()
        self._backoff = backoff
        self._sleep = sleep
        self._queue = []
        self._lock = threading.Lock()

    @property
    def queued(self):
        """How many samples wait in the queue now."""
        return len(self._queue)

    def publish(self, samples):
        with self._lock:
            if self._queue and not self._drain():
                return self._absorb(samples, 'the queue is not drained yet')
            error = self._attempts(samples)
            if error is not None and not getattr(error, 'retryable', False):
                samples, error = self._isolate(samples, error)
            if error is None:
                return True
            return self._absorb(samples, error)

    def drain(self):
        """Send what the queue holds (called on flush); True when it is empty."""
        with self._lock:
            return self._drain()

    def _drain(self):
        if not self._queue:
            return True
        held, self._queue = self._queue, []
        error = self._attempts(held)
        if error is not None and not getattr(error, 'retryable', False):
            held, error = self._isolate(held, error)
        if error is not None:
            self._queue = held
            return False
        return True

    def _attempts(self, samples):
        """None once published; else the last error."""
        try:
            self.publisher.publish(samples)
        except publisher_base.RetryablePublishError as exc:
            return self._retried(samples, exc)
        except Exception as exc:  # a plugin's bug must not stop the pipeline
            return exc
        self.counters.add('published', len(samples))
        return None

    def _retried(self, samples, error):
        """After a retryable ``error``, the policy's retries; as ``_attempts``."""
        def on_retry(exc, retry, delay):
            # The whole batch again: at-least-once, a few duplicates are allowed.
            self.counters.add('retried', len(samples))
            LOG.warning('%r failed (%s); retry %d of %d in %.1f s', self.publisher, exc,
                        retry, retries, delay)
        retries = self._policy.immediate_retries
        try:
            delivery.retry(lambda: self.publisher.publish(samples),
                           publisher_base.RetryablePublishError, retries,
                           delivery.Backoff(self._backoff, maximum=None),  # retries bound it
                           self._sleep, on_retry, failed=error)
        except Exception as exc:  # a plugin's bug must not stop the pipeline
            return exc
        self.counters.add('published', len(samples))
        return None

    def _isolate(self, samples, error):
        """After a permanent failure of ``samples``: publish their halves apart, down to
        single samples, and drop only what fails alone. Returns ``([], None)``, or the
        samples a retryable failure left unpublished and that failure."""
        todo, dropped, first_error = [(samples, error)], 0, error
        while todo:
            part, error = todo.pop()
            if error is None:
                error = self._attempts(part)
                if error is None:
                    continue
            if getattr(error, 'retryable', False):
                left = part + [s for waiting, _ in reversed(todo) for s in waiting]
                self._log_isolated(samples, dropped, first_error)
                return left, error
            failed = getattr(error, 'samples', None)
            if failed is not None and failed < len(part):  # it published the others
                self._count_dropped(error, part)
                continue
            if len(part) == 1:
                dropped += self._count_dropped(error, part, log=False)
                continue
            middle = len(part) // 2
            todo.append((part[middle:], None))
            todo.append((part[:middle], None))  # popped first: the order is kept
        self._log_isolated(samples, dropped, first_error)
        return [], None

    def _log_isolated(self, samples, dropped, error):
        if dropped:
            LOG.error('%r dropped %d of %d samples, each of which failed alone (the batch '
                      'was split to publish the others): %s: %s', self.publisher, dropped,
                      len(samples), type(error).__name__, error)

    def _absorb(self, samples, error):
        """A retryable failure under the policy: queue, drop, or hand it back."""
        if self.policy == delivery.DROP:
            self._count_dropped(error, samples)
            return True
        if self.policy == delivery.QUEUE and self._policy.has_room(self.queued, len(samples)):
            self._queue.extend(samples)
            self.counters.add('queued', len(samples))
            return True
        self.counters.add('handed_back', len(samples))
        LOG.warning('%r cannot take %d samples now (%s); their input is not acknowledged',
                    self.publisher, len(samples), error)
        return False

    def _count_dropped(self, error, samples, log=True):
        """Count (and log) what a permanent failure dropped; how many samples."""
        # A PublishError may say that only some of the samples failed.
        failed = getattr(error, 'samples', None)
        failed = len(samples) if failed is None else min(failed, len(samples))
        if failed < len(samples):
            self.counters.add('published', len(samples) - failed)
        self.counters.add('dropped', failed)
        if log:
            LOG.error('%r dropped %d of %d samples: %s: %s', self.publisher, failed,
                      len(samples), type(error).__name__, error)
        return failed

    def status(self):
        status = dict(self.counters)
        status['queue_length'] = self.queued
        status['policy'] = self.policy
        return status
