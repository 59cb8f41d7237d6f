"""The publisher contract: where a sink hands its samples, chosen by URL scheme.

Lifecycle: the framework builds a publisher from its URL and the service configuration
(``__init__(url, conf)`` only checks and stores; no I/O), calls ``start()`` once before the
first ``publish``, ``publish(samples)`` with a non-empty list from one thread at a time,
and ``stop()`` at the end (``stop`` is safe without ``start`` and safe twice, and sends
whatever the publisher still holds).
``publish`` raises RetryablePublishError when the same call may succeed later (a network
error, a 5xx) and PermanentPublishError when it never will (a 4xx, a sample that cannot be
encoded); the sink retries, queues or drops on that type and counts what happens.

A publisher that also takes events (the other services' notifications as the notification
agent reads them: mappings of ``event_type, publisher_id, payload, timestamp, message_id``)
has ``handles_event(event_type) -> bool`` and ``publish_events(events)``, called like
``publish`` (same errors, same policy; telewatch.pipeline.engine) with the events of a
batch whose types it handles, after the batch's samples. archive:// and gnocchi:// do, to
create and end resources.
"""

import abc
import json
import urllib.parse

import voluptuous as vol

from telewatch import delivery as delivery_mod


class PublishError(Exception):
    """A publish call failed; ``samples`` is how many samples it concerned."""

    retryable = False

    def __init__(self, message, samples=None):
        super().__init__(message)
        self.samples = samples


class RetryablePublishError(PublishError):
    """The same samples may be accepted later: retry or queue them."""

    retryable = True


class PermanentPublishError(PublishError):
    """These samples will never be accepted: do not retry."""


class PublisherURL:
    """A parsed publisher URL: scheme, the URL without its options, and the raw options.

    ``directory`` is that of the file that names the URL (None if none): a relative file
    name among its options is looked up there too (config_file.find_file's ``beside``).
    """

    def __init__(self, text, directory=None):
        self.directory = directory or None
        if not isinstance(text, str) or not text.strip():
            raise ValueError('a publisher is a URL such as file:///path/samples.jsonl')
        text = text.strip()
        # As in Ceilometer, a bare name is the scheme of an URL with nothing else.
        self.text = text if '://' in text else text + '://'
        self.parts = urllib.parse.urlsplit(self.text)
        self.scheme = self.parts.scheme
        if not self.scheme:
            raise ValueError('%r has no scheme' % text)
        self.options = {}
        for key, value in urllib.parse.parse_qsl(self.parts.query, keep_blank_values=True):
            if key in self.options:
                raise ValueError('option %r is given twice' % key)
            self.options[key] = value

    @property
    def without_options(self):
        return urllib.parse.urlunsplit(self.parts._replace(query='', fragment=''))

    @property
    def for_display(self):
        """The URL without options and without a password, for logs and errors."""
        netloc = self.parts.netloc
        if '@' in netloc:
            user, host = netloc.rsplit('@', 1)
            netloc = '%s:***@%s' % (user.split(':', 1)[0], host)
        return '%s://%s%s' % (self.scheme, netloc, self.parts.path)


def Boolean(value):
    """A query-string boolean: true/false, yes/no, on/off, 1/0 (any case)."""
    return vol.Boolean()(value)


# Options of every publisher URL, read by the framework (telewatch.pipeline.delivery).
DELIVERY_OPTIONS = {
    vol.Optional('policy', default=delivery_mod.PUBLISHER_POLICY): vol.In(
        list(delivery_mod.POLICIES), msg='expected one of retry, queue, drop'),
    vol.Optional('max_queue_length', default=delivery_mod.MAX_QUEUE_LENGTH): vol.All(
        vol.Coerce(int), vol.Range(min=1)),
}


class Publisher(abc.ABC):
    """Base class of every publisher (entry-point group ``telewatch.publisher``).

    Subclasses set ``OPTIONS`` (a dict for voluptuous: the query options, with defaults and
    coercion from strings; ``policy`` and ``max_queue_length`` belong to the framework) and
    ``EXAMPLE_URL`` (a URL that works, for docs and tests), and read ``self.url`` and
    ``self.options`` in ``__init__`` (raise ValueError for anything else that is wrong in
    the URL).
    """

    OPTIONS = {}
    EXAMPLE_URL = None

    def __init__(self, url, conf):
        self.url = url
        self.conf = conf
        options = dict(url.options)
        delivery = {key: options.pop(key) for key in DELIVERY_OPTIONS if key in options}
        try:
            self.delivery = vol.Schema(DELIVERY_OPTIONS)(delivery)
            self.options = vol.Schema(self.OPTIONS)(options)
        except vol.MultipleInvalid as exc:
            raise ValueError('; '.join(_option_error(error) for error in exc.errors)) from None

    def start(self):
        """Open connections or files; called once before the first publish."""

    @abc.abstractmethod
    def publish(self, samples):
        """Hand over a list of samples; raise a PublishError subclass on failure."""

    def stop(self):
        """Send what is held and close; safe without start() and safe twice."""

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, self.url.for_display)


def to_json(sample):
    """A sample as one line of compact JSON (ValueError for what JSON cannot hold)."""
    # allow_nan=False: infinity written as the bare word Infinity is not JSON.
    return json.dumps(sample.to_dict(), separators=(',', ':'), allow_nan=False)


def encode_each(samples, encoder):
    """(encoded samples, [(sample, error)] of those the encoder rejects)."""
    encoded, failures = [], []
    for sample in samples:
        try:
            encoded.append(encoder(sample))
        except (TypeError, ValueError, OverflowError) as exc:
            failures.append((sample, exc))
    return encoded, failures


def raise_unencodable(failures, total, form):
    """PermanentPublishError for the samples that could not be encoded, if any."""
    if failures:
        sample, exc = failures[0]
        raise PermanentPublishError(
            '%d of %d samples cannot be encoded as %s; first: %s of %s (id %s): %s'
            % (len(failures), total, form, sample.name, sample.resource_id, sample.id, exc),
            samples=len(failures))


def _option_error(error):
    option = error.path[0] if error.path else '?'
    if error.error_message == 'extra keys not allowed':
        return 'unknown option %r' % option
    return 'option %r: %s' % (option, error.error_message)
