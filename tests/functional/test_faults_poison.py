"""Fault suite, poison input (issue 19, §2-§4): malformed messages of every kind interleaved
with good samples on the real RabbitMQ and the real Kafka, and a sample no backend can store
in a batch of good ones on the real PostgreSQL index. Every good sample arrives, nothing
stalls, each bad message is counted exactly once by reason."""

import json
import os
import signal
import time
import urllib.parse
import uuid

import kafka
import kombu
import oslo_messaging

from telewatch import bus
from telewatch import messages
from telewatch import service
from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod
from telewatch.kafka import bus as kafka_bus
from telewatch.pipeline import delivery
from telewatch.publishers import archive as archive_publisher
from telewatch.publishers import base as publisher_base
from tests.functional import faulty_publisher
from tests.functional import services
from tests.functional.bus_helpers import (
    REPO, SECRET, Deployment, make_samples, send, wait_for)

GOOD = 500
ROUNDS = 10  # the good samples go in ROUNDS batches, the poison between them


def status(deployment):
    try:
        return json.loads(deployment.status.read_text())
    except (OSError, ValueError):
        return {}


def counts(deployment):
    found = status(deployment)
    return {key: found.get(key) for key in ('rejected', 'rejected_samples', 'dead_lettered')}


def nul_batch(count=1, at=0):
    samples = make_samples(count)
    samples[at] = samples[at]._replace(resource_id='vm\x00evil')
    return samples


def interleave(deployment, poison):
    """The good samples in ROUNDS batches, ``poison[i]()`` sent after batch i; the ids and
    when the first was sent."""
    good = make_samples(GOOD)
    started = time.monotonic()
    size = GOOD // ROUNDS
    for round_ in range(ROUNDS):
        send(deployment, good[round_ * size:(round_ + 1) * size])
        for send_poison in poison[round_::ROUNDS]:
            send_poison()
    return sorted(s.id for s in good), started


def check_every_good_sample_arrives(deployment, agent, sent, expected_counts):
    expected_ids, started = sent
    assert wait_for(lambda: len(deployment.received()) >= len(expected_ids), timeout=90), \
        agent.log.read_text()[-5000:]
    print('%d good samples sent among the poison arrived %.1f s after the first was sent'
          % (len(expected_ids), time.monotonic() - started))
    assert wait_for(lambda: counts(deployment) == expected_counts), (
        counts(deployment), agent.log.read_text()[-5000:])
    time.sleep(3)  # nothing comes again, nothing is counted twice
    assert sorted(deployment.received()) == expected_ids
    assert counts(deployment) == expected_counts
    print('counted: %s' % counts(deployment))
    assert agent.poll() is None
    assert 'Traceback' not in agent.log.read_text()


# -- RabbitMQ ------------------------------------------------------------------------------

def rabbit_poison(deployment, rabbitmq_url):
    """Senders of bad messages: through oslo.messaging's notifier (they reach the
    dispatcher) and raw on the agent's queue (the driver cannot read most of them)."""
    transport = bus.get_transport(deployment.conf)
    notifier = oslo_messaging.Notifier(transport, 'tests.poison', driver='messagingv2',
                                       topics=bus.topics(deployment.conf))
    envelope = messages.encode_batch(make_samples(1), SECRET)
    queue = '%s.sample' % deployment.conf.bus.samples_topic
    url = urllib.parse.urlsplit(rabbitmq_url)._replace(scheme='amqp').geturl()
    connection = kombu.Connection(url, connect_timeout=10)
    producer = connection.Producer()

    def notify(event_type, payload):
        return lambda: notifier.sample({}, event_type, payload)

    def raw(body, content_type='application/json'):
        return lambda: producer.publish(body, routing_key=queue, exchange='',
                                        content_type=content_type, content_encoding='binary',
                                        delivery_mode=2)
    senders = [
        notify('telemetry.polling', {'samples': [1, 'x']}),                   # sample
        notify('telewatch.samples', 'not an envelope'),                       # format
        notify('telewatch.samples', messages.encode_batch(make_samples(2),
                                                          'another secret')),  # signature
        notify('telewatch.samples', dict(envelope, version=3)),               # version
        notify('telewatch.samples', dict(envelope, payload='!!')),            # payload
        notify('telewatch.samples', messages.encode_batch(nul_batch(), SECRET)),  # sample
        notify('something.else', envelope),                                   # format
        raw(os.urandom(4096), 'application/octet-stream'),                    # unreadable
        raw(b''),                            # format: the driver reads it as {}, no priority
        raw(os.urandom(20 * 2 ** 20), 'application/octet-stream'),            # unreadable
        raw(b'[1, 2, 3]'),                                                    # unreadable
        raw(b'{"oslo.version": "2.0", "oslo.message": "{not JSON"}'),         # unreadable
        raw(b'{"no": "priority"}'),                                           # format
        raw(json.dumps({'priority': 'sample', 'event_type': 'telewatch.samples',
                        'payload': 12}).encode()),                             # format
    ]
    return senders, lambda: (connection.release(), transport.cleanup())


