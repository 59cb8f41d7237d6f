"""A telewatch-pubsub worker in a thread on the real Kafka broker, and what subscribers get."""

import contextlib
import socket
import threading
import time

import kafka

from telewatch import firehose
from telewatch import sample as sample_mod
from telewatch import service
from telewatch.archive.index import migration
from telewatch.pubsub import registry as registry_mod
from telewatch.pubsub import service as pubsub_service
from tests.functional import services


def unique(prefix):
    return services.unique(prefix)


def make_conf(tmp_path, kafka_topics, secret='', **pubsub):
    """A configuration of telewatch-pubsub with a firehose topic of its own (one of the
    test's ``kafka_topics``, deleted at its end)."""
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('telemetry_secret', secret, group='publisher')
    conf.set_override('firehose_url', 'kafka://' + kafka_topics.bootstrap, group='pubsub')
    conf.set_override('firehose_topic', kafka_topics.new('firehose'), group='pubsub')
    conf.set_override('consumer_group', unique('pubsub'), group='pubsub')
    conf.set_override('refresh_interval', 0.5, group='pubsub')
    conf.set_override('report_interval', 0.5, group='pubsub')
    for name, value in pubsub.items():
        conf.set_override(name, value, group='pubsub')
    return conf


def make_registry(tmp_path):
    registry = registry_mod.SubscriptionRegistry('sqlite:///%s' % (tmp_path / 'index.sqlite'))
    migration.upgrade(registry.engine)
    return registry


@contextlib.contextmanager
def running_worker(conf, registry):
    """A PubSubWorker consuming in a thread until the block ends."""
    worker = pubsub_service.PubSubWorker(conf, registry=registry)
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join(timeout=60)
        assert not thread.is_alive(), 'the pubsub worker did not stop'


def sample(name, project_id, resource_id, volume=1.0, timestamp='2026-11-01T00:00:00+00:00'):
    return sample_mod.Sample.create(name, 'gauge', 'x', volume, user_id='u',
                                    project_id=project_id, resource_id=resource_id,
                                    timestamp=timestamp)


def produce(kafka_bootstrap, topic, samples, secret=''):
    """Write samples to the firehose as the kafka:// publisher writes them."""
    producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    try:
        for item in samples:
            value = firehose.encode(item)
            producer.send(topic, value=value, key=firehose.key(item),
                          headers=firehose.headers(value, secret))
        producer.flush(timeout=60)
    finally:
        producer.close()


def produce_raw(kafka_bootstrap, topic, values, secret=''):
    producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        for value in values:
            producer.send(topic, value=value, headers=firehose.headers(value, secret))
        producer.flush(timeout=60)
    finally:
        producer.close()


class TopicReader:
    """Reads a subscriber's topic from its beginning."""

    def __init__(self, kafka_bootstrap, topic):
        self.topic = topic
        self.records = []
        self._consumer = kafka.KafkaConsumer(
            topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset='earliest',
            group_id=unique('reader'), enable_auto_commit=False)

    def read(self, count, timeout=60):
        """Read until ``count`` records arrived (then a little longer, to catch extras)."""
        deadline = time.monotonic() + timeout
        while len(self.records) < count and time.monotonic() < deadline:
            self._poll(500)
        self._poll(1000)
        return self.records

    def _poll(self, timeout_ms):
        for records in self._consumer.poll(timeout_ms=timeout_ms).values():
            self.records.extend(records)

    def samples(self):
        return [firehose.decode(record.value) for record in self.records]

    def close(self):
        self._consumer.close()


class UdpReceiver:
    """A UDP socket on a free port of 127.0.0.1, collecting JSON datagrams."""

    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 2 ** 20)
        self.socket.bind(('127.0.0.1', 0))
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.datagrams = []

    @property
    def url(self):
        return 'udp://127.0.0.1:%d' % self.port

    def read(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        quiet_until = None
        while time.monotonic() < deadline:
            try:
                self.datagrams.append(self.socket.recv(65535))
            except socket.timeout:
                if len(self.datagrams) >= count:
                    if quiet_until is None:
                        quiet_until = time.monotonic() + 1.0
                    elif time.monotonic() > quiet_until:
                        break
        return self.datagrams

    def samples(self):
        return [firehose.decode(datagram) for datagram in self.datagrams]

    def close(self):
        self.socket.close()


def committed_lag(conf, kafka_bootstrap):
    """Records of the firehose not yet committed by the pubsub group."""
    topic = conf.pubsub.firehose_topic
    consumer = kafka.KafkaConsumer(bootstrap_servers=kafka_bootstrap,
                                   group_id=conf.pubsub.consumer_group,
                                   enable_auto_commit=False)
    try:
        partitions = [kafka.TopicPartition(topic, p)
                      for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(partitions)
        return sum(ends[tp] - (consumer.committed(tp) or 0) for tp in partitions)
    finally:
        consumer.close()
