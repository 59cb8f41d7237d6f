"""Kafka producers: sending to a subscription target's topic, which errors may pass."""

import kafka.errors
import pytest
from kafka.partitioner import murmur2

from telewatch import delivery
from telewatch.kafka import producer as kafka_producer
from telewatch.pubsub import subscription as subscription_mod


class FakeFuture:
    def __init__(self, error=None):
        self.error = error

    def get(self, timeout=None):
        if self.error:
            raise self.error


class FakeProducer:
    def __init__(self, partitions=4, fail_values=()):
        self.partitions = partitions
        self.fail_values = fail_values
        self.records = []

    def partitions_for(self, topic):
        return set(range(self.partitions))

    def run(self, append, *args):
        return append(self, *args)

    def send(self, topic, value, key, partition):
        self.records.append((topic, value, key, partition))
        if value in self.fail_values:
            return FakeFuture(kafka.errors.NotLeaderForPartitionError())
        return FakeFuture()


def test_the_topic_sender_partitions_by_resource_as_the_java_client_would():
    producer = FakeProducer()
    sender = kafka_producer.TopicSender(
        subscription_mod.Target('kafka://k:9092?topic=t'), producer, timeout=1)
    keys = [b'vm-%d' % i for i in range(20)]
    sender.send([b'v'] * 20, keys)
    assert [(key, partition) for _, _, key, partition in producer.records] == [
        (key, (murmur2(key) & 0x7fffffff) % 4) for key in keys]
    assert {topic for topic, _, _, _ in producer.records} == {'t'}


def test_the_topic_sender_reports_which_values_were_not_taken():
    producer = FakeProducer(fail_values={b'2', b'4'})
    sender = kafka_producer.TopicSender(
        subscription_mod.Target('kafka://k:9092?topic=t'), producer, timeout=1)
    with pytest.raises(delivery.SendError) as caught:
        sender.send([b'%d' % i for i in range(6)], [b'k'] * 6)
    assert caught.value.failed == [2, 4]
    assert not caught.value.permanent
