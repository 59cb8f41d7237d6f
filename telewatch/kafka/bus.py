"""The bus over Apache Kafka, for ``transport_url = kafka://host:port`` (telewatch.bus.open).

oslo.messaging's own Kafka driver commits a consumer's offsets as soon as it has polled,
before the messages are processed, and cannot requeue: a crash loses what was in hand. This
bus commits an offset only once the pipeline took every sample before it, and rewinds
otherwise. Each sample goes to the partition its resource id picks as a Kafka key would
(murmur2, as the Java client and kafka-python), so one consumer of the group sees all of a
resource's samples, in order; a batch is split by partition, one message per partition.

The same consumer reads other services' notifications from the topics oslo.messaging's
Kafka driver writes them to (``notifications.info``, ...: Nova with a kafka:// transport_url
publishes there), with the same commit-after-acceptance, for the same intake.
"""

import collections
import concurrent.futures
import logging
import time
import threading
import urllib.parse

from telewatch import delivery
from telewatch import loops
from telewatch import messages
from telewatch.kafka import cluster
from telewatch.kafka import consumer as consumer_mod
from telewatch.kafka import producer as producer_mod

LOG = logging.getLogger(__name__)


def consumer_group(conf):
    return 'telewatch-notification-%s' % conf.bus.samples_topic


class KafkaBus:
    """The bus of a kafka:// transport URL: its consumer group divides the partitions among
    the notification agents (no coordination, no oslo.messaging transport)."""

    divides_partitions = True

    def __init__(self, conf):
        self.conf = conf

    def sender(self, secret, in_flight=1):
        """The polling agent's sender (one batch at a time: ``in_flight`` is not used)."""
        return KafkaBusSender(secret, self.conf)

    def listener(self, intake, loop_errors, attempts):
        """The notification agent's listener, to ``start``."""
        return KafkaListener(self.conf, intake, loop_errors=loop_errors, attempts=attempts)


class KafkaBusSender:
    """Sends each batch, split by partition; waits until the broker acknowledged it (acks
    from every in-sync replica) and retries while it cannot, so the polling cycle keeps
    its samples rather than losing them."""

    def __init__(self, secret, conf, max_backoff=30.0):
        self._secret = secret
        self._topic = conf.bus.samples_topic
        self._max_backoff = max_backoff
        self._partitioner = cluster.Partitioner()
        self._producer = producer_mod.new_producer(**producer_mod.bus_options(
            cluster.bootstrap_servers(conf.transport_url)))

    def send(self, samples):
        def on_retry(exc, retry, delay):
            LOG.warning('Kafka does not take the batch (%s); again in %.1f s', exc, delay)
        return delivery.retry(lambda: self._send(samples), producer_mod.KafkaError, None,
                              delivery.Backoff(0.5, self._max_backoff), time.sleep, on_retry)

    def submit(self, samples):
        """Sends at once (as ``send``); a future already done, as the Batcher takes."""
        future = concurrent.futures.Future()
        self.send(samples)
        future.set_result(None)
        return future

    def _send(self, samples):
        self._partitioner.resize(len(self._producer.partitions_for(self._topic)))
        partition_of = self._partitioner.partition
        groups = collections.defaultdict(list)
        for sample in samples:
            groups[partition_of(sample.resource_id.encode('utf-8'))].append(sample)
        futures = [self._producer.send(
            self._topic, partition=partition,
            value=messages.dumps(messages.encode_batch(group, self._secret)))
            for partition, group in groups.items()]
        for future in futures:
            future.get(timeout=60)

    def close(self):
        self._producer.close()


def notification_topics(conf, priorities):
    """{topic: priority} of other services' notifications, named as oslo.messaging's Kafka
    driver names them: ``<notifications_topic>.<priority>``, and ``.<virtual host>`` when the
    transport URL has one (kafka://host:9092/vhost)."""
    vhost = urllib.parse.urlsplit(conf.transport_url).path.strip('/')
    return {'.'.join(filter(None, (conf.notification.notifications_topic, priority, vhost))):
            priority for priority in priorities}


def oslo_notification(value):
    """The notification (a dict) in a record of oslo.messaging's Kafka driver: JSON, in the
    envelope ``{"oslo.version": "2.0", "oslo.message": "<JSON>"}`` (messagingv2) or bare
    (messaging). ValueError when the record is not one."""
    document = messages.loads(value)
    if isinstance(document, dict) and 'oslo.message' in document:
        version = str(document.get('oslo.version'))
        if version.split('.')[0] != '2':
            raise ValueError('oslo.messaging envelope version %s is not 2.x' % version)
        document = messages.loads(document['oslo.message'])
    if not isinstance(document, dict) or not isinstance(document.get('event_type'), str):
        raise ValueError('not an oslo.messaging notification (no event_type)')
    return document


