"""What becomes of every message that reaches the notification agent, on either bus: it is
processed, or rejected, or dead-lettered, and counted once.

Each message is decoded and checked on its own: whatever is wrong with it (any exception)
rejects that message, or only that sample of it, counted by reason and logged once with
where it came from; the rest of the batch goes on. The good messages' samples are processed
together. When that raises, each message is tried alone, and one that still raises
``attempts`` times is dead-lettered (written to a file under the data directory, counted)
and acknowledged: never requeued forever. When the pipeline hands a batch back (a
publisher cannot take it now), each message is tried alone: those taken are acknowledged;
one handed back alone while others are taken is the publisher's poison, not an outage, and
after ``attempts`` such deliveries it is dead-lettered too (two handed back alone before any
is taken is an outage: all come again, nothing is held against them). A message read
again (a Kafka poll rewound, a RabbitMQ message requeued with the others of its batch) is
counted only the first time, and one taken already is not taken again (Kafka).

A message that has a key (where the transport read it) is counted, and logged, only once
its transport will not deliver it again: ``settle(keys)`` once its Kafka offset is committed
or its RabbitMQ delivery acknowledged. An agent killed before that counted nothing of it,
and the agent that reads it again counts it: once in all, across restarts.
"""

import collections
import datetime
import logging
import os
import reprlib
import threading
import time

from telewatch import delivery
from telewatch import fileio
from telewatch import loops
from telewatch import messages
from telewatch.notification import decoders

LOG = logging.getLogger(__name__)
# Keys of the messages lately rejected or dead-lettered: far more than a batch or a poll.
_SETTLED_LIMIT = 100_000
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 160
_REPR.maxlevel = 4


def short_repr(value):
    """A repr of ``value`` of a few hundred characters at most, however large it is."""
    return _REPR.repr(value)[:400]


def describe(message, key=None):
    """Where a message comes from, for a log line: publisher, event type, message id and,
    when known, where it was read (Kafka: topic, partition and offset)."""
    if not isinstance(message, dict):
        return 'an unknown sender, at %s' % key
    metadata = message.get('metadata')
    message_id = metadata.get('message_id') if isinstance(metadata, dict) else None
    text = 'publisher %s, event type %s, message id %s' % (
        message.get('publisher_id'), message.get('event_type'), message_id)
    return text if not isinstance(key, str) or key == message.get('publisher_id') else (
        '%s, at %s' % (text, key))


