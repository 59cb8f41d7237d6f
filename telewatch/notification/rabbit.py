"""The notification agent's listener on RabbitMQ (oslo.messaging), and the count of what
oslo.messaging drops before telewatch sees it.

oslo.messaging's own dispatcher requeues the whole batch of a priority when its endpoint
asks for it or raises, and acknowledges a message of an unknown priority with a log line
only. telewatch's dispatcher hands each priority's messages to the intake
(telewatch.notification.intake) and requeues only the messages whose samples were not
taken: a rejected message is acknowledged with the batch, so it is never read (or counted)
again; what became of each message is counted as the batch is acknowledged.

A message its rabbit driver cannot read at all (not JSON, JSON that is no message, an empty
body) never reaches a dispatcher: the driver logs "Failed to process message ... skipping
it." and rejects it without requeue. ``UnreadableMessages`` is a logging filter on the
driver's logger that counts each such record as a rejection (``unreadable``) and logs it
once, with what the broker says of the message, in place of the driver's traceback. It only
observes: delivery stays the driver's. The alternative, wrapping the driver's private
``Consumer._callback``, would replace the code that acknowledges messages.
"""

import collections
import itertools
import logging

from oslo_messaging import dispatcher as oslo_dispatcher
from oslo_messaging.notify import listener as oslo_listener

from telewatch.notification import intake as intake_mod

LOG = logging.getLogger(__name__)
# oslo.log names oslo_messaging's loggers oslo.messaging.*.
DRIVER_LOGGER = 'oslo.messaging._drivers.impl_rabbit'
# What oslo.messaging's rabbit driver logs (with the exception) when it drops a message it
# cannot read: Consumer._callback in oslo_messaging/_drivers/impl_rabbit.py.
DRIVER_DROP_TEXT = 'Failed to process message ... skipping it.'


# A key per delivery, for intake.settle, unique in the process: a listener made anew (the
# partitions changed) must not hand out keys that the intake has settled already, or it would
# take their messages for ones it has seen.
_DELIVERIES = itertools.count()


class Dispatcher(oslo_dispatcher.DispatcherBase):
    """Hands each priority's messages of a batch to ``intake.handle``; returns the incoming
    messages to requeue (oslo.messaging acknowledges the others)."""

    def __init__(self, intake):
        self._intake = intake

    @property
    def supported_priorities(self):
        return self._intake.priorities

    def dispatch(self, incoming):
        keys = [next(_DELIVERIES) for _ in incoming]
        groups = collections.defaultdict(list)
        for raw, key in zip(incoming, keys):
            try:
                priority, message = _message(raw)
                groups[priority].append((raw, message, key))
            except Exception as exc:  # a message no dict can describe
                self._intake.reject('malformed', {}, key, exc)
        requeue = set()
        for priority, triples in groups.items():
            again = self._intake.handle(priority, [message for _, message, _ in triples],
                                        [key for _, _, key in triples])
            requeue.update(triples[index][0] for index in again)
        # oslo.messaging acknowledges the others as this returns: what became of them is
        # counted now, not while the batch was in hand (an agent killed meanwhile has them
        # delivered again to the next one, which counts them).
        self._intake.settle([key for raw, key in zip(incoming, keys) if raw not in requeue])
        return requeue


def _message(raw):
    """(priority, message shaped as oslo.messaging's dispatcher hands it to endpoints)."""
    body = raw.message
    priority = body.get('priority')
    # Any other value is no priority: the intake rejects the message (format).
    return (priority.lower() if isinstance(priority, str) else None), {
        'ctxt': raw.ctxt, 'publisher_id': body.get('publisher_id'),
        'event_type': body.get('event_type'), 'payload': body.get('payload'),
        'metadata': {'message_id': body.get('message_id'),
                     'timestamp': body.get('timestamp')}}


def listener(transport, targets, intake, batch_size, batch_timeout):
    """oslo.messaging's batch notification server with telewatch's dispatcher: one batch
    at a time (its executor's pool is set to one thread by the agent)."""
    return oslo_listener.BatchNotificationServer(
        transport, targets, Dispatcher(intake), executor='threading', allow_requeue=True,
        batch_size=batch_size, batch_timeout=batch_timeout)


class UnreadableMessages(logging.Filter):
    """Counts (``intake.reject('unreadable', ...)``) every message the rabbit driver drops
    because it cannot read it; ``install`` and ``remove`` it around the listener's life."""

    def __init__(self, intake):
        super().__init__()
        self._intake = intake

    def install(self):
        logging.getLogger(DRIVER_LOGGER).addFilter(self)

    def remove(self):
        logging.getLogger(DRIVER_LOGGER).removeFilter(self)

    def filter(self, record):
        if record.msg != DRIVER_DROP_TEXT:
            return True
        error = record.exc_info[1] if record.exc_info else None
        self._intake.reject('unreadable', _describe_raw(record.exc_info), None,
                            '%s: %s' % (type(error).__name__, error))
        return False  # logged once, by the intake, in place of the driver's traceback


def _describe_raw(exc_info):
    """What the broker said of the dropped message: the kombu message is a local of the
    driver's frame that caught the error (when the driver still names it ``message``)."""
    traceback = exc_info[2] if exc_info else None
    raw = traceback.tb_frame.f_locals.get('message') if traceback is not None else None
    if raw is None:
        return {}
    properties = getattr(raw, 'properties', None) or {}
    delivery = getattr(raw, 'delivery_info', None) or {}
    body = getattr(raw, 'body', b'')
    return {'publisher_id': properties.get('app_id') or properties.get('user_id'),
            'event_type': None,
            'metadata': {'message_id': properties.get('message_id')},
            'routing_key': delivery.get('routing_key'), 'exchange': delivery.get('exchange'),
            'content_type': getattr(raw, 'content_type', None),
            'size': len(body) if body is not None else 0,
            'body': intake_mod.short_repr(body[:300] if body else body)}
