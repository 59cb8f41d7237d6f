"""On RabbitMQ: only the messages whose samples were not taken are requeued, and what
oslo.messaging's rabbit driver drops unread is counted once."""

import logging
import types

from oslo_messaging._drivers import impl_rabbit

from telewatch.notification import rabbit


class FakeIntake:
    priorities = ('sample', 'info')

    def __init__(self, requeue=lambda priority, batch: set()):
        self.requeue = requeue
        self.handled, self.rejected, self.settled = [], [], []
        self.keys = {}  # payload -> key

    def handle(self, priority, batch, keys=None):
        self.handled.append((priority, [m['payload'] for m in batch]))
        self.keys.update((m['payload'], key) for m, key in zip(batch, keys))
        return self.requeue(priority, batch)

    def reject(self, reason, message, key, error):
        self.rejected.append((reason, message, str(error)))
        self.keys['rejected'] = key

    def settle(self, keys):
        self.settled.extend(keys)


class Incoming:
    """What oslo.messaging's listener hands a dispatcher (hashable, as its own are)."""

    def __init__(self, message):
        self.message, self.ctxt = message, {}


def incoming(priority, payload):
    return Incoming({'priority': priority, 'payload': payload, 'publisher_id': 'p',
                     'event_type': 'e', 'message_id': 'id-%s' % payload})


def test_only_the_messages_handed_back_are_requeued():
    intake = FakeIntake(lambda priority, batch: {1} if priority == 'sample' else set())
    messages = [incoming('sample', 1), incoming('INFO', 2), incoming('sample', 3),
                incoming('sample', 4)]
    requeue = rabbit.Dispatcher(intake).dispatch(messages)
    assert requeue == {messages[2]}
    assert intake.handled == [('sample', [1, 3, 4]), ('info', [2])]
    # What is acknowledged is counted as it is, each delivery under a key of its own.
    assert sorted(intake.settled) == sorted(intake.keys[p] for p in (1, 2, 4))
    assert len(set(intake.keys.values())) == 4


def test_a_listener_made_anew_never_reuses_a_delivery_key():
    # The agent makes a new listener, and so a new dispatcher, whenever its partitions
    # change; the intake skips deliveries under keys it settled as taken, so a key handed
    # out again would lose that message.
    intake = FakeIntake()
    rabbit.Dispatcher(intake).dispatch([incoming('sample', 1), incoming('sample', 2)])
    rabbit.Dispatcher(intake).dispatch([incoming('sample', 3), incoming('sample', 4)])
    assert len({intake.keys[p] for p in (1, 2, 3, 4)}) == 4


def test_a_message_of_an_unknown_priority_goes_to_the_intake_to_be_rejected():
    intake = FakeIntake()
    messages = [incoming(None, 1), incoming('critical', 2), incoming(7, 3),
                incoming(['unhashable'], 4)]
    assert rabbit.Dispatcher(intake).dispatch(messages) == set()
    assert intake.handled == [(None, [1, 3, 4]), ('critical', [2])]


def test_a_message_no_dict_can_describe_is_rejected_not_requeued():
    intake = FakeIntake()
    broken = Incoming(None)
    assert rabbit.Dispatcher(intake).dispatch([broken, incoming('sample', 1)]) == set()
    assert [reason for reason, _, _ in intake.rejected] == ['malformed']
    assert intake.handled == [('sample', [1])]
    assert sorted(intake.settled) == sorted([intake.keys['rejected'], intake.keys[1]])


class UnreadableKombuMessage:
    """What kombu hands the driver for a body that is no JSON message."""

    def __init__(self, body):
        self.body = body
        self.properties = {'app_id': 'a-sender'}
        self.delivery_info = {'routing_key': 'telewatch-samples.sample', 'exchange': 'x'}
        self.content_type = 'application/octet-stream'
        self.rejected = 0

    @property
    def payload(self):
        return self.body  # bytes: the driver cannot make a dict of it

    def reject(self):
        self.rejected += 1


def test_what_the_rabbit_driver_drops_unread_is_counted_once(caplog):
    """Drives the installed oslo.messaging's own Consumer._callback: if a new version logs
    or drops differently, this fails."""
    intake = FakeIntake()
    consumer = impl_rabbit.Consumer('x', 'q', 'q', 'topic', True, False, False,
                                    callback=lambda message: None)
    consumer.queue = types.SimpleNamespace(channel=object())
    raw = UnreadableKombuMessage(b'\x8b\x00random bytes')
    unreadable = rabbit.UnreadableMessages(intake)
    unreadable.install()
    try:
        with caplog.at_level(logging.DEBUG, logger=rabbit.DRIVER_LOGGER):
            consumer._callback(raw)
            consumer._callback(UnreadableKombuMessage(b'not a dict'))
    finally:
        unreadable.remove()
    assert raw.rejected == 1
    assert [reason for reason, _, _ in intake.rejected] == ['unreadable', 'unreadable']
    reason, described, error = intake.rejected[0]
    assert described['publisher_id'] == 'a-sender'
    assert described['routing_key'] == 'telewatch-samples.sample'
    assert described['size'] == 14 and 'random bytes' in described['body']
    assert error.startswith('ValueError') or error.startswith('TypeError')
    assert impl_rabbit.LOG.logger.name == rabbit.DRIVER_LOGGER
    assert rabbit.DRIVER_DROP_TEXT not in caplog.text  # the intake logs it, once
    consumer._callback(UnreadableKombuMessage(b'x'))  # removed: no longer counted
    assert len(intake.rejected) == 2