RABBIT_COUNTS = {'rejected': {'sample': 2, 'format': 5, 'signature': 1, 'version': 1,
                              'payload': 1, 'unreadable': 4},
                 'rejected_samples': {}, 'dead_lettered': {}}


def test_over_rabbitmq_poison_stalls_nothing_and_is_counted_once(deployment, rabbitmq_url):
    agent = deployment.start('telewatch-agent-notification',
                             conf_text='[DEFAULT]\ndata_dir = %s\n' % deployment.dir)
    assert wait_for(lambda: 'consuming' in agent.log.read_text()), agent.log.read_text()
    senders, close = rabbit_poison(deployment, rabbitmq_url)
    try:
        sent = interleave(deployment, senders)
    finally:
        close()
    check_every_good_sample_arrives(deployment, agent, sent, RABBIT_COUNTS)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0


# -- Kafka ---------------------------------------------------------------------------------

def kafka_poison(deployment, kafka_bootstrap):
    """Senders of bad records: raw on the samples topic, and oslo.messaging-shaped ones on
    the notification topics."""
    producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap, acks='all',
                                   max_request_size=2 ** 21)
    samples_topic = deployment.conf.bus.samples_topic
    notifications = deployment.notifications_topic

    def raw(topic, value):
        return lambda: producer.send(topic, value).get(timeout=30)

    def oslo(priority, event_type, payload):
        message = {'event_type': event_type, 'payload': payload, 'priority': priority.upper(),
                   'publisher_id': 'tests.poison', 'message_id': str(uuid.uuid4()),
                   'timestamp': '2026-11-01 00:00:00.000000'}
        return raw('%s.%s' % (notifications, priority), json.dumps(
            {'oslo.version': '2.0', 'oslo.message': json.dumps(message)}).encode())
    senders = [
        raw(samples_topic, os.urandom(4096)),                                  # format
        raw(samples_topic, b''),                                               # format
        raw(samples_topic, b'[1, 2, 3]'),                                      # format
        # The largest the broker takes by default (message.max.bytes, about 1 MiB).
        raw(samples_topic, os.urandom(1000 * 1000)),                           # format
        raw(samples_topic, messages.dumps(messages.encode_batch(
            make_samples(2), 'another secret'))),                              # signature
        raw(samples_topic, messages.dumps(messages.encode_batch(
            nul_batch(), SECRET))),                                            # sample
        oslo('sample', 'telemetry.polling', {'samples': [1, 'x']}),            # sample
        raw('%s.info' % notifications, b'not JSON'),                           # format
        raw('%s.info' % notifications, json.dumps({'oslo.version': '2.0', 'oslo.message':
                                                   '{"no": "event type"}'}).encode()),  # format
    ]
    return senders, producer.close


KAFKA_COUNTS = {'rejected': {'format': 6, 'signature': 1, 'sample': 2},
                'rejected_samples': {}, 'dead_lettered': {}}


def committed_everything(deployment, kafka_bootstrap, topics):
    consumer = kafka.KafkaConsumer(bootstrap_servers=kafka_bootstrap,
                                   group_id=kafka_bus.consumer_group(deployment.conf),
                                   enable_auto_commit=False)
    try:
        partitions = [kafka.TopicPartition(topic, p) for topic in topics
                      for p in consumer.partitions_for_topic(topic) or ()]
        ends = consumer.end_offsets(partitions)
        committed = {tp: consumer.committed(tp) or 0 for tp in partitions}
        return committed == ends, committed, ends
    finally:
        consumer.close()


