"""kafka: one sample per Kafka record (telewatch.firehose), keyed by resource id, for
telewatch-pubsub and any other consumer of the topic.
"""

import logging
import os
import urllib.parse

import voluptuous as vol

from telewatch import firehose
from telewatch.kafka import cluster
from telewatch.kafka import producer as producer_mod
from telewatch.publishers import base

LOG = logging.getLogger(__name__)

_MS = vol.All(vol.Coerce(int), vol.Range(min=0))
_PATH = vol.All(str, vol.Length(min=1))
# Seconds a publish or stop waits beyond the producer's own delivery timeout.
_WAIT_MARGIN = 5.0


def _topic(value):
    if not cluster.is_topic_name(value):
        raise vol.Invalid("expected a Kafka topic name: 1 to 249 letters, digits, '.', '_' "
                          "or '-' (not '.' or '..')")
    return value


def _acks(value):
    if value not in ('0', '1', 'all'):
        raise vol.Invalid('expected one of 0, 1, all')
    return 'all' if value == 'all' else int(value)


def _choice(*values):
    return vol.In(values, msg='expected one of %s' % ', '.join(values))


class KafkaPublisher(base.Publisher):
    """Sends each sample as one record of ``TOPIC``: the value is ``firehose.encode``
    (JSON of the replay output's fields plus ``schema_version``), the key the resource id
    (one partition holds a resource's samples, in order), and with ``[publisher]
    telemetry_secret`` set, a ``telewatch-signature`` header.

    URL: ``kafka://HOST[:PORT][,HOST[:PORT]...]?topic=TOPIC`` (PORT defaults to 9092).

    Options (mostly kafka-python's producer options; see doc/pipeline.md):
      ``topic`` (required); ``acks`` (0, 1, all; default all); ``linger_ms`` (default 50),
      ``batch_size`` (bytes, default 1 MiB), ``compression`` (none, gzip, snappy, lz4,
      zstd; default lz4): batching, which makes most of the throughput;
      ``request_timeout_ms`` (default 10000) and ``max_block_ms`` (default 10000): how
      long a publish waits for the broker (a record not acknowledged within linger_ms +
      request_timeout_ms fails) and for its metadata; ``client_id``;
      ``security_protocol`` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), ``ssl_cafile``,
      ``ssl_certfile``, ``ssl_keyfile``, ``ssl_check_hostname``, ``sasl_mechanism`` (PLAIN,
      SCRAM-SHA-256, SCRAM-SHA-512), ``sasl_plain_username``, ``sasl_plain_password``.

    ``publish`` sends every sample, then waits until each is acknowledged or failed. A
    failure that may pass (broker gone, timeout, leader moving) raises RetryablePublishError
    for the samples not acknowledged; the sink then sends the whole batch again
    (at-least-once: a consumer de-duplicates by sample id). A sample JSON cannot hold, or a
    record the broker will never take (too large), raises PermanentPublishError for those.
    """

    OPTIONS = {
        vol.Required('topic'): _topic,
        vol.Optional('acks', default='all'): _acks,
        vol.Optional('linger_ms', default=50): _MS,
        vol.Optional('batch_size', default=1 << 20): vol.All(vol.Coerce(int),
                                                             vol.Range(min=1)),
        vol.Optional('compression', default='lz4'): _choice(*producer_mod.CODEC_PACKAGES),
        vol.Optional('request_timeout_ms', default=10000): vol.All(vol.Coerce(int),
                                                                   vol.Range(min=1)),
        vol.Optional('max_block_ms', default=10000): _MS,
        vol.Optional('client_id', default='telewatch'): vol.All(str, vol.Length(min=1)),
        vol.Optional('security_protocol', default='PLAINTEXT'): _choice(
            'PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'),
        vol.Optional('ssl_cafile'): _PATH,
        vol.Optional('ssl_certfile'): _PATH,
        vol.Optional('ssl_keyfile'): _PATH,
        vol.Optional('ssl_check_hostname', default=True): base.Boolean,
        vol.Optional('sasl_mechanism'): _choice('PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'),
        vol.Optional('sasl_plain_username'): vol.All(str, vol.Length(min=1)),
        vol.Optional('sasl_plain_password'): str,
    }
    EXAMPLE_URL = 'kafka://127.0.0.1:9092?topic=telewatch.firehose'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self.servers = _servers(url)
        errors = _security_errors(self.options) + producer_mod.codec_errors(
            self.options['compression'])
        if errors:
            raise ValueError('; '.join(errors))
        self.topic = self.options['topic']
        # The producer fails a record it could not deliver within this time, so that a
        # publish returns with every record of the call settled.
        self.delivery_timeout_ms = self.options['linger_ms'] + self.options['request_timeout_ms']
        self._producer = None

    def producer_config(self):
        """The keyword arguments of kafka.KafkaProducer."""
        return producer_mod.publisher_options(self.servers, self.options,
                                              self.delivery_timeout_ms)

    def start(self):
        if self._producer is not None:
            return
        try:
            self._connect()
        except base.RetryablePublishError as exc:
            # A broker away at start-up must not stop the agent: publish connects again.
            LOG.warning('%r: %s; the next publish tries again', self, exc)

    def _connect(self):
        """Make the producer (it reaches a broker within max_block_ms, or fails)."""
        for option in ('ssl_cafile', 'ssl_certfile', 'ssl_keyfile'):
            path = self.options.get(option)
            if path is not None and not os.path.isfile(path):
                raise base.PermanentPublishError('option %s: no such file %s' % (option, path))
        try:
            self._producer = producer_mod.new_producer(**self.producer_config())
        except producer_mod.KafkaError as exc:
            error = base.RetryablePublishError if producer_mod.retryable(exc) else \
                base.PermanentPublishError
            raise error('cannot connect to Kafka at %s: %s' % (','.join(self.servers), exc)
                        ) from exc

    def publish(self, samples):
        if self._producer is None:
            self._connect()
        records, failures = base.encode_each(samples, self._record)
        futures, unsent = self._send(records)
        self._wait(futures)
        self._raise_failures(len(samples), futures, unsent, failures)

    def _record(self, sample):
        value = firehose.encode(sample)
        return sample, firehose.key(sample), value, firehose.headers(
            value, self.conf.publisher.telemetry_secret)

    def _send(self, records):
        """([(sample, future, or the error of that record)], (count, error) of the records
        left unsent because the producer takes none now)."""
        futures = []
        for index, (sample, key, value, headers) in enumerate(records):
            try:
                futures.append((sample, self._producer.send(
                    self.topic, value=value, key=key, headers=headers)))
            except producer_mod.KafkaError as exc:
                if isinstance(exc, producer_mod.RECORD_ERRORS):
                    futures.append((sample, exc))
                    continue
                if isinstance(exc, producer_mod.IllegalStateError):
                    self._discard_producer(0)  # closed or broken: the next publish makes one
                return futures, (len(records) - index, exc)
        return futures, (0, None)

    def _wait(self, futures):
        if not futures or self._producer is None:
            return
        try:
            # Sends what linger_ms still holds at once: this call waits for it anyway.
            self._producer.flush(timeout=self.delivery_timeout_ms / 1000 + _WAIT_MARGIN)
        except producer_mod.KafkaTimeoutError:
            # Its delivery timeout should have settled every record by now: it is stuck.
            # The records still pending count as not acknowledged.
            LOG.warning('%r: the producer did not settle its records in time; the next '
                        'publish makes a new one', self)
            self._discard_producer(0)

    def _raise_failures(self, total, futures, unsent, unencodable):
        """RetryablePublishError when any sample failed in a way that may pass, else
        PermanentPublishError; either counts every sample not acknowledged."""
        count, unsent_error = unsent
        outcome = producer_mod.outcome
        failed = [(sample, error) for sample, error in (
            (sample, outcome(future)) for sample, future in futures) if error is not None]
        if not count and not failed:
            base.raise_unencodable(unencodable, total, 'JSON')
            return
        causes = ([(None, unsent_error)] if count else []) + failed + unencodable
        retryable = [cause for cause in causes if producer_mod.retryable(cause[1])]
        sample, error = (retryable or causes)[0]
        kind = base.RetryablePublishError if retryable else base.PermanentPublishError
        lost = count + len(failed) + len(unencodable)
        raise kind('Kafka at %s did not take %d of %d samples for topic %s%s; first error%s: '
                   '%s' % (','.join(self.servers), lost, total, self.topic,
                           ' (%d not sent)' % count if count else '', _about(sample), error),
                   samples=lost)

    def _discard_producer(self, timeout):
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=timeout)
            except producer_mod.KafkaError as exc:
                LOG.warning('%r: closing the producer: %s', self, exc)

    def stop(self):
        # Publish waited for its records: this rarely has anything left to send.
        self._discard_producer(self.delivery_timeout_ms / 1000 + _WAIT_MARGIN)

    def __repr__(self):
        return '<%s kafka://%s topic=%s>' % (type(self).__name__, ','.join(self.servers),
                                             self.topic)


