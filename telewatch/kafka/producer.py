"""Kafka producers: their options, one shared producer per cluster for the subscription
targets, sending a batch of records to a topic by key, and which errors may pass.
"""

import collections
import concurrent.futures
import threading
import time

import kafka
import kafka.codec
import kafka.errors

from telewatch import delivery
from telewatch.kafka import cluster

# The package each codec needs (kafka.codec.has_<codec>() says whether it is importable).
CODEC_PACKAGES = {'none': None, 'gzip': None, 'snappy': 'python-snappy', 'lz4': 'lz4',
                  'zstd': 'zstandard'}
# Errors of one record (not of the broker or of the network): sending it again cannot help.
RECORD_ERRORS = (kafka.errors.MessageSizeTooLargeError, kafka.errors.RecordListTooLargeError,
                 kafka.errors.InvalidRecordError, kafka.errors.CorruptRecordError)
# Errors kafka-python does not mark retriable but that pass once the broker is back or with
# a new producer.
HEALING_ERRORS = (kafka.errors.BrokerNotAvailableError, kafka.errors.IllegalStateError)
KafkaError = kafka.errors.KafkaError
KafkaTimeoutError = kafka.errors.KafkaTimeoutError
IllegalStateError = kafka.errors.IllegalStateError


def new_producer(**options):
    """A kafka-python producer (it reaches a broker within max_block_ms, or raises)."""
    return kafka.KafkaProducer(**options)


def compression_type(compression):
    """kafka-python's compression_type of a telewatch option (none, gzip, ...)."""
    return None if compression == 'none' else compression


def publisher_options(servers, options, delivery_timeout_ms):
    """The producer options of a kafka:// publisher (telewatch.publishers.kafka) from its
    URL's ``options``."""
    config = {key: options[key] for key in (
        'acks', 'linger_ms', 'batch_size', 'request_timeout_ms', 'max_block_ms',
        'client_id', 'security_protocol', 'ssl_check_hostname', 'ssl_cafile',
        'ssl_certfile', 'ssl_keyfile', 'sasl_mechanism', 'sasl_plain_username',
        'sasl_plain_password') if key in options}
    config.update(
        bootstrap_servers=servers,
        compression_type=compression_type(options['compression']),
        delivery_timeout_ms=delivery_timeout_ms,
        bootstrap_timeout_ms=options['max_block_ms'],
        # kafka-python's idempotent producer can stay stuck without a producer id after
        # its batches expired in a broker outage; the sink re-sends a failed batch
        # anyway (duplicates are allowed, losses are not). One request in flight keeps
        # each partition in order through the producer's own retries.
        enable_idempotence=False,
        max_in_flight_requests_per_connection=1,
        # kafka-python's default (30 s) would let a broker back from a restart wait for
        # samples that long; 1 s is the Java client's.
        reconnect_backoff_max_ms=1000)
    return config


def bus_options(servers):
    """The producer options of the Kafka bus's sender: every in-sync replica acknowledges
    a batch before the polling cycle lets it go."""
    return dict(bootstrap_servers=servers, acks='all', linger_ms=5, compression_type=None)


def pool_options(conf):
    """The producer options of the subscription targets' pool, from ``[pubsub]``."""
    return dict(
        linger_ms=conf.pubsub.kafka_linger_ms, batch_size=conf.pubsub.kafka_batch_size,
        compression_type=compression_type(conf.pubsub.kafka_compression),
        # The producer retries what heals by itself (a new topic's leader election, a
        # leader moving) for up to delivery_timeout_ms; then the Delivery's policy acts.
        acks=1, max_block_ms=5000, bootstrap_timeout_ms=5000, request_timeout_ms=10000,
        delivery_timeout_ms=25000, client_id='telewatch-pubsub')


def codec_errors(compression):
    """[why ``compression`` cannot be used here], empty when it can."""
    package = CODEC_PACKAGES[compression]
    if package is None or getattr(kafka.codec, 'has_' + compression)():
        return []
    return ['option compression: %s needs the Python package %s, which is not installed'
            % (compression, package)]


def retryable(error):
    """Whether sending again may pass after ``error``."""
    if isinstance(error, RECORD_ERRORS):
        return False
    return getattr(error, 'retriable', False) or isinstance(error, HEALING_ERRORS)


def outcome(future):
    """The error of a sent record (or the error its send raised); None once acknowledged."""
    if isinstance(future, Exception):
        return future
    if not future.is_done:
        return kafka.errors.KafkaTimeoutError('not acknowledged in time')
    return future.exception if future.failed() else None


class TopicSender:
    """Records to one topic (a subscription target's) through a producer shared by the
    targets of one cluster; each record goes to the partition its key (the resource id)
    picks. ``send`` raises delivery.SendError naming the values not taken."""

    def __init__(self, target, producer, timeout):
        self.topic = target.topic
        self._producer = producer
        self._timeout = timeout
        self._checked = 0.0
        self._partitioner = cluster.Partitioner()

    def _partition_count(self):
        now = time.monotonic()
        if self._partitioner.count is None or now - self._checked > 60:
            try:
                partitions = self._producer.partitions_for(self.topic)
            except kafka.errors.KafkaError as exc:
                raise delivery.SendError('no metadata for topic %s: %s'
                                         % (self.topic, exc)) from exc
            if not partitions:
                raise delivery.SendError('topic %s has no partitions' % self.topic)
            self._partitioner.resize(len(partitions))
            self._checked = now
        return self._partitioner.count

    def _append(self, producer, values, keys):
        """(futures of the records appended, the error that stopped it or None)."""
        send, topic, partition = producer.send, self.topic, self._partitioner.partition
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
            raise delivery.SendError('cannot send to topic %s: %s' % (self.topic, error),
                                     failed=sorted(failed)) from error
        failed = []
        error = self._wait(futures, failed)
        if failed:
            raise delivery.SendError('topic %s did not take %d of %d values: %s'
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


def alarm_options():
    """The producer options of the alarm notifiers' pool: every in-sync replica takes a
    state change before it counts as delivered."""
    return dict(acks='all', linger_ms=0, max_block_ms=5000, bootstrap_timeout_ms=5000,
                request_timeout_ms=10000, delivery_timeout_ms=25000,
                client_id='telewatch-alarm-notifier')


class ProducerPool:
    """One producer per cluster (its bootstrap servers), shared by every target there and
    closed with the last of them; options from ``[pubsub]`` (the subscriptions' targets),
    or ``options``."""

    def __init__(self, conf=None, options=None):
        self._options = pool_options(conf) if options is None else options
        self._producers = {}
        self._users = collections.Counter()
        self._lock = threading.Lock()

    def sender(self, target):
        """(a TopicSender to ``target``, the function that releases it)."""
        servers = tuple('%s:%d' % server for server in target.servers)
        with self._lock:
            producer = self._producers.get(servers)
            if producer is None:
                producer = self._producers[servers] = _PooledProducer(
                    servers, lambda: new_producer(
                        bootstrap_servers=list(servers), **self._options))
            self._users[servers] += 1
        return TopicSender(target, producer, timeout=30.0), lambda: self.release(servers)

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
                    raise delivery.SendError('cannot reach Kafka at %s: %s'
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
