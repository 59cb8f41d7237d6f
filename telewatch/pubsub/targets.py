"""Delivery to subscribers' targets: senders (Kafka, UDP) and, per subscription, a
``Delivery`` that sends in its own thread under the target's failure policy, so a slow or
failing target never holds up the others.

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
import concurrent.futures
import errno
import logging
import socket
import threading
import time

import kafka
import kafka.errors
from kafka.partitioner import murmur2

from telewatch import delivery
from telewatch import loops

LOG = logging.getLogger(__name__)
MAX_BACKOFF = 30.0
MAX_DATAGRAM = 65507


class SendError(Exception):
    """Sending failed; ``failed`` are the positions of the values not taken (all of them
    when None); ``permanent`` when sending them again cannot help."""

    def __init__(self, message, failed=None, permanent=False):
        super().__init__(message)
        self.failed = failed
        self.permanent = permanent


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
                raise SendError('cannot reach %s:%d: %s' % (self.host, self.port, exc)) \
                    from exc
        too_big = []
        for position, value in enumerate(values):
            if len(value) > MAX_DATAGRAM:
                too_big.append(position)
                continue
            try:
                self._socket.sendto(value, self._address)
            except OSError as exc:
                permanent = exc.errno == errno.EMSGSIZE
                raise SendError('cannot send to %s:%d: %s' % (self.host, self.port, exc),
                                failed=too_big + list(range(position, len(values))),
                                permanent=permanent) from exc
        if too_big:
            raise SendError('%d values exceed a datagram' % len(too_big), failed=too_big,
                            permanent=True)

    def close(self):
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


class KafkaSender:
    """Records to one topic through a producer shared by the targets of one cluster; each
    record goes to the partition its key (the resource id) picks, as the Java client's
    default partitioner would pick it."""

    def __init__(self, target, producer, timeout):
        self.topic = target.topic
        self._producer = producer
        self._timeout = timeout
        self._partitions = None
        self._checked = 0.0
        self._partition_of = {}

    def _partition_count(self):
        now = time.monotonic()
        if self._partitions is None or now - self._checked > 60:
            try:
                partitions = self._producer.partitions_for(self.topic)
            except kafka.errors.KafkaError as exc:
                raise SendError('no metadata for topic %s: %s' % (self.topic, exc)) from exc
            if not partitions:
                raise SendError('topic %s has no partitions' % self.topic)
            if len(partitions) != self._partitions:
                self._partition_of.clear()
            self._partitions, self._checked = len(partitions), now
        return self._partitions

    def _partition(self, key):
        partition = self._partition_of.get(key)
        if partition is None:
            if len(self._partition_of) > 100000:
                self._partition_of.clear()
            partition = self._partition_of[key] = (
                (murmur2(key) & 0x7fffffff) % self._partitions)
        return partition

    def _append(self, producer, values, keys):
        """(futures of the records appended, the error that stopped it or None)."""
        send, topic, partition = producer.send, self.topic, self._partition
        futures = []
        try:
            for value, key in zip(values, keys):
                futures.append(send(topic, value=value, key=key, partition=partition(key)))
        except kafka.errors.KafkaError as exc:
            return futures, exc
        return futures, None

    def send(self, values, keys):
        self._partition_count()
        futures, error = self._producer.run(self._append, values, keys)
        if error is not None:
            failed = list(range(len(futures), len(values)))
            self._wait(futures, failed)
            raise SendError('cannot send to topic %s: %s' % (self.topic, error),
                            failed=sorted(failed)) from error
        failed = []
        error = self._wait(futures, failed)
        if failed:
            raise SendError('topic %s did not take %d of %d values: %s'
                            % (self.topic, len(failed), len(values), error),
                            failed=sorted(failed), permanent=isinstance(
                                error, kafka.errors.MessageSizeTooLargeError))

    def _wait(self, futures, failed):
        error = None
        deadline = time.monotonic() + self._timeout
        for position, future in enumerate(futures):
            try:
                future.get(timeout=max(0.0, deadline - time.monotonic()))
            except kafka.errors.KafkaError as exc:
                failed.append(position)
                error = exc
        return error

    def close(self):
        pass  # the producer belongs to the pool


class ProducerPool:
    """One kafka-python producer per cluster (its bootstrap servers), shared by every
    Kafka target there and closed with the last of them."""

    def __init__(self, conf):
        self._options = dict(
            linger_ms=conf.pubsub.kafka_linger_ms, batch_size=conf.pubsub.kafka_batch_size,
            compression_type=(None if conf.pubsub.kafka_compression == 'none'
                              else conf.pubsub.kafka_compression),
            # The producer retries what heals by itself (a new topic's leader election, a
            # leader moving) for up to delivery_timeout_ms; then the Delivery's policy acts.
            acks=1, max_block_ms=5000, bootstrap_timeout_ms=5000, request_timeout_ms=10000,
            delivery_timeout_ms=25000, client_id='telewatch-pubsub')
        self._producers = {}
        self._users = collections.Counter()
        self._lock = threading.Lock()

    def sender(self, target):
        servers = tuple('%s:%d' % server for server in target.servers)
        with self._lock:
            producer = self._producers.get(servers)
            if producer is None:
                producer = self._producers[servers] = _PooledProducer(
                    servers, lambda: kafka.KafkaProducer(
                        bootstrap_servers=list(servers), **self._options))
            self._users[servers] += 1
        return KafkaSender(target, producer, timeout=30.0), lambda: self.release(servers)

    def release(self, servers):
        with self._lock:
            self._users[servers] -= 1
            if self._users[servers] > 0:
                return
            del self._users[servers]
            producer = self._producers.pop(servers, None)
        if producer is not None:
            producer.close()

    def close(self):
        with self._lock:
            producers, self._producers = list(self._producers.values()), {}
            self._users.clear()
        for producer in producers:
            producer.close()


class _PooledProducer:
    """A producer created on first use (a cluster that is down fails the sends, not the
    subscription's creation)."""

    def __init__(self, servers, factory):
        self.servers = servers
        self._factory = factory
        self._producer = None
        self._lock = threading.Lock()
        self._appender = concurrent.futures.ThreadPoolExecutor(
            1, thread_name_prefix='kafka-append-%s' % ','.join(servers))

    def _get(self):
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = self._factory()
                except kafka.errors.KafkaError as exc:
                    raise SendError('cannot reach Kafka at %s: %s'
                                    % (','.join(self.servers), exc)) from exc
            return self._producer

    def partitions_for(self, topic):
        return self._get().partitions_for(topic)

    def run(self, append, *args):
        """``append(*args)`` in the cluster's one appending thread: kafka-python's
        producer is thread-safe, but dozens of threads appending at once spend several
        times the CPU in lock and interpreter-lock hand-offs that one thread does."""
        return self._appender.submit(append, self._get(), *args).result()

    def close(self):
        with self._lock:
            producer, self._producer = self._producer, None
        self._appender.shutdown(wait=True)
        if producer is not None:
            producer.close(timeout=10)


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
        except SendError as exc:
            return self._failed(chunk, exc)
        except Exception as exc:  # a bug must not stop this delivery for good
            LOG.exception('delivery of subscription %s failed', self.subscription.id)
            return self._failed(chunk, SendError(str(exc), permanent=True))
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
