"""Delivery to subscribers' targets: the UDP sender (Kafka's is telewatch.kafka.producer's
TopicSender) and, per subscription, a ``Delivery`` that sends in its own thread under the
target's failure policy, so a slow or failing target never holds up the others: the
asynchronous executor of telewatch.delivery.

A ``Ticket`` stands for one batch read from the firehose: its offsets are committed once
every chunk of it is settled. A chunk is settled when its target took it, when it is dropped
(by the policy, a full queue, a permanent error, or the subscription's end), or, under
policy ``queue``, when the target is failing and the chunk waits in its bounded queue (as
the publishers' ``queue`` policy, what waits in memory is lost if the process dies).

The target URL's ``policy`` (``queue`` by default) and ``max_queue_length`` choose what
happens when it fails or its queue is full: see the table in telewatch.delivery.

Counters per subscription: ``delivered`` (values the target took), ``dropped`` (values given
up), ``failed`` (values of failed send attempts), ``skipped`` (values held back by the
sampling interval, counted by the consumer) and the ``queue_length`` now.
"""

import collections
import errno
import logging
import socket
import threading
import time

from telewatch import delivery
from telewatch import loops

LOG = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
MAX_DATAGRAM = 65507


class Ticket:
    """One batch of the firehose: ``offsets`` to commit once nothing of it is pending."""

    __slots__ = ('offsets', '_pending', '_lock')

    def __init__(self, offsets):
        self.offsets = offsets
        self._pending = 1  # the consumer's own hold, until it has handed out every chunk
        self._lock = threading.Lock()

    def hold(self):
        with self._lock:
            self._pending += 1

    def settle(self):
        with self._lock:
            self._pending -= 1

    @property
    def done(self):
        return self._pending == 0


# -- senders --------------------------------------------------------------------------------

class UdpSender:
    """One JSON record per datagram to one host:port."""

    def __init__(self, target):
        self.host, self.port = target.servers[0]
        self._socket = None
        self._address = None

    def send(self, values, keys):
        if self._socket is None:
            try:
                family, kind, proto, _, self._address = socket.getaddrinfo(
                    self.host, self.port, type=socket.SOCK_DGRAM)[0]
                self._socket = socket.socket(family, kind, proto)
            except OSError as exc:
                raise delivery.SendError('cannot reach %s:%d: %s'
                                         % (self.host, self.port, exc)) from exc
        too_big = []
        for position, value in enumerate(values):
            if len(value) > MAX_DATAGRAM:
                too_big.append(position)
                continue
            try:
                self._socket.sendto(value, self._address)
            except OSError as exc:
                permanent = exc.errno == errno.EMSGSIZE
                raise delivery.SendError(
                    'cannot send to %s:%d: %s' % (self.host, self.port, exc),
                    failed=too_big + list(range(position, len(values))),
                    permanent=permanent) from exc
        if too_big:
            raise delivery.SendError('%d values exceed a datagram' % len(too_big),
                                     failed=too_big, permanent=True)

    def close(self):
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


# -- one subscription's delivery ------------------------------------------------------------

class _Chunk:
    __slots__ = ('ticket', 'values', 'keys', 'attempts')

    def __init__(self, ticket, values, keys):
        self.ticket = ticket
        self.values = values
        self.keys = keys
        self.attempts = 0

    def settle(self):
        ticket, self.ticket = self.ticket, None
        if ticket is not None:
            ticket.settle()


