"""Unit tests of the kafka publisher: URL and options, the producer's configuration, the
record form, and which errors are retryable. A fake producer stands in for kafka-python's
(tests/functional/test_kafka_publisher.py talks to the real broker)."""

import kafka
import kafka.codec
import kafka.errors
import kafka.future
import pytest

from telewatch import firehose
from telewatch import sample as sample_mod
from telewatch.publishers import base
from telewatch.publishers import kafka as kafka_publisher
from tests.unit.publishers import common

SECRET = 'kafka-secret'
URL = 'kafka://broker-1:9092?topic=samples'


class FakeProducer:
    """kafka.KafkaProducer's send/flush/close; ``outcomes`` says how each send ends: an
    exception class raised by send, ('fail', error) for a future that fails, 'pending' for
    one that never completes, anything else for success."""

    made = []

    def __init__(self, **config):
        self.config = config
        self.sent = []
        self.futures = []
        self.outcomes = []
        self.flushed = []
        self.closed = None
        FakeProducer.made.append(self)

    def send(self, topic, value=None, key=None, headers=None):
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if isinstance(outcome, type) and issubclass(outcome, Exception):
            raise outcome('from send')
        self.sent.append((topic, key, value, headers))
        future = kafka.future.Future()
        if isinstance(outcome, tuple):
            future.failure(outcome[1])
        elif outcome != 'pending':
            future.success(None)
        self.futures.append(future)
        return future

    def flush(self, timeout=None):
        self.flushed.append(timeout)
        if not all(future.is_done for future in self.futures):
            raise kafka.errors.KafkaTimeoutError('Timeout waiting for future')

    def close(self, timeout=None):
        self.closed = timeout


@pytest.fixture
def producers(monkeypatch):
    FakeProducer.made = []
    monkeypatch.setattr(kafka, 'KafkaProducer', FakeProducer)
    return FakeProducer.made


def _publisher(url=URL, secret=SECRET):
    return common.make_publisher(kafka_publisher.KafkaPublisher, url, secret)


def _samples(count):
    return [common.make_sample(id='id-%d' % number, resource_id='vm-%d' % (number % 3),
                               volume=number) for number in range(count)]


# -- URL and options -------------------------------------------------------------------------

@pytest.mark.parametrize('url, servers', [
    ('kafka://broker-1:9092?topic=t', ['broker-1:9092']),
    ('kafka://broker-1?topic=t', ['broker-1:9092']),
    ('kafka://10.0.0.1:9093,10.0.0.2:9094/?topic=t', ['10.0.0.1:9093', '10.0.0.2:9094']),
])
def test_brokers(url, servers):
    assert _publisher(url).servers == servers


