"""Delivery to a target that may fail: the backoff, the retry|queue|drop policies, their
counters, and what each executor does under each policy (the table below).

Three executors use this module, because what they can do with a failure differs:

- ``telewatch.pipeline.delivery.PublisherRunner`` (synchronous, with hand-back): it runs in
  the thread of the input (a bus message, a polling cycle), which can be delivered again,
  so what it cannot deliver it hands back (``publish`` returns False: the input is not
  acknowledged and comes again). Nothing is lost; the input waits.
- ``telewatch.pubsub.targets.Delivery`` (asynchronous, one thread per target): one firehose
  batch feeds many subscriptions; one subscription's failure cannot rewind the batch for
  all the others, so it cannot hand back: what it gives up is dropped and counted.
- ``telewatch.alarms.notifiers.Notifiers`` (asynchronous, a pool of worker threads): one
  alarm state change to one action; the evaluator that queued it has moved on, so what it
  gives up is dropped, counted, and written to the alarm's history as a failed action.

========  ==========  ==========================================  =========================
policy    executor    when the target fails (may pass)             when the queue is full
========  ==========  ==========================================  =========================
retry     runner      tried again in the caller's thread           (no queue)
          (default)   ``[pipeline] publish_retries`` times,
                      doubling delays, then handed back
retry     targets     tried again ``[pubsub] retries`` times       new values dropped,
                      after the backoff, then dropped              counted
queue     runner      kept in memory (``max_queue_length``         handed back
                      samples), sent first at the next publish
                      or flush
queue     targets     kept and tried again after the backoff       new values dropped,
          (default)   (at most 30 s) until taken; its batch is     counted
                      committed (lost if the process dies)
drop      runner      dropped, counted                             (no queue)
drop      targets     dropped, counted; what comes during the      new values dropped,
                      backoff is dropped without a try             counted
retry     notifiers   tried again in its worker thread             new values dropped,
          (only)      ``[alarms] notifier_retries`` times,         counted
                      doubling delays, then dropped and recorded
========  ==========  ==========================================  =========================

Under every policy a permanent failure (sending again cannot help) drops only what failed:
the runner splits the batch down to the samples that fail alone; a target says which
values failed. Why the defaults differ: the runner's hand-back loses nothing, so ``retry``
is safe there; a target cannot hand back, so ``queue`` keeps what a short outage would
otherwise drop.

Counters (``Counters``, by name): ``published``/``delivered`` (taken by the target),
``retried`` (sent again), ``queued``, ``handed_back`` (runner), ``failed`` (values of
failed attempts, targets), ``dropped`` (given up), and the ``queue_length`` now.

For a new executor: build a ``Policy`` from the
target's options, call ``retry(send, RetryableError, policy.immediate_retries,
Backoff(...))`` for synchronous attempts (or keep a ``Backoff`` across a loop's steps, as
``targets.Delivery`` does, whose senders raise ``SendError``), count in a ``Counters``,
and add its row to the table.
"""

import collections
import threading
import time

RETRY, QUEUE, DROP = 'retry', 'queue', 'drop'
POLICIES = (RETRY, QUEUE, DROP)
PUBLISHER_POLICY = RETRY  # the runner's default (see the table)
TARGET_POLICY = QUEUE  # the subscription targets' default
MAX_QUEUE_LENGTH = 10000  # both executors' default

MIN_DELAY = 0.5
MAX_DELAY = 60.0


class Backoff:
    """Delays that grow by ``factor`` from ``initial`` (default MIN_DELAY) up to ``maximum``
    (None: no cap), back to ``initial`` on ``reset``."""

    def __init__(self, initial=None, maximum=MAX_DELAY, factor=2.0):
        initial = MIN_DELAY if initial is None else initial
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial

    @classmethod
    def at_least(cls, interval):
        """For a loop that pauses ``interval`` s anyway: never sooner, at most MAX_DELAY
        (or the interval, when longer)."""
        initial = max(interval, MIN_DELAY)
        return cls(initial, max(initial, MAX_DELAY))

    def next(self):
        """The delay to wait now; the next one grows."""
        delay = self._next
        if self.maximum is not None:
            delay = min(delay, self.maximum)
        self._next = delay * self.factor
        return delay

    def reset(self):
        self._next = self.initial


def retry(call, retryable, retries, backoff, sleep=time.sleep, on_retry=None, failed=None):
    """``call()``'s result; while it raises one of ``retryable`` (an exception class or a
    tuple), call again after ``backoff.next()`` seconds (waited with ``sleep``), at most
    ``retries`` more times (None: until it returns). Before each wait,
    ``on_retry(error, retry, delay)`` (``retry`` counts from 1) says why. The error of the
    last attempt, and any other exception, is raised. ``failed``: the retryable error of a
    first attempt the caller made itself (a fast path that builds nothing when it passes)."""
    attempt, error = 0, failed
    while True:
        if error is None:
            try:
                return call()
            except retryable as exc:
                error = exc
        if retries is not None and attempt >= retries:
            raise error
        attempt += 1
        delay = backoff.next()
        if on_retry is not None:
            on_retry(error, attempt, delay)
        sleep(delay)
        error = None


class SendError(Exception):
    """Sending failed; ``failed`` are the positions of the values not taken (all of them
    when None); ``permanent`` when sending them again cannot help."""

    def __init__(self, message, failed=None, permanent=False):
        super().__init__(message)
        self.failed = failed
        self.permanent = permanent


class Policy:
    """A target's failure policy (``name``, one of POLICIES), its ``max_queue_length`` and
    the ``retries`` that ``retry`` allows."""

    __slots__ = ('name', 'max_queue_length', 'retries')

    def __init__(self, name, max_queue_length=MAX_QUEUE_LENGTH, retries=3):
        if name not in POLICIES:
            raise ValueError('policy %r is not one of %s' % (name, ', '.join(POLICIES)))
        self.name = name
        self.max_queue_length = max_queue_length
        self.retries = retries

    @property
    def immediate_retries(self):
        """How many times a synchronous executor tries again before the policy acts."""
        return self.retries if self.name == RETRY else 0

    def tries_again(self, failures):
        """Whether what failed ``failures`` times is tried again (``queue``: until taken;
        ``retry``: ``retries`` times) rather than given up."""
        return self.name == QUEUE or (self.name == RETRY and failures <= self.retries)

    def has_room(self, queued, more):
        """Whether ``more`` values fit in a queue holding ``queued``."""
        return queued + more <= self.max_queue_length

    def __repr__(self):
        return '<Policy %s max_queue_length=%d>' % (self.name, self.max_queue_length)


class Counters(collections.Counter):
    """An executor's counters by name (a Counter), safe to add to from several threads."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()

    def add(self, name, amount):
        """``self[name] += amount``; the new total."""
        with self._lock:
            self[name] += amount
            return self[name]

    def take(self):
        """The counts since the last call, those above zero (a Counter), and resets them."""
        with self._lock:
            counts = +self
            self.clear()
        return counts