class Delivery:
    """Sends one subscription's chunks to its target from its own thread (``start``); an
    unexpected error in that thread is counted in ``loop_errors['pubsub-delivery']`` (a
    Counter, shared by a worker's deliveries) and the thread goes on."""

    def __init__(self, subscription, sender, retries=3, backoff=0.5, on_close=None,
                 loop_errors=None):
        self.subscription = subscription
        self._policy = delivery.Policy(subscription.target.policy,
                                       subscription.target.max_queue_length, retries)
        self.policy = self._policy.name
        self.max_queue_length = self._policy.max_queue_length
        self.loop_errors = collections.Counter() if loop_errors is None else loop_errors
        self._sender = sender
        self._backoff = delivery.Backoff(backoff, MAX_BACKOFF)
        self._on_close = on_close
        self._chunks = collections.deque()
        self._queued = 0
        self._failing = False
        self._retry_at = 0.0
        self._counters = delivery.Counters()
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self.thread = None

    def start(self):
        self.thread = loops.start_thread('delivery-%s' % self.subscription.id, self._run,
                                         self._stopping)

    @property
    def queue_length(self):
        return self._queued

    def count(self, counter, amount):
        self._counters.add(counter, amount)

    def take_counters(self):
        """The counters since the last call, those above zero (and resets them)."""
        return self._counters.take()

    def offer(self, ticket, values, keys):
        """Queue ``values`` (the ticket is held until they are settled); what does not fit
        in the queue is dropped and counted."""
        with self._condition:
            if self._stopping.is_set():
                return
            room = self.max_queue_length - self._queued
            if room < len(values):
                self._counters.add('dropped', len(values) - max(room, 0))
                values, keys = values[:max(room, 0)], keys[:max(room, 0)]
                if not values:
                    return
            chunk = _Chunk(None, values, keys)
            if not self._failing or self.policy == delivery.DROP:
                chunk.ticket = ticket
                ticket.hold()
            self._chunks.append(chunk)
            self._queued += len(values)
            self._condition.notify()

    def _run(self):
        loops.run('delivery of subscription %s' % self.subscription.id, self._step,
                  self._stopping, self.loop_errors, key='pubsub-delivery')

    def _step(self):
        """Send the oldest chunk; the backoff to wait when its target failed."""
        with self._condition:
            while not self._chunks and not self._stopping.is_set():
                self._condition.wait()
            if self._stopping.is_set():
                return None
            chunk = self._chunks[0]
        if self.policy == delivery.DROP and time.monotonic() < self._retry_at:
            # A target that just failed is not tried again before its backoff is over.
            self._finish(chunk, dropped=len(chunk.values))
            return None
        if self._attempt(chunk):
            self._backoff.reset()
            return None
        delay = self._backoff.next()
        self._retry_at = time.monotonic() + delay
        return None if self.policy == delivery.DROP else delay

    def _attempt(self, chunk):
        """Send the chunk; False when the target failed (back off before the next try)."""
        try:
            self._sender.send(chunk.values, chunk.keys)
        except delivery.SendError as exc:
            return self._failed(chunk, exc)
        except Exception as exc:  # a bug must not stop this delivery for good
            LOG.exception('delivery of subscription %s failed', self.subscription.id)
            return self._failed(chunk, delivery.SendError(str(exc), permanent=True))
        self._finish(chunk, delivered=len(chunk.values))
        self._failing = False
        return True

    def _failed(self, chunk, error):
        failed = sorted(set(error.failed if error.failed is not None
                            else range(len(chunk.values))))
        chunk.attempts += 1
        self.count('failed', len(failed))
        taken = len(chunk.values) - len(failed)
        LOG.warning('subscription %s: %s (attempt %d)', self.subscription.id, error,
                    chunk.attempts)
        if error.permanent:
            # These values can never be sent; the target itself is fine.
            self._finish(chunk, delivered=taken, dropped=len(failed))
            return True
        if not self._policy.tries_again(chunk.attempts):
            self._finish(chunk, delivered=taken, dropped=len(failed))
        else:
            with self._condition:
                self._queued -= taken
                self._counters.add('delivered', taken)
                chunk.values = [chunk.values[i] for i in failed]
                chunk.keys = [chunk.keys[i] for i in failed]
        with self._condition:
            self._failing = True
            # A failing target's queue holds its values: their batches may be committed.
            for waiting in self._chunks:
                waiting.settle()
        return False

    def _finish(self, chunk, delivered=0, dropped=0):
        with self._condition:
            if self._chunks and self._chunks[0] is chunk:
                self._chunks.popleft()
            self._queued -= len(chunk.values)
            self._counters.add('delivered', delivered)
            self._counters.add('dropped', dropped)
        chunk.settle()

    def stop(self):
        """Stop sending; whatever waits is dropped and its batches settled (they are the
        subscription's no more)."""
        with self._condition:
            self._stopping.set()
            self._condition.notify_all()
            chunks, self._chunks = list(self._chunks), collections.deque()
            self._queued = 0
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout=60)
        for chunk in chunks:
            chunk.settle()
        self._sender.close()
        if self._on_close is not None:
            self._on_close()