class KafkaListener:
    """Consumes, in the deployment's consumer group, the samples topic and the other services'
    notification topics, and hands each poll to ``intake`` (telewatch.notification.intake)
    as oslo.messaging's batch listener would: lists of messages shaped like its own, one
    call per priority (``intake.handle(priority, messages, positions)``). When no message
    is to be delivered again the poll's offsets are committed (past the rejected records
    too) and what the intake rejected or dead-lettered of it is counted (``intake.settle``:
    an agent killed before the commit counts nothing, the one that reads the records again
    does); otherwise it rewinds to the poll's first offsets and tries again. A record that
    is not a notification at all is rejected through ``intake.reject``.

    A new consumer group starts every topic at its earliest retained offset: nothing sent
    before the first agent started is lost (oslo.messaging's consumers start at the latest).
    An unexpected error rewinds to the poll's first offsets too, is counted in
    ``loop_errors['kafka-listener']`` and the loop goes on after a backoff; after
    ``attempts`` such errors in a row, the next poll is delivered one record at a time, and
    a record that fails alone is dead-lettered (``intake.dead_letter``) and committed past:
    no record holds its partition forever.
    """

    def __init__(self, conf, intake, retry_delay=1.0, loop_errors=None, attempts=3):
        self._intake = intake
        self.loop_errors = collections.Counter() if loop_errors is None else loop_errors
        self._retry_delay = retry_delay
        self._attempts = attempts
        self._failures = 0  # unexpected errors in a row
        self._batch_size = conf.notification.batch_size
        self._samples_topic = conf.bus.samples_topic
        self._notifications = notification_topics(conf, intake.priorities)
        self.topics = [self._samples_topic] + sorted(self._notifications)
        self.group = consumer_group(conf)
        self._consumer = consumer_mod.Consumer.open(
            self.topics, cluster.bootstrap_servers(conf.transport_url), self.group)
        self._stop = threading.Event()
        self.thread = None

    def start(self):
        self.thread = loops.start_thread('kafka-listener', self._run, self._stop)
        LOG.info('consuming Kafka topics %s as group %s', ', '.join(self.topics), self.group)

    def _run(self):
        loops.run('kafka-listener', self._poll_once, self._stop, self.loop_errors)

    def _poll_once(self):
        deliver = self._deliver_each if self._failures >= self._attempts else self._deliver
        try:
            # When it raises, the poll is read again after the backoff: at-least-once.
            read = self._consumer.step(deliver, 500, self._batch_size)
        except Exception:
            self._failures += 1
            raise
        if read:
            self._failures = 0

    def _deliver(self, polled):
        """Hand the poll over; True once committed, False when rewound to come again."""
        batches = collections.defaultdict(lambda: ([], []))
        read = []
        for tp, records in polled.items():
            for record in records:
                where = 'kafka:' + consumer_mod.where(tp, record)
                read.append(where)
                priority, message = self._message(tp, record, where)
                if message is not None:
                    batches[priority][0].append(message)
                    batches[priority][1].append(where)
        for priority, (batch, positions) in batches.items():
            if self._intake.handle(priority, batch, positions):
                self._consumer.rewind(polled)
                self._stop.wait(self._retry_delay)
                return False
        if self._consumer.commit(consumer_mod.next_offsets(polled)):
            self._intake.settle(read)  # counted once committed: never read, or counted, again
        return True

    def _deliver_each(self, polled):
        """One record at a time: the one whose delivery still raises is dead-lettered and
        committed past; the first that must come again rewinds the rest."""
        parts = list(polled.items())
        for number, (tp, records) in enumerate(parts):
            for position, record in enumerate(records):
                try:
                    done = self._deliver({tp: [record]})
                except Exception as exc:
                    done = self._dead_letter(tp, record, exc)
                if not done:
                    self._consumer.rewind(
                        dict([(tp, records[position:])] + parts[number + 1:]))
                    return

    def _dead_letter(self, tp, record, error):
        where = 'kafka:' + consumer_mod.where(tp, record)
        value = record.value
        if isinstance(value, bytes):
            value = value.decode('utf-8', 'backslashreplace')
        message = {'publisher_id': where, 'event_type': None, 'payload': value}
        if not self._intake.dead_letter('listener', message, where, error):
            return False
        if self._consumer.commit(consumer_mod.next_offsets({tp: [record]}),
                                 'past the dead-lettered %s' % where):
            self._intake.settle([where])
        return True

    def _message(self, tp, record, where):
        """(priority, message shaped like oslo.messaging's), or (None, None) if rejected."""
        if tp.topic == self._samples_topic:
            return 'sample', {'event_type': messages.SAMPLES_EVENT_TYPE,
                              'payload': _decode(record.value), 'publisher_id': where,
                              'metadata': {'message_id': None, 'timestamp': None}}
        try:
            notification = oslo_notification(record.value)
        except (TypeError, ValueError) as exc:
            value = record.value
            self._intake.reject('format', {
                'publisher_id': where, 'event_type': None,
                'payload': value[:300] if isinstance(value, (bytes, str)) else value},
                where, exc)
            return None, None
        return self._notifications[tp.topic], {
            'ctxt': notification.get('_context') or {},
            'publisher_id': notification.get('publisher_id'),
            'event_type': notification['event_type'],
            'payload': notification.get('payload'),
            'metadata': {'message_id': notification.get('message_id'),
                         'timestamp': notification.get('timestamp')}}

    def stop(self):
        """Stop polling once the batch in hand is handled and committed."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join()
        self._consumer.close()


def _decode(value):
    try:
        return messages.loads(value)
    except (TypeError, ValueError):
        return value  # the endpoint rejects and counts what is not an envelope
