"""The kafka:// publisher against the real broker (tools/services/kafka): what a pipeline
sink publishes is read back with a kafka-python consumer and telewatch.firehose; a broker
restart mid-stream under the queue policy loses nothing."""

import collections
import threading

import kafka
import pytest
from kafka.structs import TopicPartition

from telewatch import firehose
from telewatch import sample as sample_mod
from telewatch import service
from telewatch.pipeline import config
from telewatch.pipeline import delivery
from telewatch.pipeline import engine
from telewatch.publishers import base
from telewatch.publishers import kafka as kafka_publisher
from tests.functional.services import restart_service

SECRET = 'kafka-publisher-secret'
PIPELINE = """
sources: [{name: all, meters: ["*"], sinks: [firehose]}]
sinks: [{name: firehose, publishers: ["%s"]}]
"""


def _conf():
    conf = service.prepare_service([])
    conf.set_override('telemetry_secret', SECRET, group='publisher')
    return conf


def _samples(count, resources=13, start=0):
    """Samples whose volume counts up per resource, so that their order can be checked."""
    return [sample_mod.Sample.create(
        'disk.read.bytes', 'cumulative', 'B', index, 'vm-%d' % (index % resources),
        timestamp='2026-11-01T00:00:00Z', resource_metadata={'host': 'compute-1'})
        for index in range(start, start + count)]


def read_topic(bootstrap, topic):
    """Every record of the topic, up to the end offsets it has now."""
    consumer = kafka.KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                   enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, number)
                      for number in sorted(consumer.partitions_for_topic(topic) or ())]
        assert partitions, 'topic %s does not exist' % topic
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        records = []
        for _ in range(600):  # at most ~10 minutes of polls, should the broker stall
            if all(consumer.position(tp) >= ends[tp] for tp in partitions):
                return records
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(batch)
        pytest.fail('the consumer did not reach the end offsets %s' % ends)
    finally:
        consumer.close()


def test_a_pipeline_sink_publishes_each_sample_once_keyed_signed_and_in_order(
        kafka_bootstrap, kafka_topics, tmp_path):
    topic = kafka_topics.new('test-publisher')
    url = 'kafka://%s?topic=%s' % (kafka_bootstrap, topic)
    (tmp_path / 'pipeline.yaml').write_text(PIPELINE % url)
    conf = _conf()
    manager = engine.PipelineManager(
        config.load_pipeline(str(tmp_path / 'pipeline.yaml'), conf), conf)
    samples = _samples(5000)
    manager.start()
    try:
        for start in range(0, len(samples), 500):
            assert manager.process(samples[start:start + 500])
    finally:
        manager.stop()
    assert list(manager.counters()['publishers'].values()) == [
        {'published': 5000, 'queue_length': 0, 'policy': 'retry'}]

    records = read_topic(kafka_bootstrap, topic)
    decoded = [firehose.decode(r.value, r.headers, SECRET) for r in records]
    assert len(decoded) == len(samples)
    assert sorted(decoded, key=lambda s: s.volume) == samples
    partitions = collections.defaultdict(set)
    volumes = collections.defaultdict(list)
    for record, sample in zip(records, decoded):
        assert record.key == sample.resource_id.encode('utf-8')
        partitions[sample.resource_id].add(record.partition)
        volumes[(record.partition, sample.resource_id)].append(sample.volume)
    assert all(len(found) == 1 for found in partitions.values())
    assert len({p for found in partitions.values() for p in found}) > 1
    for series in volumes.values():
        assert series == sorted(series)


def test_a_record_too_large_is_refused_alone(kafka_bootstrap, kafka_topics):
    topic = kafka_topics.new('test-publisher')
    publisher = kafka_publisher.KafkaPublisher(
        base.PublisherURL('kafka://%s?topic=%s' % (kafka_bootstrap, topic)), _conf())
    samples = _samples(10)
    huge = samples[4]._replace(resource_metadata={'blob': 'x' * (2 << 20)})
    publisher.start()
    try:
        with pytest.raises(base.PermanentPublishError) as raised:
            publisher.publish(samples[:4] + [huge] + samples[5:])
    finally:
        publisher.stop()
    assert raised.value.samples == 1
    assert 'MessageSizeTooLargeError' in str(raised.value)
    received = [firehose.decode(r.value, r.headers, SECRET)
                for r in read_topic(kafka_bootstrap, topic)]
    assert sorted(s.id for s in received) == sorted(s.id for s in samples[:4] + samples[5:])


def test_a_broker_restart_mid_stream_under_the_queue_policy_loses_nothing(
        kafka_bootstrap, kafka_topics):
    topic = kafka_topics.new('test-publisher')
    # Short timeouts, so that publishes fail (and queue) while the broker is away.
    publisher = kafka_publisher.KafkaPublisher(base.PublisherURL(
        'kafka://%s?topic=%s&policy=queue&max_queue_length=1000000&request_timeout_ms=1500'
        '&max_block_ms=1500&linger_ms=5' % (kafka_bootstrap, topic)), _conf())
    runner = delivery.PublisherRunner(publisher)
    sent, accepted, queued = [], [], []
    restarted = threading.Event()

    def stream():
        # Batches until the broker is back, and 20 after.
        after = 0
        while after < 20:
            batch = _samples(50, start=len(sent))
            sent.extend(batch)
            accepted.append(runner.publish(batch))
            queued.append(runner.status()['queue_length'])
            after += restarted.is_set()
            restarted.wait(0.05)

    publisher.start()
    streamer = threading.Thread(target=stream)
    streamer.start()
    try:
        seconds = restart_service('kafka')
    finally:
        restarted.set()
        streamer.join()
    # What the last batches could not send yet (the leaders may still be moving).
    drained = [runner.drain() for _ in range(10)]
    publisher.stop()
    status = runner.status()
    received = [firehose.decode(r.value, r.headers, SECRET).id
                for r in read_topic(kafka_bootstrap, topic)]
    print('broker restart took %.1f s; %d samples, at most %d queued, %d duplicates; %s'
          % (seconds, len(sent), max(queued), len(received) - len(set(received)), status))
    assert accepted and all(accepted) and len(accepted) == len(queued)
    assert max(queued) > 0
    assert drained[-1] and status['queue_length'] == 0
    assert 'dropped' not in status and 'handed_back' not in status
    assert set(received) == {s.id for s in sent}
