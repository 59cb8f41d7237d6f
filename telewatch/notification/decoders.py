"""How the notification agent reads each message, by priority: telewatch's signed sample
batches and Ceilometer's polling messages (priority ``sample``), other services'
notifications through the meter definitions (``info``, ``warn``, ``error``).

A decoder takes one message (a dict shaped as oslo.messaging hands it over: ``publisher_id,
event_type, payload, metadata``) and returns ``(samples, refused)``: the samples it carries
(and, for a notification some publisher takes as an event, that Event after them) and, for
each sample it left out, ``(reason, index, exception)``. A message that is bad as a
whole raises InvalidMessage or InvalidSignature. telewatch.notification.intake counts, logs
and acknowledges accordingly.
"""

from telewatch import messages
from telewatch import sample as sample_mod

SAMPLE_PRIORITIES = ('sample',)
NOTIFICATION_PRIORITIES = ('info', 'warn', 'error')


def reason_of(exc):
    """The counter name of a rejection."""
    if isinstance(exc, sample_mod.InvalidSignature):
        return 'signature'
    if isinstance(exc, sample_mod.InvalidSample):
        return 'sample'
    if isinstance(exc, messages.InvalidMessage):
        return exc.reason
    return 'malformed'


def decode_samples(message, secret):
    """A ``sample`` message: a telewatch envelope (one bad sample is left out, the others go
    on: the envelope's signature covers them all) or a Ceilometer ``telemetry.polling``
    message (each meter checked with Ceilometer's own signature, as Ceilometer does)."""
    event_type = message.get('event_type')
    if event_type == messages.CEILOMETER_EVENT_TYPE:
        return _ceilometer_samples(message.get('payload'), secret)
    if event_type != messages.SAMPLES_EVENT_TYPE:
        raise messages.InvalidMessage('format', 'unknown event type of a sample message')
    refused = []
    samples = messages.decode_batch(message.get('payload'), secret, refused)
    return samples, [('sample', index, exc) for index, exc in refused]


def _ceilometer_samples(payload, secret):
    meters = payload.get('samples') if isinstance(payload, dict) else None
    if not isinstance(meters, list):
        raise messages.InvalidMessage('payload', 'no list of samples')
    samples, refused = [], []
    for index, meter in enumerate(meters):
        try:
            if not isinstance(meter, dict):
                raise sample_mod.InvalidSample('sample', 'expected a JSON object, got %s'
                                               % type(meter).__name__)
            sample_mod.verify(meter, secret)
            samples.append(sample_mod.Sample.from_dict(meter))
        except Exception as exc:  # whatever the meter holds, it is that meter's fault
            refused.append((reason_of(exc), index, exc))
    return samples, refused


class Event(dict):
    """A notification as it goes to the publishers that take events (archive:// and
    gnocchi://, for resource lifecycles): ``event_type, publisher_id, payload, timestamp,
    message_id``, what meter definitions read too."""

    __slots__ = ()


class NotificationDecoder:
    """Other services' notifications, made samples by the current meter definitions (a
    notification no definition matches carries no sample: counted by the definitions),
    and an Event when ``wants_event(event_type)`` (default: never)."""

    def __init__(self, definitions, wants_event=None):
        self._definitions = definitions  # a callable: the agent's current definitions
        self._wants_event = wants_event

    def __call__(self, message):
        metadata = message.get('metadata') or {}
        notification = {'event_type': message.get('event_type'),
                        'publisher_id': message.get('publisher_id'),
                        'payload': message.get('payload'),
                        'timestamp': metadata.get('timestamp'),
                        'message_id': metadata.get('message_id')}
        try:
            samples = self._definitions().to_samples(notification)
        except Exception as exc:  # a definition's bug must not stop the agent
            raise messages.InvalidMessage('definition', '%s: %s' % (
                type(exc).__name__, exc)) from exc
        event_type = notification['event_type']
        if (self._wants_event is not None and isinstance(event_type, str)
                and self._wants_event(event_type)):
            samples.append(Event(notification))
        return samples, []
