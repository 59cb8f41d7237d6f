"""Unit tests of the HTTP publisher: URL and options, JSON bodies, status -> error type."""

import functools
import json

import pytest
import requests

from telewatch.publishers import base
from telewatch.publishers import http
from tests.unit.publishers import common

EXPECTED_OBJECT = common.SAMPLE_JSON


_publisher = functools.partial(common.make_publisher, http.HttpPublisher)
_sample = common.make_sample


class _FakeResponse:
    def __init__(self, status, text='', reason='Reason'):
        self.status_code = status
        self.text = text
        self.reason = reason


class _FakeSession:
    """Records each post and answers with the next of ``answers`` (a response or error)."""

    def __init__(self, *answers):
        self.answers = list(answers) or [_FakeResponse(200)]
        self.posts = []
        self.closed = False

    def post(self, url, **kwargs):
        self.posts.append((url, kwargs))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self):
        self.closed = True


def _started(url, session):
    publisher = _publisher(url)
    publisher.start()
    publisher._session.close()
    publisher._session = session
    return publisher


def test_defaults():
    publisher = _publisher('http://127.0.0.1:8000/samples')
    assert publisher.options == {'timeout': 5.0, 'max_retries': 2, 'batch': True,
                                 'verify_ssl': True}
    assert publisher.target == 'http://127.0.0.1:8000/samples'
    assert publisher.auth is None


def test_options_and_credentials_are_removed_from_the_target():
    publisher = _publisher('https://alice:p%40ss%3Aword@Example.org:8443/v1/samples'
                           '?timeout=2.5&max_retries=0&batch=False&verify_ssl=false')
    assert publisher.target == 'https://example.org:8443/v1/samples'
    assert publisher.auth == ('alice', 'p@ss:word')
    assert publisher.options == {'timeout': 2.5, 'max_retries': 0, 'batch': False,
                                 'verify_ssl': False}
    assert repr(publisher) == '<HttpPublisher https://example.org:8443/v1/samples>'


def test_user_without_password():
    assert _publisher('http://bob@h/x').auth == ('bob', '')


def test_ipv6_host_keeps_its_brackets():
    assert _publisher('http://[::1]:8000/s').target == 'http://[::1]:8000/s'


def test_verify_ssl_may_be_a_ca_bundle_and_certificate_paths():
    publisher = _publisher('https://h/x?verify_ssl=/etc/ca.pem&clientcert=/etc/c.pem'
                           '&clientkey=/etc/k.pem')
    assert publisher.options['verify_ssl'] == '/etc/ca.pem'
    assert publisher.options['clientcert'] == '/etc/c.pem'
    assert publisher.options['clientkey'] == '/etc/k.pem'


@pytest.mark.parametrize('url, message', [
    ('http://h/x?clientkey=/etc/k.pem', 'option clientkey: needs the option clientcert'),
    ('http://h/x?max_retries=many', "option 'max_retries': expected int"),
    ('http://h/x?max_retries=-1', "option 'max_retries': value must be at least 0"),
    ('http://h/x?timeout=soon', "option 'timeout': expected float"),
    ('http://h/x?timeout=0', "option 'timeout': value must be higher than 0"),
    ('http://h/x?batch=sometimes', "option 'batch': expected boolean"),
    ('http://h/x?verify_ssl=',
     "option 'verify_ssl': expected true, false or the path of a CA bundle"),
    ('http://h/x?raw_only=true', "unknown option 'raw_only'"),
    ('http:///x', 'the URL has no host; write http://host[:port]/path'),
    ('https', 'the URL has no host; write https://host[:port]/path'),
    ('http://u:secret@h:port/x',
     "the URL has a bad port: Port could not be cast to integer value as 'port'"),
])
def test_bad_urls_are_refused(url, message):
    with pytest.raises(ValueError) as raised:
        _publisher(url)
    assert str(raised.value) == message


def test_start_configures_the_session(tmp_path):
    ca, cert, key = (tmp_path / name for name in ('ca.pem', 'cert.pem', 'key.pem'))
    for path in (ca, cert, key):
        path.write_text('PEM')
    publisher = _publisher('https://u:p@h/x?max_retries=4&verify_ssl=%s&clientcert=%s'
                           '&clientkey=%s' % (ca, cert, key))
    publisher.start()
    session = publisher._session
    assert session.verify == str(ca)
    assert session.cert == (str(cert), str(key))
    assert session.auth == ('u', 'p')
    assert session.get_adapter('https://h/x').max_retries.total == 4
    assert session.get_adapter('http://h/x').max_retries.total == 4
    publisher.stop()
    assert publisher._session is None


def test_client_certificate_alone(tmp_path):
    cert = tmp_path / 'both.pem'
    cert.write_text('PEM')
    publisher = _publisher('https://h/x?clientcert=%s' % cert)
    publisher.start()
    assert publisher._session.cert == str(cert)
    assert publisher._session.verify is True
    publisher.stop()


def test_missing_certificate_file_is_permanent_at_start(tmp_path):
    publisher = _publisher('https://h/x?verify_ssl=%s/nope.pem' % tmp_path)
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.start()
    assert str(raised.value) == 'option verify_ssl: no such file %s/nope.pem' % tmp_path


