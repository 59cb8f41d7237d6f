"""Where the polling agent's samples go: signed batches handed to a sender.

``Sender.send(message)`` takes one envelope of telewatch.messages; the stream sender here
writes one envelope per line to a file or to standard output (the bus sender comes with the
notification agent).
"""

import json
import sys
import threading

from telewatch import messages


class Sender:
    """Delivers envelopes; raises on failure (the caller logs and counts)."""

    def send(self, message):
        raise NotImplementedError

    def close(self):
        """Release what it holds; safe twice."""


class StreamSender(Sender):
    """One JSON envelope per line, appended to ``path`` ('-' is standard output)."""

    def __init__(self, path):
        self._path = path
        self._stream = None
        self._lock = threading.Lock()

    def send(self, message):
        line = json.dumps(message, separators=(',', ':')) + '\n'
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


class Batcher:
    """Cuts samples into signed batches of ``batch_size`` (0: one sample per message)."""

    def __init__(self, sender, batch_size, secret):
        self._sender = sender
        self._size = max(batch_size, 1)
        self._secret = secret
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
            self._sender.send(messages.encode_batch(batch, self._secret))
            self.sent += len(batch)