def test_over_kafka_poison_stalls_nothing_is_counted_once_and_committed_past(
        kafka_deployment, kafka_bootstrap):
    deployment = kafka_deployment
    conf_text = '[DEFAULT]\ndata_dir = %s\n' % deployment.dir
    agent = deployment.start('telewatch-agent-notification', conf_text=conf_text)
    assert wait_for(lambda: 'consuming Kafka topics' in agent.log.read_text()), \
        agent.log.read_text()
    senders, close = kafka_poison(deployment, kafka_bootstrap)
    try:
        sent = interleave(deployment, senders)
    finally:
        close()
    check_every_good_sample_arrives(deployment, agent, sent, KAFKA_COUNTS)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0

    # The group's offsets are past every record, the rejected ones too: a restarted agent
    # reads none of them again (before, it died on the same record again).
    topics = [deployment.conf.bus.samples_topic, deployment.notifications_topic + '.info',
              deployment.notifications_topic + '.sample']
    done, committed, ends = committed_everything(deployment, kafka_bootstrap, topics)
    assert done, (committed, ends)
    deployment.status.unlink()
    again = deployment.start('telewatch-agent-notification', conf_text=conf_text)
    more = make_samples(50)
    send(deployment, more)
    expected = sorted(sent[0] + [s.id for s in more])
    assert wait_for(lambda: sorted(deployment.received()) == expected), \
        again.log.read_text()[-3000:]
    assert wait_for(lambda: counts(deployment) == {
        'rejected': {}, 'rejected_samples': {}, 'dead_lettered': {}})
    assert again.poll() is None


# -- one sample no backend can store, in a batch of good ones --------------------------------

MAPPING = REPO / 'etc' / 'archive_resources.yaml'
ARCHIVE_URL = 'archive://?resources_definition_file=%s' % MAPPING
ARCHIVE = 'sources: [{name: all, meters: ["*"], sinks: [archive]}]\n' \
          'sinks: [{name: archive, publishers: ["%s"]}]\n' % ARCHIVE_URL


def archive_conf(directory, index_url):
    return ('[DEFAULT]\ndata_dir = %s\n[archive]\nindex_url = %s\nstorage_url = file://%s\n'
            % (directory, index_url, directory / 'storage'))


def stored(index_url, directory):
    store = store_mod.ArchiveStore(indexer_mod.Indexer(index_url),
                                   store_mod.storage_from_url('file://%s' % (
                                       directory / 'storage'), 32))
    try:
        return (len(store.index.search_metrics({'name': 'cpu'})),
                store.status()['summary']['measures'])
    finally:
        store.close()


def test_a_nul_in_a_signed_batch_loses_none_of_the_49_others_on_postgresql(
        tmp_path, rabbitmq_url, postgresql_url):
    samples = nul_batch(50, at=10)
    with services.scratch_database(postgresql_url, 'tw_poison') as index_url:
        deployment = Deployment(tmp_path, rabbitmq_url, pipeline=ARCHIVE)
        try:
            agent = deployment.start('telewatch-agent-notification',
                                     conf_text=archive_conf(tmp_path, index_url))
            send(deployment, samples)  # one signed message of 50 samples
            assert wait_for(lambda: counts(deployment)['rejected_samples'] == {'sample': 1}), \
                agent.log.read_text()[-3000:]
            assert wait_for(lambda: list(status(deployment)['publishers'].values())[0].get(
                'published') == 49), status(deployment)
            publisher = list(status(deployment)['publishers'].values())[0]
            assert 'dropped' not in publisher
            assert stored(index_url, tmp_path) == (49, 49)
            assert counts(deployment)['rejected'] == {}
            assert 'NUL (U+0000)' in agent.log.read_text()
        finally:
            deployment.stop_all()


def test_the_archive_publisher_splits_a_batch_postgresql_refuses_and_drops_only_the_bad(
        tmp_path, postgresql_url):
    """Past the edge (a sample made in the pipeline, say): the delivery layer isolates it."""
    samples = nul_batch(50, at=10)
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    with services.scratch_database(postgresql_url, 'tw_poison') as index_url:
        conf.set_override('index_url', index_url, group='archive')
        conf.set_override('storage_url', 'file://%s' % (tmp_path / 'storage'), group='archive')
        publisher = archive_publisher.ArchivePublisher(
            publisher_base.PublisherURL(ARCHIVE_URL), conf)
        runner = delivery.PublisherRunner(publisher, retries=0)
        publisher.start()
        try:
            assert runner.publish(samples) is True
        finally:
            publisher.stop()
        assert dict(runner.counters) == {'published': 49, 'dropped': 1}
        assert stored(index_url, tmp_path) == (49, 49)