def test_batch_posts_one_json_list_per_publish():
    session = _FakeSession()
    publisher = _started('http://h:8000/samples?timeout=3', session)
    publisher.publish([_sample(), _sample(volume=2, id='id-2'), _sample(id='id-3')])
    assert len(session.posts) == 1
    url, kwargs = session.posts[0]
    assert url == 'http://h:8000/samples'
    assert kwargs['headers'] == {'Content-Type': 'application/json'}
    assert kwargs['timeout'] == 3.0
    assert kwargs['allow_redirects'] is False
    assert kwargs['data'].startswith(b'[' + EXPECTED_OBJECT.encode() + b',{')
    body = json.loads(kwargs['data'])
    assert [item['id'] for item in body] == [
        '00000000-0000-4000-8000-000000000001', 'id-2', 'id-3']
    assert body[1]['volume'] == 2.0


def test_no_batch_posts_one_object_per_sample():
    session = _FakeSession()
    publisher = _started('http://h/samples?batch=false', session)
    publisher.publish([_sample(), _sample(id='id-2')])
    assert [kwargs['data'] for _, kwargs in session.posts] == [
        EXPECTED_OBJECT.encode(),
        EXPECTED_OBJECT.replace('00000000-0000-4000-8000-000000000001', 'id-2').encode()]


@pytest.mark.parametrize('status', [200, 201, 202, 204, 299])
def test_2xx_is_success(status):
    _started('http://h/x', _FakeSession(_FakeResponse(status))).publish([_sample()])


@pytest.mark.parametrize('status', [408, 429, 500, 502, 503, 504])
def test_retryable_statuses(status):
    publisher = _started('http://h/x', _FakeSession(_FakeResponse(status, 'later', 'Busy')))
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(), _sample()])
    assert str(raised.value) == 'http://h/x answered %d Busy: later' % status
    assert raised.value.samples == 2


@pytest.mark.parametrize('status', [400, 401, 403, 404, 409, 413, 422, 301, 302, 304])
def test_permanent_statuses(status):
    publisher = _started('http://h/x', _FakeSession(_FakeResponse(status, 'no', 'Nope')))
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample()])
    assert str(raised.value) == 'http://h/x answered %d Nope: no' % status


def test_error_message_holds_the_first_200_characters_of_the_body():
    body = 'a' * 199 + 'bc' + 'z' * 100
    publisher = _started('http://h/x', _FakeSession(_FakeResponse(400, body, 'Bad Request')))
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample()])
    assert str(raised.value) == 'http://h/x answered 400 Bad Request: ' + 'a' * 199 + 'b'


@pytest.mark.parametrize('error, kind', [
    (requests.ConnectionError('refused'), base.RetryablePublishError),
    (requests.exceptions.SSLError('handshake'), base.RetryablePublishError),
    (requests.Timeout('slow'), base.RetryablePublishError),
    (requests.exceptions.ReadTimeout('slow'), base.RetryablePublishError),
    (requests.exceptions.ChunkedEncodingError('cut'), base.RetryablePublishError),
    (requests.exceptions.InvalidHeader('bad'), base.PermanentPublishError),
    (OSError('Could not find a suitable TLS CA certificate bundle'),
     base.PermanentPublishError),
])
def test_request_errors(error, kind):
    publisher = _started('http://h/x', _FakeSession(error))
    with pytest.raises(base.PublishError) as raised:
        publisher.publish([_sample()])
    assert type(raised.value) is kind
    assert str(raised.value) == 'cannot POST to http://h/x: %s' % error


def test_no_batch_stops_at_the_first_failure_and_counts_the_rest():
    session = _FakeSession(_FakeResponse(200), _FakeResponse(503))
    publisher = _started('http://h/x?batch=false', session)
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(id='a'), _sample(id='b'), _sample(id='c')])
    assert raised.value.samples == 2
    assert [json.loads(kwargs['data'])['id'] for _, kwargs in session.posts] == ['a', 'b']


@pytest.mark.parametrize('batch', ['true', 'false'])
def test_sample_json_cannot_encode_is_permanent_and_others_are_posted(batch):
    session = _FakeSession()
    publisher = _started('http://h/x?batch=' + batch, session)
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample(id='bad', resource_metadata={'s': {1, 2}}), _sample()])
    assert raised.value.samples == 1
    assert str(raised.value).startswith(
        '1 of 2 samples cannot be encoded as JSON; first: cpu of vm-1 (id bad): ')
    expected = '[%s]' % EXPECTED_OBJECT if batch == 'true' else EXPECTED_OBJECT
    assert [kwargs['data'] for _, kwargs in session.posts] == [expected.encode()]


def test_only_unencodable_samples_posts_nothing():
    session = _FakeSession()
    publisher = _started('http://h/x', session)
    with pytest.raises(base.PermanentPublishError):
        publisher.publish([_sample(resource_metadata={'peak': float('inf')})])
    assert session.posts == []


def test_stop_is_safe_without_start_and_twice():
    publisher = _publisher(http.HttpPublisher.EXAMPLE_URL)
    publisher.stop()
    session = _FakeSession()
    publisher._session = session
    publisher.stop()
    publisher.stop()
    assert session.closed is True
    assert publisher._session is None
