"""Where the polling agent's samples go: signed batches handed to a sender.

``Sender.send(samples)`` takes one batch. The stream sender writes each batch as one
envelope (telewatch.messages) per line to a file or to standard output; the bus sender sends
it over oslo.messaging to the notification agents.
"""

import abc
import socket
import sys
import threading

import oslo_messaging

from telewatch import bus
from telewatch import kafka_bus
from telewatch import messages


class Sender(abc.ABC):
    """Delivers batches of samples, signed with ``secret``; raises on failure."""

    def __init__(self, secret):
        self._secret = secret

    @abc.abstractmethod
    def send(self, samples):
        """Deliver one batch."""

    def close(self):
        """Release what it holds; safe twice."""


class StreamSender(Sender):
    """One JSON envelope per line, appended to ``path`` ('-' is standard output)."""

    def __init__(self, secret, path):
        super().__init__(secret)
        self._path = path
        self._stream = None
        self._lock = threading.Lock()

    def send(self, samples):
        line = messages.dumps(messages.encode_batch(samples, self._secret)).decode(
            'utf-8') + '\n'
        with self._lock:
            if self._stream is None:
                self._stream = sys.stdout if self._path == '-' else open(
                    self._path, 'a', encoding='utf-8')
            self._stream.write(line)
            self._stream.flush()

    def close(self):
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None and stream is not sys.stdout:
            stream.close()


class BusSender(Sender):
    """Each batch as one oslo.messaging notification (priority ``sample``, event type
    ``telewatch.samples``) per topic it touches. While the broker is unreachable the send
    waits and retries, so the polling cycle holds its samples instead of losing them."""

    def __init__(self, secret, conf, transport=None):
        super().__init__(secret)
        self._conf = conf
        self._transport = transport or bus.get_transport(conf)
        publisher_id = 'telewatch.polling.%s' % socket.gethostname()
        self._notifiers = {
            topic: oslo_messaging.Notifier(self._transport, publisher_id,
                                           driver='messagingv2', topics=[topic])
            for topic in bus.topics(conf)}

    def send(self, samples):
        for topic, group in bus.by_topic(self._conf, samples).items():
            self._notifiers[topic].sample({}, bus.SAMPLES_EVENT_TYPE,
                                          messages.encode_batch(group, self._secret))

    def close(self):
        self._transport.cleanup()


def make_sender(conf):
    """The stream sender when ``[polling] output`` names a file (or -), else the bus:
    telewatch's Kafka bus for kafka:// URLs, oslo.messaging's otherwise."""
    secret = conf.publisher.telemetry_secret
    if conf.polling.output:
        return StreamSender(secret, conf.polling.output)
    if kafka_bus.is_kafka(conf):
        return kafka_bus.KafkaSender(secret, conf)
    return BusSender(secret, conf)


class Batcher:
    """Cuts samples into batches of ``batch_size`` (0: one sample per batch)."""

    def __init__(self, sender, batch_size):
        self._sender = sender
        self._size = max(batch_size, 1)
        self._pending = []
        self.sent = 0

    def add(self, samples):
        for sample in samples:
            self._pending.append(sample)
            if len(self._pending) >= self._size:
                self.flush()

    def flush(self):
        if self._pending:
            batch, self._pending = self._pending, []
            self._sender.send(batch)
            self.sent += len(batch)
