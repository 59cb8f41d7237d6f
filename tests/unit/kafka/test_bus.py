"""Kafka bus: the topics and records of other services' notifications, as oslo.messaging's
Kafka driver writes them."""

import collections
import json
import logging
import time
import types

import kafka
import pytest
from kafka.structs import TopicPartition

from telewatch import delivery as delivery_mod
from telewatch.kafka import bus as kafka_bus


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


Record = collections.namedtuple('Record', 'offset value')
SETTINGS = types.SimpleNamespace(
    transport_url='kafka://127.0.0.1:9/', bus=types.SimpleNamespace(samples_topic='s'),
    notification=types.SimpleNamespace(notifications_topic='n', batch_size=10))


class FakeIntake:
    """Records each handed batch; ``requeue(batch)`` says which indexes come again."""

    priorities = ('sample', 'info')

    def __init__(self, requeue=lambda batch: set()):
        self.requeue = requeue
        self.batches, self.rejected, self.dead, self.settled = [], [], [], []

    def settle(self, keys):
        self.settled.append(list(keys))

    def handle(self, priority, batch, keys=None):
        self.batches.append([m['payload'] for m in batch])
        return self.requeue(batch)

    def reject(self, reason, message, key, error):
        self.rejected.append((reason, key))

    def dead_letter(self, reason, message, key, error):
        self.dead.append((reason, key, message['payload'], str(error)))
        return True


def start_listener(monkeypatch, intake, polls, done, attempts=3):
    """Run a listener over ``polls`` until ``done(consumer)``; the listener and consumer."""
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    monkeypatch.setattr(kafka, 'KafkaConsumer', FakeKafkaConsumer)
    listener = kafka_bus.KafkaListener(SETTINGS, intake, retry_delay=0.01, attempts=attempts)
    consumer = listener._consumer._consumer
    consumer.polls.extend(polls)
    listener.start()
    try:
        deadline = time.monotonic() + 10
        while not done(consumer) and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        listener.stop()
    return listener, consumer


def test_the_listener_outlives_an_intake_bug_and_reads_the_poll_again(monkeypatch, caplog):
    calls = []

    def buggy_once(batch):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError('a bug')
        return set()
    intake = FakeIntake(buggy_once)
    poll = {TopicPartition('s', 0): [Record(4, b'[1]'), Record(5, b'[2]')]}
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        listener, consumer = start_listener(monkeypatch, intake, [poll],
                                            lambda consumer: consumer.commits)
    assert intake.batches == [[[1], [2]], [[1], [2]]]
    assert consumer.seeks == [('s', 4)]
    assert consumer.commits == [{'s': 6}]
    assert listener.loop_errors == {'kafka-listener': 1}
    assert 'kafka-listener: unexpected error (1 so far)' in caplog.text
    assert 'RuntimeError: a bug' in caplog.text


def test_rejected_records_are_committed_past_with_the_others(monkeypatch):
    intake = FakeIntake()
    poll = {TopicPartition('n.info', 0): [Record(7, b'not JSON'), Record(8, json.dumps(
        NOTIFICATION).encode())]}
    _, consumer = start_listener(monkeypatch, intake, [poll], lambda c: c.commits)
    assert intake.rejected == [('format', 'kafka:n.info:0@7')]
    assert intake.batches == [[NOTIFICATION['payload']]]
    assert consumer.commits == [{'n.info': 9}]
    # Counted once committed, not before: an agent killed in between counts nothing.
    assert intake.settled == [['kafka:n.info:0@7', 'kafka:n.info:0@8']]


def test_a_record_that_keeps_failing_is_dead_lettered_and_committed_past(monkeypatch):
    def poison(batch):
        if any(m['payload'] == ['poison'] for m in batch):
            raise RuntimeError('fails for this record')
        return set()
    intake = FakeIntake(poison)
    tp = TopicPartition('s', 0)
    poll = {tp: [Record(1, b'[1]'), Record(2, b'["poison"]'), Record(3, b'[3]')]}
    listener, consumer = start_listener(monkeypatch, intake, [poll],
                                        lambda c: len(c.commits) == 3, attempts=2)
    # Twice the whole poll, then one record at a time.
    assert intake.batches == [[[1], ['poison'], [3]]] * 2 + [[[1]], [['poison']], [[3]]]
    assert intake.dead == [('listener', 'kafka:s:0@2', '["poison"]',
                            'fails for this record')]
    assert consumer.commits == [{'s': 2}, {'s': 3}, {'s': 4}]
    assert intake.settled == [['kafka:s:0@1'], ['kafka:s:0@2'], ['kafka:s:0@3']]
    assert listener.loop_errors == {'kafka-listener': 2}


def test_a_poll_handed_back_is_read_again_from_its_first_offsets(monkeypatch):
    answers = [{0}, set()]
    intake = FakeIntake(lambda batch: answers.pop(0))
    tp = TopicPartition('s', 0)
    poll = {tp: [Record(1, b'[1]'), Record(2, b'[2]')]}
    _, consumer = start_listener(monkeypatch, intake, [poll], lambda c: c.commits)
    assert consumer.seeks == [('s', 1)] and consumer.commits == [{'s': 3}]
