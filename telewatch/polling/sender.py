"""Where the polling agent's samples go: signed batches handed to a sender (telewatch.bus's
``Sender``), cut and kept in flight by a Batcher.

The stream sender writes each batch as one envelope (telewatch.messages) per line to a file
or to standard output; the bus's sender (``bus.open(conf).sender``) sends it to the
notification agents.
"""

import collections
import sys
import threading

from telewatch import bus
from telewatch import messages


class StreamSender(bus.Sender):
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


def make_sender(conf):
    """The stream sender when ``[polling] output`` names a file (or -), else the bus's
    (telewatch.bus.open)."""
    secret = conf.publisher.telemetry_secret
    if conf.polling.output:
        return StreamSender(secret, conf.polling.output)
    return bus.open(conf).sender(secret, in_flight=conf.polling.batches_in_flight)


class Batcher:
    """Cuts samples into batches of ``batch_size`` (0: one sample per batch) and keeps up
    to ``in_flight`` of them on their way at once. ``flush()`` sends the rest and returns
    once every batch is delivered; it raises the first failure. ``sent`` counts the
    samples delivered."""

    def __init__(self, sender, batch_size, in_flight=1):
        self._sender = sender
        self._size = max(batch_size, 1)
        self._window = max(in_flight, 1)
        self._pending = []
        self._in_flight = collections.deque()
        self.sent = 0

    def add(self, samples):
        for sample in samples:
            self._pending.append(sample)
            if len(self._pending) >= self._size:
                self._submit()

    def _submit(self):
        while len(self._in_flight) >= self._window:
            self._wait_oldest()
        batch, self._pending = self._pending, []
        self._in_flight.append((self._sender.submit(batch), len(batch)))

    def _wait_oldest(self):
        future, count = self._in_flight.popleft()
        future.result()
        self.sent += count

    def flush(self):
        if self._pending:
            self._submit()
        while self._in_flight:
            self._wait_oldest()
