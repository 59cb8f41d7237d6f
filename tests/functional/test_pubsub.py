"""telewatch-pubsub on the real Kafka broker: the firehose in, subscribers' topics and UDP
ports out, with exact counts per subscription."""

import collections
import json

import pytest

from tests.functional import bus_helpers
from tests.functional import pubsub_helpers as helpers

pytestmark = pytest.mark.usefixtures('kafka_bootstrap')

METERS = ('cpu', 'memory.usage', 'disk.read.bytes')


def _firehose():
    """4 projects x 5 resources x 3 meters x 4 timestamps 30 s apart: 240 samples."""
    samples = []
    for minute in range(4):
        timestamp = '2026-11-01T00:%02d:%02d+00:00' % (minute // 2, 30 * (minute % 2))
        for project in ('project-a', 'project-b', 'project-c', 'project-d'):
            for index in range(5):
                for meter in METERS:
                    samples.append(helpers.sample(meter, project, '%s-vm-%d' % (project, index),
                                                  volume=minute, timestamp=timestamp))
    return samples


def _create(registry, name, project_id, target, meters, **fields):
    document = dict(name=name, meters=meters, target=target, **fields)
    if 'projects' not in document:
        document['projects'] = [project_id]
    return registry.create(document, project_id, 'user')['id']


def _key(item):
    return (item.name, item.project_id, item.resource_id, item.timestamp)


def _wait_counters(registry, ids, expected, timeout=30):
    def settled():
        counters = registry.counters(ids)
        return all(counters[i]['delivered'] == expected[i] for i in ids)
    bus_helpers.wait_for(settled, timeout)
    return registry.counters(ids)


def test_each_subscription_gets_exactly_what_its_filters_and_project_allow(
        tmp_path, kafka_bootstrap, kafka_topics):
    conf = helpers.make_conf(tmp_path, kafka_topics, secret='s3cret')
    registry = helpers.make_registry(tmp_path)
    topic_a = kafka_topics.new('sub-a')
    udp = helpers.UdpReceiver()
    ids = {
        # a member of project-a: every cpu sample of the project, to a Kafka topic
        'a': _create(registry, 'a-cpu', 'project-a',
                     'kafka://%s?topic=%s' % (kafka_bootstrap, topic_a), ['cpu']),
        # a member of project-b: everything but cpu of one resource, over UDP
        'b': _create(registry, 'b-vm', 'project-b', udp.url, ['*', '!cpu'],
                     resources=['project-b-vm-1']),
        # admin, every project: disk meters, at most one per resource and meter a minute
        'admin': _create(registry, 'all-disk', 'admin-project', udp.url, ['disk.*'],
                         projects=None, interval=60),
        # a member of project-a naming project-c's resource still sees only project-a
        'thief': _create(registry, 'thief', 'project-a', udp.url, ['*'],
                         resources=['project-c-vm-0']),
    }
    samples = _firehose()
    reader = helpers.TopicReader(kafka_bootstrap, topic_a)
    try:
        with helpers.running_worker(conf, registry):
            helpers.produce(kafka_bootstrap, conf.pubsub.firehose_topic, samples,
                            secret='s3cret')
            expected_a = [s for s in samples if s.name == 'cpu' and s.project_id == 'project-a']
            expected_b = [s for s in samples if s.resource_id == 'project-b-vm-1'
                          and s.name != 'cpu']
            # disk.read.bytes of 20 resources, timestamps 0, 30, 60, 90 s: 0 and 60 pass
            expected_admin = [s for s in samples if s.name == 'disk.read.bytes'
                              and s.timestamp.second == 0]
            got_a = reader.read(len(expected_a))
            udp.read(len(expected_b) + len(expected_admin))
            counters = _wait_counters(registry, list(ids.values()), {
                ids['a']: len(expected_a), ids['b']: len(expected_b),
                ids['admin']: len(expected_admin), ids['thief']: 0})
            assert bus_helpers.wait_for(
                lambda: helpers.committed_lag(conf, kafka_bootstrap) == 0, 30)
    finally:
        reader.close()
        udp.close()

    assert sorted(map(_key, reader.samples())) == sorted(map(_key, expected_a))
    # each resource's samples in order on its partition, keyed by resource id
    by_partition = collections.defaultdict(list)
    for record in got_a:
        assert record.key == json.loads(record.value)['resource_id'].encode()
        by_partition[(record.partition, record.key)].append(json.loads(record.value)['volume'])
    assert all(volumes == sorted(volumes) for volumes in by_partition.values())

    assert sorted(map(_key, udp.samples())) == sorted(map(_key, expected_b + expected_admin))
    assert counters[ids['a']]['delivered'] == len(expected_a)
    assert counters[ids['b']]['delivered'] == len(expected_b)
    assert counters[ids['admin']]['delivered'] == len(expected_admin)
    assert counters[ids['admin']]['skipped'] == len(
        [s for s in samples if s.name == 'disk.read.bytes']) - len(expected_admin)
    assert counters[ids['thief']]['delivered'] == 0
    for subscription_id in ids.values():
        assert counters[subscription_id]['dropped'] == 0
        assert counters[subscription_id]['failed'] == 0


def test_a_target_that_is_down_does_not_stop_the_others(tmp_path, kafka_bootstrap, kafka_topics):
    conf = helpers.make_conf(tmp_path, kafka_topics)
    registry = helpers.make_registry(tmp_path)
    udp = helpers.UdpReceiver()
    healthy = _create(registry, 'healthy', 'p', udp.url, ['cpu'])
    # Nothing listens on port 1: every send fails; its queue holds 50 values.
    down = _create(registry, 'down', 'p', 'kafka://127.0.0.1:1?topic=t&max_queue_length=50',
                   ['cpu'])
    dropping = _create(registry, 'dropping', 'p',
                       'kafka://127.0.0.1:1?topic=t&policy=drop', ['cpu'])
    samples = [helpers.sample('cpu', 'p', 'vm-%d' % (i % 7), volume=i) for i in range(400)]
    try:
        with helpers.running_worker(conf, registry):
            helpers.produce(kafka_bootstrap, conf.pubsub.firehose_topic, samples)
            assert len(udp.read(400, timeout=60)) == 400
            counters = _wait_counters(registry, [healthy], {healthy: 400})
            assert counters[healthy]['delivered'] == 400
            # the queue policy holds the failing target's values, so the batches commit
            assert bus_helpers.wait_for(
                lambda: helpers.committed_lag(conf, kafka_bootstrap) == 0, 60)
            assert bus_helpers.wait_for(
                lambda: registry.counters([down])[down]['queue_length'] == 50, 30)
            assert bus_helpers.wait_for(
                lambda: registry.counters([dropping])[dropping]['dropped'] == 400, 60)
    finally:
        udp.close()
    counters = registry.counters([down, dropping])
    assert counters[down]['delivered'] == 0
    assert counters[down]['dropped'] == 350
    assert counters[down]['failed'] > 0
    assert 1 <= counters[dropping]['failed'] <= 400


def test_subscriptions_take_effect_without_a_restart(tmp_path, kafka_bootstrap, kafka_topics):
    conf = helpers.make_conf(tmp_path, kafka_topics)
    registry = helpers.make_registry(tmp_path)
    udp = helpers.UdpReceiver()
    first = [helpers.sample('cpu', 'p', 'vm-1', volume=i) for i in range(10)]
    second = [helpers.sample('cpu', 'p', 'vm-2', volume=i) for i in range(10)]
    try:
        with helpers.running_worker(conf, registry) as worker:
            helpers.produce(kafka_bootstrap, conf.pubsub.firehose_topic, first)
            assert bus_helpers.wait_for(lambda: worker.dispatcher.counters['discarded'] == 10, 60)
            subscription_id = _create(registry, 'late', 'p', udp.url, ['cpu'])
            assert bus_helpers.wait_for(lambda: worker.status()['subscriptions'] == 1, 10)
            helpers.produce(kafka_bootstrap, conf.pubsub.firehose_topic, second)
            assert len(udp.read(10)) == 10
            registry.update(subscription_id, {'meters': ['memory.usage']})
            assert bus_helpers.wait_for(
                lambda: worker.router.routing.deliveries[subscription_id].subscription.revision
                == 2, 10)
            helpers.produce(kafka_bootstrap, conf.pubsub.firehose_topic, first)
            registry.delete(subscription_id)
            assert bus_helpers.wait_for(lambda: worker.status()['subscriptions'] == 0, 10)
            udp.read(11, timeout=3)
    finally:
        udp.close()
    # the samples before the subscription were discarded; after the change to memory.usage
    # no cpu sample went out
    assert sorted(s.volume for s in udp.samples()) == [float(i) for i in range(10)]
    assert all(s.resource_id == 'vm-2' for s in udp.samples())


def test_bad_records_are_rejected_counted_and_the_worker_goes_on(
        tmp_path, kafka_bootstrap, kafka_topics):
    conf = helpers.make_conf(tmp_path, kafka_topics, secret='s3cret')
    registry = helpers.make_registry(tmp_path)
    udp = helpers.UdpReceiver()
    _create(registry, 'all', 'p', udp.url, ['*'])
    good = [helpers.sample('cpu', 'p', 'vm-1', volume=i) for i in range(5)]
    try:
        with helpers.running_worker(conf, registry) as worker:
            topic = conf.pubsub.firehose_topic
            helpers.produce_raw(kafka_bootstrap, topic, [b'not json', b'[1, 2]'])
            helpers.produce_raw(kafka_bootstrap, topic, [
                b'not json', b'[1, 2]', b'{"schema_version": 99, "name": "cpu"}',
                b'{"schema_version": 1, "name": 3, "resource_id": "r"}'], secret='s3cret')
            helpers.produce(kafka_bootstrap, topic, good[:2], secret='wrong')
            helpers.produce(kafka_bootstrap, topic, good, secret='s3cret')
            assert len(udp.read(5)) == 5
            assert bus_helpers.wait_for(lambda: sum(worker.dispatcher.rejected.values()) == 8, 10)
            assert worker.dispatcher.rejected == {'signature': 4, 'format': 2,
                                                  'schema_version': 1, 'sample': 1}
    finally:
        udp.close()
    assert sorted(s.volume for s in udp.samples()) == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_a_pipeline_sink_feeds_the_firehose_and_pubsub_delivers_to_a_subscriber_topic(
        tmp_path, kafka_bootstrap, kafka_topics):
    from telewatch.pipeline import config
    from telewatch.pipeline import engine
    conf = helpers.make_conf(tmp_path, kafka_topics, secret='s3cret')
    firehose_url = 'kafka://%s?topic=%s' % (kafka_bootstrap, conf.pubsub.firehose_topic)
    (tmp_path / 'pipeline.yaml').write_text(
        'sources: [{name: all, meters: ["*"], sinks: [firehose]}]\n'
        'sinks: [{name: firehose, publishers: ["%s"]}]\n' % firehose_url)
    manager = engine.PipelineManager(
        config.load_pipeline(str(tmp_path / 'pipeline.yaml'), conf), conf)
    registry = helpers.make_registry(tmp_path)
    topic = kafka_topics.new('subscriber')
    subscription_id = _create(registry, 'mine', 'project-a',
                              'kafka://%s?topic=%s' % (kafka_bootstrap, topic), ['disk.*'])
    samples = _firehose()
    expected = [s for s in samples if s.project_id == 'project-a' and s.name.startswith('disk.')]
    reader = helpers.TopicReader(kafka_bootstrap, topic)
    try:
        with helpers.running_worker(conf, registry):
            manager.start()
            try:
                assert manager.process(samples)
            finally:
                manager.stop()
            reader.read(len(expected))
            counters = _wait_counters(registry, [subscription_id],
                                      {subscription_id: len(expected)})
    finally:
        reader.close()
    assert sorted(s.id for s in reader.samples()) == sorted(s.id for s in expected)
    assert counters[subscription_id]['delivered'] == len(expected)
