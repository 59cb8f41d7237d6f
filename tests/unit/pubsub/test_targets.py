import logging
import socket
import threading
import time

import pytest

from telewatch import delivery as delivery_mod
from telewatch.pubsub import subscription as subscription_mod
from telewatch.pubsub import targets


class FakeSender:
    """Takes values while ``up``; else fails them (retryably, or ``permanent`` ones)."""

    def __init__(self, up=True):
        self.up = up
        self.sent = []
        self.attempts = 0
        self.permanent = set()
        self.closed = False
        self.lock = threading.Lock()

    def send(self, values, keys):
        with self.lock:
            self.attempts += 1
            if not self.up:
                raise delivery_mod.SendError('down')
            bad = [i for i, value in enumerate(values) if value in self.permanent]
            self.sent.extend(value for value in values if value not in self.permanent)
            if bad:
                raise delivery_mod.SendError('too big', failed=bad, permanent=True)

    def close(self):
        self.closed = True


def _eventually(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def make_delivery():
    made = []

    def make(sender, target='udp://127.0.0.1:9?policy=queue', retries=2):
        subscription = subscription_mod.Subscription('s1', 'n', 'p', ['*'], target)
        delivery = targets.Delivery(subscription, sender, retries=retries, backoff=0.01)
        delivery.start()
        made.append(delivery)
        return delivery
    yield make
    for delivery in made:
        delivery.stop()


def _offer(delivery, values):
    ticket = targets.Ticket({})
    delivery.offer(ticket, list(values), [b'k'] * len(values))
    ticket.settle()  # the consumer's own hold
    return ticket


def test_a_ticket_is_done_once_its_chunks_are_delivered(make_delivery):
    sender = FakeSender()
    delivery = make_delivery(sender)
    tickets = [_offer(delivery, [b'%d' % i, b'x']) for i in range(5)]
    assert _eventually(lambda: all(ticket.done for ticket in tickets))
    assert sender.sent == [b'0', b'x', b'1', b'x', b'2', b'x', b'3', b'x', b'4', b'x']
    assert delivery.take_counters() == {'delivered': 10}
    assert delivery.take_counters() == {}


def test_queue_policy_holds_a_failing_targets_values_and_sends_them_in_order(make_delivery):
    sender = FakeSender(up=False)
    delivery = make_delivery(sender, 'udp://127.0.0.1:9?max_queue_length=5')
    first = _offer(delivery, [b'a', b'b'])
    # once the target failed, the held batches are settled: they may be committed
    assert _eventually(lambda: first.done)
    later = _offer(delivery, [b'c', b'd', b'e', b'f'])
    assert later.done
    assert delivery.queue_length == 5
    assert _eventually(lambda: sender.attempts >= 3)
    sender.up = True
    assert _eventually(lambda: delivery.queue_length == 0)
    assert sender.sent == [b'a', b'b', b'c', b'd', b'e']
    counters = delivery.take_counters()
    assert counters['delivered'] == 5
    assert counters['dropped'] == 1  # f did not fit in the queue
    assert counters['failed'] >= 2 * 3


def test_retry_policy_gives_up_after_its_retries(make_delivery):
    sender = FakeSender(up=False)
    delivery = make_delivery(sender, 'udp://127.0.0.1:9?policy=retry', retries=2)
    ticket = _offer(delivery, [b'a', b'b'])
    assert _eventually(lambda: delivery.queue_length == 0)
    assert ticket.done
    assert sender.attempts == 3
    assert delivery.take_counters() == {'failed': 6, 'dropped': 2}


def test_drop_policy_does_not_try_a_failed_target_again_before_its_backoff(make_delivery):
    sender = FakeSender(up=False)
    subscription = subscription_mod.Subscription('s1', 'n', 'p', ['*'],
                                                 'udp://127.0.0.1:9?policy=drop')
    delivery = targets.Delivery(subscription, sender, backoff=60)
    delivery.start()
    try:
        tickets = [_offer(delivery, [b'a']) for _ in range(20)]
        assert _eventually(lambda: all(ticket.done for ticket in tickets))
        assert sender.attempts == 1
        assert delivery.take_counters() == {'failed': 1, 'dropped': 20}
    finally:
        delivery.stop()


def test_values_that_can_never_be_sent_are_dropped_and_the_rest_delivered(make_delivery):
    sender = FakeSender()
    sender.permanent = {b'huge'}
    delivery = make_delivery(sender)
    ticket = _offer(delivery, [b'a', b'huge', b'b'])
    assert _eventually(lambda: ticket.done)
    assert sender.sent == [b'a', b'b']
    assert delivery.take_counters() == {'delivered': 2, 'dropped': 1, 'failed': 1}


def test_only_the_values_a_target_did_not_take_are_sent_again(make_delivery):
    class HalfDown(FakeSender):
        def send(self, values, keys):
            self.attempts += 1
            if self.attempts == 1:
                self.sent.extend(values[:2])
                raise delivery_mod.SendError('partly', failed=list(range(2, len(values))))
            self.sent.extend(values)

    sender = HalfDown()
    delivery = make_delivery(sender)
    _offer(delivery, [b'a', b'b', b'c', b'd'])
    assert _eventually(lambda: delivery.queue_length == 0 and sender.attempts == 2)
    assert sender.sent == [b'a', b'b', b'c', b'd']
    assert delivery.take_counters() == {'delivered': 4, 'failed': 2}


def test_stopping_settles_what_waits_and_closes_the_sender():
    sender = FakeSender(up=False)
    subscription = subscription_mod.Subscription('s1', 'n', 'p', ['*'],
                                                 'udp://127.0.0.1:9?policy=retry')
    closed = []
    delivery = targets.Delivery(subscription, sender, retries=100, backoff=60,
                                on_close=lambda: closed.append(True))
    ticket = _offer(delivery, [b'a'])
    assert not ticket.done
    delivery.stop()
    assert ticket.done and sender.closed and closed == [True]
    late = _offer(delivery, [b'b'])
    assert late.done and delivery.queue_length == 0


def test_the_udp_sender_sends_one_datagram_per_value_and_refuses_oversized_ones():
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(('127.0.0.1', 0))
    receiver.settimeout(5)
    port = receiver.getsockname()[1]
    sender = targets.UdpSender(subscription_mod.Target('udp://127.0.0.1:%d' % port))
    try:
        with pytest.raises(delivery_mod.SendError) as caught:
            sender.send([b'{"a":1}', b'x' * 70000, b'{"b":2}'], [b'k'] * 3)
        assert caught.value.permanent and caught.value.failed == [1]
        assert [receiver.recv(65535), receiver.recv(65535)] == [b'{"a":1}', b'{"b":2}']
    finally:
        sender.close()
        receiver.close()


def test_the_delivery_thread_outlives_a_bug_and_sends_the_chunk_after_a_backoff(
        make_delivery, monkeypatch, caplog):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    sender = FakeSender()
    delivery = make_delivery(sender)
    attempt = delivery._attempt
    calls = []

    def buggy_once(chunk):
        calls.append(chunk)
        if len(calls) == 1:
            raise RuntimeError('a bug')
        return attempt(chunk)
    monkeypatch.setattr(delivery, '_attempt', buggy_once)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        ticket = _offer(delivery, [b'a', b'b'])
        assert _eventually(lambda: ticket.done)
    assert len(calls) == 2
    assert sender.sent == [b'a', b'b']
    assert delivery.loop_errors == {'pubsub-delivery': 1}
    assert 'delivery of subscription s1: unexpected error (1 so far)' in caplog.text
    assert delivery.thread.is_alive() and not delivery.thread.ended