# -- a message a publisher keeps handing back: dead-lettered, the others go on ---------------

REFUSING = ('sources: [{name: all, meters: ["*"], sinks: [out]}]\n'
            'sinks: [{name: out, publishers: ["faulty://%(dir)s/samples.jsonl'
            '?refuse=poison"]}]\n')
ATTEMPTS = 3


def refusing_deployment(tmp_path, monkeypatch, rabbitmq_url, kafka_bootstrap=None):
    """A deployment whose publisher (a real plugin, tests.functional.faulty_publisher)
    hands back, every time, a batch holding a sample of resource ``poison-*``."""
    monkeypatch.setenv('PYTHONPATH', faulty_publisher.install(tmp_path / 'plugin'))
    return Deployment(tmp_path, rabbitmq_url, pipeline=REFUSING, kafka_bootstrap=kafka_bootstrap,
                      extra='[pipeline]\npublish_retries = 0\n')


def check_dead_lettered_among_good_ones(deployment, started):
    """The poison among rounds of good samples (sent until it is dead-lettered): every good
    one arrives once, the poison is tried ATTEMPTS times, then dead-lettered and let go."""
    agent = deployment.start('telewatch-agent-notification', conf_text=(
        '[DEFAULT]\ndata_dir = %s\n[notification]\nmessage_attempts = %d\n'
        % (deployment.dir, ATTEMPTS)))
    assert wait_for(lambda: started in agent.log.read_text()), agent.log.read_text()
    poison = make_samples(1)[0]._replace(resource_id='poison-1')
    good = []
    deadline = time.monotonic() + 90
    while counts(deployment)['dead_lettered'] != {'handed back': 1}:
        assert time.monotonic() < deadline, (counts(deployment), agent.log.read_text()[-3000:])
        more = make_samples(50)
        send(deployment, more[:25])
        if not good:  # a message of its own, between good ones
            send(deployment, [poison])
        send(deployment, more[25:])
        good += [s.id for s in more]
        time.sleep(0.5)
    assert wait_for(lambda: len(deployment.received()) >= len(good)), \
        agent.log.read_text()[-3000:]
    time.sleep(2)  # nothing comes again
    assert sorted(deployment.received()) == sorted(good)
    assert counts(deployment) == {'rejected': {}, 'rejected_samples': {},
                                  'dead_lettered': {'handed back': 1}}
    log = agent.log.read_text()
    assert log.count('handed back the samples of a message') == ATTEMPTS, log[-3000:]
    [line] = (deployment.dir / 'dead-letter' / 'notification.jsonl').read_text().splitlines()
    letter = json.loads(line)
    assert letter['reason'] == 'handed back'
    assert messages.decode_batch(letter['message']['payload'], SECRET) == [poison]
    assert agent.poll() is None and 'Traceback' not in log
    print('%d good samples arrived once each; the poison tried %d times, dead-lettered: %s'
          % (len(good), ATTEMPTS, counts(deployment)))
    return agent


def test_over_rabbitmq_a_message_a_publisher_keeps_handing_back_is_dead_lettered(
        tmp_path, monkeypatch, rabbitmq_url):
    deployment = refusing_deployment(tmp_path, monkeypatch, rabbitmq_url)
    try:
        check_dead_lettered_among_good_ones(deployment, 'consuming')
        queue = '%s.sample' % deployment.conf.bus.samples_topic
        url = urllib.parse.urlsplit(rabbitmq_url)._replace(scheme='amqp').geturl()
        with kombu.Connection(url, connect_timeout=10) as connection:
            _, ready, _ = connection.channel().queue_declare(queue, passive=True)
        assert ready == 0  # acknowledged, not requeued
    finally:
        deployment.stop_all()


def test_over_kafka_a_message_a_publisher_keeps_handing_back_is_dead_lettered(
        tmp_path, monkeypatch, rabbitmq_url, kafka_bootstrap):
    deployment = refusing_deployment(tmp_path, monkeypatch, rabbitmq_url, kafka_bootstrap)
    try:
        check_dead_lettered_among_good_ones(deployment, 'consuming Kafka topics')
        topic = deployment.conf.bus.samples_topic
        assert wait_for(lambda: committed_everything(deployment, kafka_bootstrap, [topic])[0])
    finally:
        deployment.stop_all()
