"""What the notification agent does with each batch of bus messages: telewatch's signed
sample batches, Ceilometer's polling messages, and other services' notifications (through
the meter definitions). A batch is acknowledged only when every sample it carried was taken
by the pipeline's publishers; bad messages are counted, logged, and dropped, never requeued.
"""

import logging

import oslo_messaging

from telewatch import bus
from telewatch import messages
from telewatch import sample as sample_mod

LOG = logging.getLogger(__name__)


def describe(message):
    return 'publisher %s, event type %s' % (message.get('publisher_id'),
                                            message.get('event_type'))


class Endpoint:
    """Shared by the endpoints: the agent gives the secret, the rejection counters and
    ``process(samples) -> bool`` (the current pipeline, swapped safely on reload)."""

    def __init__(self, agent):
        self._agent = agent

    def _finish(self, samples):
        if not samples or self._agent.process(samples):
            return oslo_messaging.NotificationResult.HANDLED
        return oslo_messaging.NotificationResult.REQUEUE


class SamplesEndpoint(Endpoint):
    """Priority ``sample``: telewatch batches, and Ceilometer 'telemetry.polling' messages
    (each meter message checked with Ceilometer's own signature)."""

    def sample(self, batch):
        samples = []
        for message in batch:
            try:
                samples.extend(self._decode(message))
            except (messages.InvalidMessage, sample_mod.InvalidSignature,
                    sample_mod.InvalidSample) as exc:
                self._agent.reject(_reason(exc), message, exc)
        return self._finish(samples)

    def _decode(self, message):
        secret = self._agent.secret
        if message.get('event_type') == bus.CEILOMETER_EVENT_TYPE:
            payload = message.get('payload')
            meters = payload.get('samples') if isinstance(payload, dict) else None
            if not isinstance(meters, list):
                raise messages.InvalidMessage('payload', 'no list of samples')
            for meter in meters:
                sample_mod.verify(meter, secret)
            return [sample_mod.Sample.from_dict(meter) for meter in meters]
        if message.get('event_type') != bus.SAMPLES_EVENT_TYPE:
            raise messages.InvalidMessage('format', 'unknown event type of a sample message')
        return messages.decode_batch(message.get('payload'), secret)


class NotificationsEndpoint(Endpoint):
    """Priorities ``info``, ``warn`` and ``error``: other services' notifications, made
    samples by the meter definitions (a notification no definition matches is skipped)."""

    def info(self, batch):
        samples = []
        definitions = self._agent.meter_definitions
        for message in batch:
            metadata = message.get('metadata') or {}
            notification = {'event_type': message.get('event_type'),
                            'publisher_id': message.get('publisher_id'),
                            'payload': message.get('payload'),
                            'timestamp': metadata.get('timestamp'),
                            'message_id': metadata.get('message_id')}
            try:
                samples.extend(definitions.to_samples(notification))
            except Exception as exc:  # a definition must not stop the agent
                self._agent.reject('definition', message, exc)
        return self._finish(samples)

    warn = error = info


def _reason(exc):
    if isinstance(exc, sample_mod.InvalidSignature):
        return 'signature'
    if isinstance(exc, sample_mod.InvalidSample):
        return 'sample'
    return exc.reason