def _servers(url):
    """['host:port', ...] of the URL; ValueError for a missing host or a bad port."""
    if '@' in url.parts.netloc:
        raise ValueError('credentials go in the options sasl_plain_username and '
                         'sasl_plain_password, not before the host')
    if url.parts.path.strip('/'):
        raise ValueError('the topic is the option topic, not a path: write '
                         'kafka://host:port[,host:port]?topic=NAME')
    servers = cluster.bootstrap_servers(url.text)
    if not servers:
        raise ValueError('no broker; write kafka://host:port[,host:port]?topic=NAME')
    for server in servers:
        parts = urllib.parse.urlsplit('//' + server)
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError('broker %s: bad port: %s' % (server, exc)) from None
        if not parts.hostname or port is None:
            raise ValueError('broker %s: write host:port' % server)
    return servers


def _security_errors(options):
    """What is wrong in the TLS and SASL options, as a list of messages."""
    protocol = options['security_protocol']
    errors = []
    if 'SSL' not in protocol:
        errors += ['option %s: needs security_protocol SSL or SASL_SSL' % option
                   for option in ('ssl_cafile', 'ssl_certfile', 'ssl_keyfile')
                   if option in options]
    if 'ssl_keyfile' in options and 'ssl_certfile' not in options:
        errors.append('option ssl_keyfile: needs the option ssl_certfile')
    sasl = ('sasl_mechanism', 'sasl_plain_username', 'sasl_plain_password')
    if not protocol.startswith('SASL_'):
        errors += ['option %s: needs security_protocol SASL_PLAINTEXT or SASL_SSL' % option
                   for option in sasl if option in options]
    else:
        errors += ['security_protocol %s: needs the option %s' % (protocol, option)
                   for option in sasl if option not in options]
    return errors


def _about(sample):
    if sample is None:
        return ''
    return ' (%s of %s, id %s)' % (sample.name, sample.resource_id, sample.id)
