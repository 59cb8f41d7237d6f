"""file: append each sample as one line of compact JSON to a local file, rotated by size.

For debugging, for handing samples to a log shipper, and as the sink of golden tests.
"""

import logging
import logging.handlers
import os
import urllib.parse

import voluptuous as vol

from telewatch.publishers import base

_COUNT = vol.All(vol.Coerce(int), vol.Range(min=0))


class _RaisingRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose write errors reach the caller."""

    def handleError(self, record):
        # logging only prints a failed write to stderr; a full disk must become a
        # RetryablePublishError. Called from emit's except clause, so this re-raises.
        raise


class FilePublisher(base.Publisher):
    """Writes ``sample.to_dict()`` as one line of compact JSON per sample (JSON Lines).

    URL: ``file://PATH?max_bytes=0&backup_count=5``. PATH is the URL's host and path joined
    and percent-decoded: ``file:///var/log/samples.jsonl`` is absolute, while
    ``file://samples/out.jsonl`` is ``samples/out.jsonl`` under ``[DEFAULT] data_dir``
    (so one pipeline.yaml serves a daemon and a local run with its own data directory).

    Options:
      ``max_bytes`` (int >= 0, default 0): rotate when the file would reach this size, with
      the semantics of ``logging.handlers.RotatingFileHandler``; 0 never rotates.
      ``backup_count`` (int >= 0, default 5): rotated files kept as ``PATH.1`` ... ``PATH.N``;
      it must be at least 1 when ``max_bytes`` is set (with no backup nothing can rotate).
    """

    OPTIONS = {
        vol.Optional('max_bytes', default=0): _COUNT,
        vol.Optional('backup_count', default=5): _COUNT,
    }
    # Under data_dir, so that starting it (as the tests do) writes nowhere else.
    EXAMPLE_URL = 'file://samples.jsonl'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        path = urllib.parse.unquote(url.parts.netloc + url.parts.path)
        if not path:
            raise ValueError('%s: no file path; write file:///absolute/path/samples.jsonl'
                             % url.text)
        self.path = os.path.join(conf.data_dir, path)
        if self.options['max_bytes'] and not self.options['backup_count']:
            raise ValueError('option backup_count: must be at least 1 when max_bytes is set')
        self._handler = None

    def start(self):
        try:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            handler = _RaisingRotatingFileHandler(
                self.path, maxBytes=self.options['max_bytes'],
                backupCount=self.options['backup_count'], encoding='utf-8')
        except OSError as exc:
            raise base.PermanentPublishError('cannot open %s: %s' % (self.path, exc)) from exc
        handler.setFormatter(logging.Formatter('%(message)s'))
        self._handler = handler

    def publish(self, samples):
        if self._handler is None:
            self._reopen(len(samples))
        lines, failures = base.encode_each(samples, base.to_json)
        written = 0
        try:
            for line in lines:
                self._handler.emit(logging.makeLogRecord({'msg': line}))
                written += 1
        except OSError as exc:
            # Reopen at the next publish rather than retry what the failed stream buffered.
            self.stop()
            raise base.RetryablePublishError(
                'cannot write to %s (%d of %d samples written): %s'
                % (self.path, written, len(lines), exc), samples=len(lines) - written) from exc
        base.raise_unencodable(failures, len(samples), 'JSON')

    def _reopen(self, count):
        # After a failed write (or before start): what failed, a full disk, may pass.
        try:
            self.start()
        except base.PermanentPublishError as exc:
            raise base.RetryablePublishError(str(exc), samples=count) from exc

    def stop(self):
        handler, self._handler = self._handler, None
        if handler is not None:
            try:
                handler.close()
            except OSError:
                pass  # a write failed and was reported; close drops what it buffered