@pytest.mark.parametrize('url, message', [
    ('kafka://broker', "option 'topic': required key not provided"),
    ('kafka://?topic=t', 'no broker; write kafka://host:port[,host:port]?topic=NAME'),
    ('kafka', "option 'topic': required key not provided"),
    ('kafka://b:port?topic=t', "broker b:port: bad port: Port could not be cast to integer "
                               "value as 'port'"),
    ('kafka://b:1,:2?topic=t', 'broker :2: write host:port'),
    ('kafka://user:secret@b?topic=t', 'credentials go in the options sasl_plain_username '
                                      'and sasl_plain_password, not before the host'),
    ('kafka://b/samples?topic=t', 'the topic is the option topic, not a path: write '
                                  'kafka://host:port[,host:port]?topic=NAME'),
    ('kafka://b?topic=a%20b', "option 'topic': expected a Kafka topic name: 1 to 249 "
                              "letters, digits, '.', '_' or '-' (not '.' or '..')"),
    ('kafka://b?topic=..', "option 'topic': expected a Kafka topic name: 1 to 249 letters, "
                           "digits, '.', '_' or '-' (not '.' or '..')"),
    ('kafka://b?topic=' + 'x' * 250, "option 'topic': expected a Kafka topic name: 1 to 249 "
                                     "letters, digits, '.', '_' or '-' (not '.' or '..')"),
    ('kafka://b?topic=t&acks=2', "option 'acks': expected one of 0, 1, all"),
    ('kafka://b?topic=t&compression=brotli',
     "option 'compression': expected one of none, gzip, snappy, lz4, zstd"),
    ('kafka://b?topic=t&linger_ms=-1', "option 'linger_ms': value must be at least 0"),
    ('kafka://b?topic=t&batch_size=lots', "option 'batch_size': expected int"),
    ('kafka://b?topic=t&request_timeout_ms=0',
     "option 'request_timeout_ms': value must be at least 1"),
    ('kafka://b?topic=t&security_protocol=TLS', "option 'security_protocol': expected one "
                                                "of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
    ('kafka://b?topic=t&sasl_mechanism=GSSAPI&security_protocol=SASL_SSL',
     "option 'sasl_mechanism': expected one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ('kafka://b?topic=t&ssl_check_hostname=maybe', "option 'ssl_check_hostname': expected "
                                                   "boolean"),
    ('kafka://b?topic=t&partition=1', "unknown option 'partition'"),
    ('kafka://b?topic=t&ssl_cafile=/ca.pem&ssl_keyfile=/key.pem',
     'option ssl_cafile: needs security_protocol SSL or SASL_SSL; option ssl_keyfile: '
     'needs security_protocol SSL or SASL_SSL; option ssl_keyfile: needs the option '
     'ssl_certfile'),
    ('kafka://b?topic=t&security_protocol=SASL_SSL',
     'security_protocol SASL_SSL: needs the option sasl_mechanism; security_protocol '
     'SASL_SSL: needs the option sasl_plain_username; security_protocol SASL_SSL: needs '
     'the option sasl_plain_password'),
    ('kafka://b?topic=t&sasl_mechanism=PLAIN&sasl_plain_password=hunter2',
     'option sasl_mechanism: needs security_protocol SASL_PLAINTEXT or SASL_SSL; option '
     'sasl_plain_password: needs security_protocol SASL_PLAINTEXT or SASL_SSL'),
])
def test_bad_urls_are_refused_with_what_to_write(url, message):
    assert common.refusal(kafka_publisher.KafkaPublisher, url) == message


def test_a_codec_whose_library_is_missing_is_refused_naming_the_package(monkeypatch):
    monkeypatch.setattr(kafka.codec, 'has_zstd', lambda: False)
    assert common.refusal(kafka_publisher.KafkaPublisher,
                          'kafka://b?topic=t&compression=zstd') == (
        'option compression: zstd needs the Python package zstandard, which is not '
        'installed')
    monkeypatch.setattr(kafka.codec, 'has_zstd', lambda: True)
    assert _publisher('kafka://b?topic=t&compression=zstd').producer_config()[
        'compression_type'] == 'zstd'


def test_default_producer_configuration():
    assert _publisher().producer_config() == {
        'bootstrap_servers': ['broker-1:9092'], 'acks': 'all', 'linger_ms': 50,
        'batch_size': 1048576, 'compression_type': 'lz4', 'request_timeout_ms': 10000,
        'max_block_ms': 10000, 'bootstrap_timeout_ms': 10000, 'delivery_timeout_ms': 10050,
        'client_id': 'telewatch', 'security_protocol': 'PLAINTEXT',
        'ssl_check_hostname': True, 'enable_idempotence': False,
        'max_in_flight_requests_per_connection': 1, 'reconnect_backoff_max_ms': 1000}


@pytest.mark.parametrize('acks, value', [('0', 0), ('1', 1), ('all', 'all')])
def test_options_become_the_producers(acks, value):
    config = _publisher('kafka://b?topic=t&acks=%s&compression=none&linger_ms=5'
                        '&request_timeout_ms=2000&max_block_ms=300&batch_size=16384'
                        % acks).producer_config()
    assert (config['acks'], config['compression_type'], config['linger_ms'],
            config['delivery_timeout_ms'], config['max_block_ms'],
            config['bootstrap_timeout_ms'], config['batch_size']) == (
        value, None, 5, 2005, 300, 300, 16384)


def test_tls_and_sasl_options_reach_the_producer(producers, tmp_path):
    for name in ('ca.pem', 'cert.pem', 'key.pem'):
        (tmp_path / name).write_text('')
    publisher = _publisher(
        'kafka://b:9093?topic=t&security_protocol=SASL_SSL&ssl_cafile=%(d)s/ca.pem'
        '&ssl_certfile=%(d)s/cert.pem&ssl_keyfile=%(d)s/key.pem&ssl_check_hostname=false'
        '&sasl_mechanism=SCRAM-SHA-512&sasl_plain_username=telewatch'
        '&sasl_plain_password=s%%26cret&client_id=agent-7' % {'d': tmp_path})
    publisher.start()
    (producer,) = producers
    assert {key: producer.config[key] for key in (
        'security_protocol', 'ssl_cafile', 'ssl_certfile', 'ssl_keyfile',
        'ssl_check_hostname', 'sasl_mechanism', 'sasl_plain_username',
        'sasl_plain_password', 'client_id', 'bootstrap_servers')} == {
        'security_protocol': 'SASL_SSL', 'ssl_cafile': '%s/ca.pem' % tmp_path,
        'ssl_certfile': '%s/cert.pem' % tmp_path, 'ssl_keyfile': '%s/key.pem' % tmp_path,
        'ssl_check_hostname': False, 'sasl_mechanism': 'SCRAM-SHA-512',
        'sasl_plain_username': 'telewatch', 'sasl_plain_password': 's&cret',
        'client_id': 'agent-7', 'bootstrap_servers': ['b:9093']}
    # What is shown of the publisher (logs, status pages) holds no password.
    assert repr(publisher) == '<KafkaPublisher kafka://b:9093 topic=t>'
    assert 's&cret' not in publisher.url.for_display


def test_a_missing_certificate_file_is_permanent_and_named(producers, tmp_path):
    publisher = _publisher('kafka://b?topic=t&security_protocol=SSL&ssl_cafile=%s/ca.pem'
                           % tmp_path)
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.start()
    assert str(raised.value) == 'option ssl_cafile: no such file %s/ca.pem' % tmp_path
    assert producers == []


# -- records ---------------------------------------------------------------------------------

@pytest.mark.parametrize('secret', [SECRET, ''])
def test_each_sample_is_one_firehose_record_keyed_by_resource(producers, secret):
    publisher = _publisher(secret=secret)
    samples = _samples(4)
    publisher.start()
    publisher.publish(samples)
    (producer,) = producers
    assert [(topic, key) for topic, key, _, _ in producer.sent] == [
        ('samples', b'vm-0'), ('samples', b'vm-1'), ('samples', b'vm-2'), ('samples', b'vm-0')]
    for (_, _, value, headers), sample in zip(producer.sent, samples):
        assert value == firehose.encode(sample)
        assert headers == firehose.headers(value, secret)
        assert firehose.decode(value, headers, secret or None) == sample
    assert producer.sent[0][3] == ([(firehose.SIGNATURE_HEADER,
                                     firehose.signature(producer.sent[0][2], SECRET))]
                                   if secret else [])
    # The call waits for every record, at most the delivery timeout and a margin.
    assert producer.flushed == [10.05 + 5]


def test_publish_before_start_makes_the_producer_and_stop_closes_it_once(producers):
    publisher = _publisher()
    publisher.stop()
    publisher.publish(_samples(1))
    publisher.stop()
    publisher.stop()
    (producer,) = producers
    assert producer.closed == 15.05
    assert len(producer.sent) == 1


# -- failures --------------------------------------------------------------------------------

def _failing(producers, outcomes, count=5):
    publisher = _publisher()
    publisher.start()
    producers[0].outcomes = list(outcomes)
    with pytest.raises(base.PublishError) as raised:
        publisher.publish(_samples(count))
    return raised.value


@pytest.mark.parametrize('error', [
    kafka.errors.KafkaTimeoutError('Batch expired'), kafka.errors.NotLeaderForPartitionError(),
    kafka.errors.BrokerNotAvailableError(), kafka.errors.KafkaConnectionError('refused'),
    kafka.errors.NotEnoughReplicasError(), kafka.errors.IllegalStateError('closed'),
])
def test_errors_that_may_pass_are_retryable_for_the_samples_not_acknowledged(producers, error):
    raised = _failing(producers, [None, ('fail', error), None, ('fail', error)])
    assert isinstance(raised, base.RetryablePublishError)
    assert raised.samples == 2
    assert str(raised) == (
        'Kafka at broker-1:9092 did not take 2 of 5 samples for topic samples; first error '
        '(cpu of vm-1, id id-1): %s' % error)


def test_a_producer_that_does_not_settle_its_records_is_replaced(producers):
    # Its own delivery timeout should fail what it cannot send: it is stuck.
    publisher = _publisher()
    publisher.start()
    producers[0].outcomes = [None, 'pending']
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish(_samples(3))
    assert raised.value.samples == 1
    assert 'KafkaTimeoutError: not acknowledged in time' in str(raised.value)
    assert producers[0].closed == 0
    publisher.publish(_samples(3))
    assert len(producers) == 2 and len(producers[1].sent) == 3


def test_a_producer_that_takes_nothing_stops_the_call_at_once(producers):
    # e.g. the topic's metadata does not come within max_block_ms: the rest would wait too.
    raised = _failing(producers, [None, None, kafka.errors.KafkaTimeoutError])
    assert isinstance(raised, base.RetryablePublishError)
    assert raised.samples == 3
    assert len(producers[0].sent) == 2
    assert str(raised).endswith('(3 not sent); first error: KafkaTimeoutError: from send')


def test_a_record_too_large_is_permanent_for_that_record_alone(producers):
    raised = _failing(producers, [None, kafka.errors.MessageSizeTooLargeError,
                                  ('fail', kafka.errors.RecordListTooLargeError())])
    assert isinstance(raised, base.PermanentPublishError)
    assert raised.samples == 2
    assert len(producers[0].sent) == 4
    assert 'first error (cpu of vm-1, id id-1): [Error 10] MessageSizeTooLargeError' \
        in str(raised)


def test_a_batch_with_both_kinds_of_failure_is_retryable_as_a_whole(producers):
    raised = _failing(producers, [('fail', kafka.errors.MessageSizeTooLargeError()),
                                  ('fail', kafka.errors.RequestTimedOutError())])
    assert isinstance(raised, base.RetryablePublishError)
    assert raised.samples == 2
    assert 'first error (cpu of vm-1, id id-1): [Error 7] RequestTimedOutError' in str(raised)


def test_an_authorization_failure_is_permanent(producers):
    raised = _failing(producers, [kafka.errors.TopicAuthorizationFailedError])
    assert isinstance(raised, base.PermanentPublishError)
    assert raised.samples == 5


def test_an_unencodable_sample_is_permanent_and_the_others_are_sent(producers):
    publisher = _publisher()
    samples = _samples(3)
    bad = common.make_sample(id='bad', resource_metadata={'handle': object()})
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish(samples[:1] + [bad] + samples[1:])
    assert raised.value.samples == 1
    assert '1 of 4 samples cannot be encoded as JSON; first: cpu of vm-1 (id bad)' \
        in str(raised.value)
    assert [value for _, _, value, _ in producers[0].sent] == [
        firehose.encode(sample) for sample in samples]


def test_unencodable_and_unacknowledged_samples_all_count(producers):
    publisher = _publisher()
    publisher.start()
    producers[0].outcomes = [('fail', kafka.errors.KafkaTimeoutError())]
    bad = common.make_sample(id='bad', resource_metadata={'handle': object()})
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish(_samples(2) + [bad])
    assert raised.value.samples == 2


def test_a_closed_producer_is_replaced_at_the_next_publish(producers):
    publisher = _publisher()
    publisher.start()
    producers[0].outcomes = [kafka.errors.IllegalStateError]
    with pytest.raises(base.RetryablePublishError):
        publisher.publish(_samples(2))
    assert producers[0].closed == 0
    publisher.publish(_samples(2))
    assert len(producers) == 2
    assert len(producers[1].sent) == 2


def test_a_broker_away_at_start_does_not_stop_start_and_publish_tries_again(monkeypatch):
    attempts = []

    def unreachable(**config):
        attempts.append(config)
        raise kafka.errors.KafkaTimeoutError('Unable to bootstrap from broker-1:9092')

    monkeypatch.setattr(kafka, 'KafkaProducer', unreachable)
    publisher = _publisher()
    publisher.start()
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish(_samples(2))
    assert str(raised.value) == ('cannot connect to Kafka at broker-1:9092: KafkaTimeoutError: '
                                 'Unable to bootstrap from broker-1:9092')
    assert len(attempts) == 2
    publisher.stop()


def test_a_configuration_kafka_refuses_is_permanent(monkeypatch):
    def refuse(**config):
        raise kafka.errors.KafkaConfigurationError('no')

    monkeypatch.setattr(kafka, 'KafkaProducer', refuse)
    with pytest.raises(base.PermanentPublishError):
        _publisher().start()


def test_a_firehose_record_with_a_text_no_backend_can_store_is_refused():
    sample = sample_mod.Sample.create('cpu', 'gauge', '%', 1, 'vm-1')
    value = firehose.encode(sample._replace(resource_id='vm\x00evil'))
    with pytest.raises(firehose.InvalidRecord) as raised:
        firehose.decode(value)
    assert raised.value.reason == 'sample' and 'NUL' in str(raised.value)
    assert firehose.decode(firehose.encode(sample)) == sample
