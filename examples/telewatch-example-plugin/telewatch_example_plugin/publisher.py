"""csv: append each sample as one CSV line (name, volume, unit, resource_id, timestamp).

A publisher (entry-point group ``telewatch.publisher``, the URL scheme ``csv``), for a
spreadsheet or a quick look with standard tools.
"""

import csv
import os
import urllib.parse

import voluptuous as vol

from telewatch.publishers import base

COLUMNS = ('name', 'volume', 'unit', 'resource_id', 'timestamp')


class CsvPublisher(base.Publisher):
    """Appends one line per sample to a CSV file (RFC 4180, UTF-8).

    URL: ``csv://PATH?header=true``; PATH is the URL's host and path joined and
    percent-decoded (``csv:///var/tmp/samples.csv`` is absolute). Option ``header``
    (boolean, default true): write the line of column names when the file is empty.

    Lifecycle (see telewatch.publishers.base): ``__init__`` only checks the URL; ``start``
    opens the file (PermanentPublishError if it cannot: start-up stops); ``publish`` writes
    and flushes (RetryablePublishError on a write error: the file is reopened at the next
    call, and lines written before the error may be written again by the retry); ``stop``
    closes, and is safe without ``start`` and twice.
    """

    OPTIONS = {vol.Optional('header', default=True): base.Boolean}
    EXAMPLE_URL = 'csv:///tmp/telewatch-example/samples.csv'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self.path = urllib.parse.unquote(url.parts.netloc + url.parts.path)
        if not self.path:
            raise ValueError('%s: no file path; write csv:///absolute/path/samples.csv'
                             % url.text)
        self._stream = self._writer = None

    def _open(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self._stream = open(self.path, 'a', newline='', encoding='utf-8')
        self._writer = csv.writer(self._stream)
        if self.options['header'] and self._stream.tell() == 0:
            self._writer.writerow(COLUMNS)

    def start(self):
        try:
            self._open()
        except OSError as exc:
            raise base.PermanentPublishError('cannot open %s: %s' % (self.path, exc)) from exc

    def publish(self, samples):
        try:
            if self._stream is None:
                self._open()
            for sample in samples:
                self._writer.writerow((sample.name, sample.volume, sample.unit,
                                       sample.resource_id, sample.timestamp.isoformat()))
            self._stream.flush()
        except OSError as exc:
            self.stop()
            raise base.RetryablePublishError('cannot write to %s: %s' % (self.path, exc),
                                             samples=len(samples)) from exc

    def stop(self):
        stream, self._stream, self._writer = self._stream, None, None
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass  # the failed write was reported by publish