class DeadLetters:
    """Messages given up on, one JSON line each in ``<directory>/notification.jsonl``:
    when, why, where from, and the message as it was received. Each line is written with one
    write and synced before the message is acknowledged; ``add`` returns False when it
    could not be, and the message is then delivered again rather than lost."""

    def __init__(self, directory):
        self.path = os.path.join(directory, 'notification.jsonl')
        self._lock = threading.Lock()

    def add(self, reason, message, key, error):
        entry = {'time': datetime.datetime.now(datetime.timezone.utc).isoformat(),
                 'reason': reason, 'error': '%s: %s' % (type(error).__name__, error),
                 'where': key if isinstance(key, str) else None, 'message': message}
        try:
            line = messages.dumps(entry) + b'\n'
        except (TypeError, ValueError):
            line = messages.dumps(dict(entry, message=repr(message))) + b'\n'
        try:
            with self._lock:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    fileio.write_all(fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as exc:
            LOG.error('cannot dead-letter a message (%s) into %s: %s; it will be delivered '
                      'again', reason, self.path, exc)
            return False
        return True


class HandedBack(Exception):
    """What a dead-lettered message handed back again and again says."""


class Intake:
    """Handles the batches of one agent: ``handle(priority, messages, keys)``.

    ``process(samples) -> bool`` is the pipeline (False: a publisher handed samples back,
    so their messages must come again); ``decoders`` maps each priority to a decoder
    (telewatch.notification.decoders); ``dead_letters`` a DeadLetters. ``attempts``: how
    many times a message is processed alone before it is dead-lettered.
    """

    def __init__(self, process, decoders_by_priority, dead_letters, attempts=3,
                 retry_delay=0.5, sleep=time.sleep):
        self._process = process
        self._decoders = decoders_by_priority
        self.dead_letters = dead_letters
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._sleep = sleep
        self.rejected = collections.Counter()          # messages, by reason
        self.rejected_samples = collections.Counter()  # samples left out, by reason
        self.dead_lettered = collections.Counter()     # messages, by reason
        self._settled = collections.OrderedDict()      # key -> what became of it
        self._pending = collections.OrderedDict()      # key -> counts waiting for settle
        self._strikes = collections.OrderedDict()      # message -> deliveries handed back
        self._lock = threading.Lock()

    @property
    def priorities(self):
        return tuple(self._decoders)

    def handle(self, priority, batch, keys=None):
        """Process one batch of messages of one priority; never raises. Returns the indexes
        of the messages to deliver again (empty: acknowledge them all).

        ``keys`` (Kafka: one position per record) tell a message read again from a new
        one: one rejected or dead-lettered already is skipped, and none is counted twice.
        Without keys (RabbitMQ, where a rejected message is acknowledged at once), the
        samples refused out of a message are counted when it is acknowledged, not at each
        of its deliveries.
        """
        keys = list(keys) if keys is not None else [None] * len(batch)
        decoded, refusals = [], []  # (index, samples), (index, refused)
        for index, message in enumerate(batch):
            samples, refused = self._decode(priority, message, keys[index])
            if samples:
                decoded.append((index, samples))
            if refused:
                refusals.append((index, refused))
        requeue = self._process_batch(batch, decoded, keys) if decoded else set()
        for index, refused in refusals:
            if index not in requeue:
                self._refuse_samples(batch[index], keys[index], refused)
        for index, _ in decoded:  # a rewound poll reads them again: they are not redone
            if index not in requeue and keys[index] is not None:
                self._settle(keys[index], 'taken')
        return requeue

    def _process_batch(self, batch, decoded, keys):
        try:
            accepted = self._process([s for _, samples in decoded for s in samples])
        except Exception:
            LOG.exception('processing a batch of %d messages failed; each is tried alone',
                          len(decoded))
            return self._one_by_one(batch, decoded, keys)
        if accepted:
            return set()
        return self._handed_back(batch, decoded, keys) if len(decoded) > 1 else {
            decoded[0][0]}

    def _handed_back(self, batch, decoded, keys):
        """A batch the pipeline handed back: each message alone (``_one_by_one`` for one
        that raises). Until one is taken, two handed back mean an outage: the rest come
        again untried. Once some are taken, each one handed back alone gets a strike."""
        requeue, taken = set(), 0
        for number, (index, samples) in enumerate(decoded):
            if not taken and len(requeue) == 2:
                return requeue | {i for i, _ in decoded[number:]}
            try:
                accepted = self._process(samples)
            except Exception:
                accepted = not self._one_by_one(batch, [(index, samples)], keys)
            if accepted:
                taken += 1
            else:
                requeue.add(index)
        if taken:
            requeue = {i for i in requeue if not self._strike(batch[i], keys[i])}
        return requeue

    def _strike(self, message, key):
        """One more delivery of ``message`` handed back alone while others were taken;
        True once dead-lettered (at ``attempts``)."""
        metadata = message.get('metadata') if isinstance(message, dict) else None
        ident = key if isinstance(key, str) else (
            metadata.get('message_id') if isinstance(metadata, dict) else None)
        if ident is None:  # nothing tells its deliveries apart: it comes again
            return False
        with self._lock:
            strikes = self._strikes[ident] = self._strikes.pop(ident, 0) + 1
            if len(self._strikes) > _SETTLED_LIMIT:
                self._strikes.popitem(last=False)
        LOG.warning('a publisher handed back the samples of a message from %s, alone, while '
                    'others were taken (%d of %d)', describe(message, key), strikes,
                    self._attempts)
        if strikes < self._attempts:
            return False
        error = HandedBack('a publisher handed its samples back %d times, alone, while other '
                           'messages were taken' % strikes)
        if not self.dead_letter('handed back', message, key, error):
            return False
        with self._lock:
            self._strikes.pop(ident, None)
        return True

    def reject(self, reason, message, key, error):
        """Count and log a message that is not processed at all (once per key)."""
        if self._settle(key, 'rejected'):
            self._count(key, self.rejected, reason, lambda: LOG.warning(
                'rejected a message (%s) from %s: %s; message: %s', reason,
                describe(message, key), error, short_repr(message)))

    def dead_letter(self, reason, message, key, error):
        """Dead-letter a message (once per key); False when it could not be written."""
        if key is not None and self._settled.get(key) == 'dead-lettered':
            return True
        if not self.dead_letters.add(reason, message, key, error):
            return False
        self._settle(key, 'dead-lettered')
        self._count(key, self.dead_lettered, reason, lambda: LOG.error(
            'dead-lettered a message (%s) from %s into %s: %s: %s; message: %s', reason,
            describe(message, key), self.dead_letters.path, type(error).__name__, error,
            short_repr(message)))
        return True

    def settle(self, keys):
        """Count (and log) what became of the messages of ``keys``: their transport will
        not deliver them again (Kafka: their offsets are committed; RabbitMQ: they are
        being acknowledged)."""
        with self._lock:
            counts = [entry for key in keys for entry in self._pending.pop(key, ())]
        for counter, reason, log in counts:
            loops.count(counter, reason)
            log()

    def counters(self):
        return {'rejected': dict(self.rejected),
                'rejected_samples': dict(self.rejected_samples),
                'dead_lettered': dict(self.dead_lettered)}

    # -- inside ----------------------------------------------------------------------------

    def _count(self, key, counter, reason, log):
        """Count ``reason`` in ``counter`` and ``log()``: now without a key, else at
        ``settle`` (a message read again was not settled: it waits under the same key)."""
        if key is None:
            loops.count(counter, reason)
            log()
            return
        with self._lock:
            self._pending.setdefault(key, []).append((counter, reason, log))
            if len(self._pending) > _SETTLED_LIMIT:  # a partition taken by another agent
                self._pending.popitem(last=False)

    def _settle(self, key, outcome):
        """Record what became of ``key``; False when it was already settled so."""
        if key is None:
            return True
        with self._lock:
            if self._settled.get(key) == outcome:
                return False
            self._settled[key] = outcome
            if len(self._settled) > _SETTLED_LIMIT:
                self._settled.popitem(last=False)
        return True

    def _decode(self, priority, message, key):
        """(samples, refused) of one message; ([], []) when it is rejected."""
        if self._settled.get(key) in ('rejected', 'dead-lettered', 'taken'):
            return [], []  # read again (a rewound Kafka poll)
        try:
            decode = self._decoders.get(priority) if isinstance(priority, str) else None
            if decode is None:
                raise messages.InvalidMessage('format', 'priority %r is not one of %s' % (
                    priority, ', '.join(self._decoders)))
            samples, refused = decode(message)
        except Exception as exc:
            self.reject(decoders.reason_of(exc), message, key, exc)
            return [], []
        if refused and not samples:  # nothing of it goes on: the message is rejected
            reason, index, exc = refused[0]
            more = ' (and %d more)' % (len(refused) - 1) if len(refused) > 1 else ''
            self.reject(reason, message, key, 'sample %d: %s%s' % (index, exc, more))
            return [], []
        return samples, refused

    def _refuse_samples(self, message, key, refused):
        if not self._settle(key, 'samples refused'):
            return
        for reason, index, exc in refused:
            self._count(key, self.rejected_samples, reason, lambda index=index, reason=reason,
                        exc=exc: LOG.warning('rejected sample %d (%s) of a message from %s: %s',
                                             index, reason, describe(message, key), exc))

    def _one_by_one(self, batch, decoded, keys):
        requeue = set()
        for index, samples in decoded:
            if not self._process_alone(batch[index], samples, keys[index]):
                requeue.add(index)
        return requeue

    def _process_alone(self, message, samples, key):
        """True once processed or dead-lettered; False to deliver it again."""
        def failed(exc, attempt):
            LOG.warning('processing a message from %s failed (attempt %d of %d): %s: %s',
                        describe(message, key), attempt, self._attempts,
                        type(exc).__name__, exc)
        try:
            return delivery.retry(lambda: self._process(samples), Exception,
                                  self._attempts - 1, delivery.Backoff(self._retry_delay),
                                  self._sleep, lambda exc, retry, delay: failed(exc, retry))
        except Exception as exc:
            failed(exc, self._attempts)
            return self.dead_letter('processing', message, key, exc)
