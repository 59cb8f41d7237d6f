"""The pubsub worker around a fake consumer: dispatch, settling, commits, refresh."""

import collections
import logging
import socket
import threading
import time

import pytest
from kafka.structs import TopicPartition

from telewatch import delivery as delivery_mod
from telewatch import firehose
from telewatch import loops
from telewatch import sample as sample_mod
from telewatch.archive.index import migration
from telewatch.pubsub import registry as registry_mod
from telewatch.pubsub import service as pubsub_service

Record = collections.namedtuple('Record', 'topic partition offset key value headers')
TP = TopicPartition('firehose', 0)


class FakeConsumer:
    def __init__(self):
        self.polls = collections.deque()
        self.commits = []
        self.seeks = []

    def poll(self, timeout_ms, max_records):
        return self.polls.popleft() if self.polls else {}

    def assignment(self):
        return {TP}

    def commit(self, offsets):
        self.commits.append({tp: offset.offset for tp, offset in offsets.items()})

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    def close(self, autocommit=False):
        pass


def _record(offset, name='cpu', project_id='p', resource_id='vm-1', secret='',
            timestamp='2026-11-01T00:00:00+00:00', value=None):
    if value is None:
        value = firehose.encode(sample_mod.Sample.create(
            name, 'gauge', 'x', float(offset), project_id=project_id, resource_id=resource_id,
            timestamp=timestamp))
    return Record('firehose', 0, offset, resource_id.encode(), value,
                  firehose.headers(value, secret))


@pytest.fixture
def receiver():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('127.0.0.1', 0))
    sock.settimeout(2)
    yield sock
    sock.close()


@pytest.fixture
def consumer():
    return FakeConsumer()


@pytest.fixture
def worker(conf, tmp_path, consumer):
    registry = registry_mod.SubscriptionRegistry('sqlite:///%s' % (tmp_path / 'i.sqlite'))
    migration.upgrade(registry.engine)
    conf.set_override('telemetry_secret', 'k', group='publisher')
    worker = pubsub_service.PubSubWorker(conf, registry=registry, consumer=consumer)
    yield worker
    for delivery in worker.router.routing.deliveries.values():
        delivery.stop()


def _subscribe(worker, receiver, **fields):
    document = dict({'name': 'n', 'meters': ['cpu'], 'projects': ['p'],
                     'target': 'udp://127.0.0.1:%d' % receiver.getsockname()[1]}, **fields)
    created = worker.router.registry.create(document, 'p', 'u')
    assert worker.router.refresh()
    return created['id']


