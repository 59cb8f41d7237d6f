"""Kafka bus: the topics and records of other services' notifications, as oslo.messaging's
Kafka driver writes them."""

import collections
import json
import logging
import time
import types

import pytest
from kafka.structs import TopicPartition

from telewatch import kafka_bus
from telewatch import loops


def conf(url, topic='notifications'):
    return types.SimpleNamespace(transport_url=url,
                                 notification=types.SimpleNamespace(notifications_topic=topic))


@pytest.mark.parametrize('url, expected', [
    ('kafka://127.0.0.1:9092/', {'notifications.info': 'info', 'notifications.sample': 'sample'}),
    ('kafka://a:9092,b:9092', {'notifications.info': 'info', 'notifications.sample': 'sample'}),
    ('kafka://u:p@a:9092/prod', {'notifications.info.prod': 'info',
                                 'notifications.sample.prod': 'sample'}),
])
def test_notification_topics_are_named_as_the_oslo_kafka_driver_names_them(url, expected):
    assert kafka_bus.notification_topics(conf(url), ['info', 'sample']) == expected


NOTIFICATION = {'message_id': 'm-1', 'publisher_id': 'compute.cmp-07',
                'event_type': 'compute.instance.create.end', 'priority': 'INFO',
                'payload': {'instance_id': 'i-1'}, 'timestamp': '2024-05-14 09:31:07.412537',
                '_context': {'user': 'nova'}}


def test_a_messagingv2_record_is_unwrapped_from_its_envelope():
    record = json.dumps({'oslo.version': '2.0', 'oslo.message': json.dumps(NOTIFICATION)})
    assert kafka_bus.oslo_notification(record.encode()) == NOTIFICATION


def test_a_bare_notification_is_taken_as_it_is():
    assert kafka_bus.oslo_notification(json.dumps(NOTIFICATION).encode()) == NOTIFICATION


@pytest.mark.parametrize('value', [
    b'not JSON',
    b'[1, 2]',
    json.dumps({'payload': {}}).encode(),
    json.dumps({'oslo.version': '3.0', 'oslo.message': json.dumps(NOTIFICATION)}).encode(),
    json.dumps({'oslo.version': '2.0', 'oslo.message': 'not JSON'}).encode(),
    None,
])
def test_what_is_not_a_notification_is_a_value_error(value):
    with pytest.raises((TypeError, ValueError)):
        kafka_bus.oslo_notification(value)


class FakeKafkaConsumer:
    """Hands out ``polls`` in turn; ``seek`` puts the last one back, as Kafka reads it again."""

    def __init__(self, *topics, **options):
        self.polls = collections.deque()
        self.seeks, self.commits, self._last = [], [], None

    def poll(self, timeout_ms, max_records):
        if not self.polls:
            time.sleep(0.005)
            return {}
        self._last = self.polls.popleft()
        return self._last

    def seek(self, tp, offset):
        self.seeks.append((tp.topic, offset))
        if not self.polls or self.polls[0] is not self._last:
            self.polls.appendleft(self._last)

    def commit(self, offsets):
        self.commits.append({tp.topic: o.offset for tp, o in offsets.items()})

    def close(self, autocommit=False):
        pass


class BuggyOnceEndpoint:
    def __init__(self):
        self.batches = []

    def sample(self, messages):
        self.batches.append([m['payload'] for m in messages])
        if len(self.batches) == 1:
            raise RuntimeError('a bug')
        return kafka_bus.HANDLED


def test_the_listener_outlives_an_endpoint_bug_and_reads_the_poll_again(monkeypatch, caplog):
    monkeypatch.setattr(loops, 'MIN_DELAY', 0.01)
    monkeypatch.setattr(kafka_bus.kafka, 'KafkaConsumer', FakeKafkaConsumer)
    settings = types.SimpleNamespace(
        transport_url='kafka://127.0.0.1:9/', bus=types.SimpleNamespace(samples_topic='s'),
        notification=types.SimpleNamespace(notifications_topic='n', batch_size=10))
    endpoint = BuggyOnceEndpoint()
    listener = kafka_bus.KafkaListener(settings, [endpoint], reject=None)
    consumer = listener._consumer
    Record = collections.namedtuple('Record', 'offset value')
    consumer.polls.append({TopicPartition('s', 0): [Record(4, b'[1]'), Record(5, b'[2]')]})
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        listener.start()
        try:
            deadline = time.monotonic() + 10
            while not consumer.commits and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:
            listener.stop()
    assert endpoint.batches == [[[1], [2]], [[1], [2]]]
    assert consumer.seeks == [('s', 4)]
    assert consumer.commits == [{'s': 6}]
    assert listener.loop_errors == {'kafka-listener': 1}
    assert 'kafka-listener: unexpected error (1 so far)' in caplog.text
    assert 'RuntimeError: a bug' in caplog.text