def _until(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    return condition()


def test_records_go_to_the_subscriptions_that_want_them_and_then_commit(
        worker, receiver, consumer):
    _subscribe(worker, receiver)
    consumer.polls.append({TP: [
        _record(0, secret='k'), _record(1, 'memory.usage', secret='k'),
        _record(2, project_id='q', secret='k'), _record(3, secret='k')]})
    assert worker.reader.run_once() == 4
    assert [firehose.decode(receiver.recv(65535)).volume for _ in range(2)] == [0.0, 3.0]
    assert _until(lambda: worker.reader.tickets[0].done)
    worker.reader.run_once()
    assert consumer.commits == [{TP: 4}]
    assert worker.dispatcher.counters == {'consumed': 4, 'discarded': 2, 'deliveries': 2}


def test_bad_records_are_counted_by_reason(worker, receiver, consumer):
    _subscribe(worker, receiver)
    consumer.polls.append({TP: [
        _record(0), _record(1, secret='other'), _record(2, value=b'{', secret='k'),
        _record(3, value=b'{"schema_version": 2}', secret='k'), _record(4, secret='k')]})
    worker.reader.run_once()
    assert worker.dispatcher.rejected == {'signature': 2, 'format': 1, 'schema_version': 1}
    assert firehose.decode(receiver.recv(65535)).volume == 4.0


def test_a_batch_is_not_committed_before_it_is_delivered(
        worker, receiver, monkeypatch, consumer):
    _subscribe(worker, receiver, target='udp://127.0.0.1:%d?policy=retry'
               % receiver.getsockname()[1])
    delivery = next(iter(worker.router.routing.deliveries.values()))
    sent = []
    monkeypatch.setattr(delivery, '_sender', type('Slow', (), {
        'send': lambda self, values, keys: (time.sleep(0.3), sent.extend(values)),
        'close': lambda self: None})())
    consumer.polls.append({TP: [_record(0, secret='k')]})
    worker.reader.run_once()
    worker.reader.commit()
    assert consumer.commits == []
    assert _until(lambda: sent)
    assert _until(lambda: worker.reader.tickets[0].done)
    worker.reader.commit()
    assert consumer.commits == [{TP: 1}]


def test_the_sampling_interval_skips_and_counts(worker, receiver, consumer):
    subscription_id = _subscribe(worker, receiver, interval=60)
    consumer.polls.append({TP: [
        _record(i, secret='k', timestamp='2026-11-01T00:%02d:00+00:00' % (i // 2))
        for i in range(6)]})  # minutes 0, 0, 1, 1, 2, 2
    worker.reader.run_once()
    assert [firehose.decode(receiver.recv(65535)).volume for _ in range(3)] == [0.0, 2.0, 4.0]
    delivery = worker.router.routing.deliveries[subscription_id]
    assert _until(lambda: delivery.queue_length == 0)
    assert delivery.take_counters() == {'skipped': 3, 'delivered': 3}


def test_waiting_batches_are_bounded(worker, receiver, conf, monkeypatch, consumer):
    conf.set_override('max_pending_batches', 2, group='pubsub')
    _subscribe(worker, receiver, target='udp://127.0.0.1:%d?policy=retry'
               % receiver.getsockname()[1])
    delivery = next(iter(worker.router.routing.deliveries.values()))
    release = threading.Event()
    monkeypatch.setattr(delivery, '_sender', type('Stuck', (), {
        'send': lambda self, values, keys: release.wait(10),
        'close': lambda self: None})())
    for offset in range(3):
        consumer.polls.append({TP: [_record(offset, secret='k')]})
    assert [worker.reader.run_once() for _ in range(3)] == [1, 1, 0]
    assert len(consumer.polls) == 1
    release.set()
    assert _until(lambda: worker.reader.tickets[0].done and worker.reader.tickets[1].done)
    assert worker.reader.run_once() == 1
    assert consumer.commits == [{TP: 2}]


def test_a_changed_subscription_gets_a_new_delivery_and_the_old_one_reports(worker, receiver):
    subscription_id = _subscribe(worker, receiver)
    old = worker.router.routing.deliveries[subscription_id]
    old.count('delivered', 7)
    assert not worker.router.refresh()  # nothing changed
    worker.router.registry.update(subscription_id, {'meters': ['memory.usage']})
    assert worker.router.refresh()
    assert worker.router.routing.deliveries[subscription_id] is not old
    assert worker.router.registry.counters([subscription_id])[subscription_id]['delivered'] == 7
    worker.router.registry.delete(subscription_id)
    assert worker.router.refresh()
    assert worker.status()['subscriptions'] == 0


def _failing_once(function, error=RuntimeError('a bug')):
    """``function`` that raises ``error`` on its first call; ``calls`` counts them."""
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        if wrapper.calls == 1:
            raise error
        return function(*args, **kwargs)
    wrapper.calls = 0
    return wrapper


def test_the_consumer_loop_outlives_a_failed_dispatch_and_reads_the_batch_again(
        worker, receiver, monkeypatch, caplog, consumer):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    _subscribe(worker, receiver)
    batch = {TP: [_record(0, secret='k'), _record(1, secret='k')]}
    # The fake's seek puts the batch back, as a real consumer reads it again.
    monkeypatch.setattr(consumer, 'seek', lambda tp, offset: (
        consumer.seeks.append((tp, offset)), consumer.polls.appendleft(batch)))
    consumer.polls.append(batch)
    monkeypatch.setattr(worker.dispatcher, 'dispatch', _failing_once(worker.dispatcher.dispatch))
    running = threading.Thread(target=worker.start)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        running.start()
        try:
            volumes = [firehose.decode(receiver.recv(65535)).volume for _ in range(2)]
        finally:
            worker.stop()
            running.join(timeout=30)
    assert volumes == [0.0, 1.0]
    assert consumer.seeks == [(TP, 0)]
    assert worker.dispatcher.dispatch.calls == 2
    assert worker.status()['loop_errors'] == {'pubsub-consumer': 1}
    assert 'pubsub-consumer: unexpected error (1 so far)' in caplog.text
    assert 'RuntimeError: a bug' in caplog.text
    assert consumer.commits == [{TP: 2}]


def test_the_control_loop_outlives_a_failed_refresh(worker, conf, monkeypatch, caplog):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    conf.set_override('refresh_interval', 0.1, group='pubsub')
    monkeypatch.setattr(worker.router, 'refresh', _failing_once(worker.router.refresh))
    running = threading.Thread(target=worker._control_loop)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        running.start()
        try:
            assert _until(lambda: worker.router.refresh.calls >= 2)
        finally:
            worker.stop()
            running.join(timeout=30)
    assert worker.loop_errors == {'pubsub-control': 1}
    assert 'pubsub-control: unexpected error (1 so far)' in caplog.text


def test_a_thread_of_the_worker_that_ended_ends_its_consumer_loop(worker):
    worker._control = loops.start_thread('pubsub-control', lambda: None, threading.Event())
    worker._control.join()
    with pytest.raises(loops.ThreadEnded, match='pubsub-control ended unexpectedly'):
        worker._consume_step()
