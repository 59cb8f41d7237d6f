"""Unit tests of the UDP publisher: URL, Ceilometer's signed message, and error types."""

import errno
import socket

import msgpack
import pytest

from telewatch import sample as sample_mod
from telewatch.publishers import base
from telewatch.publishers import udp
from tests.unit.publishers import common

SECRET = 'change this for valid signing'


def _publisher(url, secret=SECRET):
    return common.make_publisher(udp.UdpPublisher, url, secret)


def _sample(**overrides):
    fields = dict(name='cpu', type='cumulative', unit='ns', volume=7, resource_id='vm-1',
                  timestamp='2024-01-01T00:00:00Z', user_id='u', project_id='p',
                  resource_metadata={'flavor': {'name': 'm1', 'vcpus': 2}},
                  id='00000000-0000-4000-8000-000000000001', monotonic_time=12.5)
    fields.update(overrides)
    return sample_mod.Sample.create(**fields)


class _FakeSocket:
    def __init__(self, error=None):
        self.sent = []
        self.error = error

    def sendto(self, data, address):
        if self.error is not None:
            raise self.error
        self.sent.append((data, address))

    def close(self):
        pass


@pytest.mark.parametrize('url, host, port', [
    ('udp://127.0.0.1', '127.0.0.1', 4952),
    ('udp://127.0.0.1:5000', '127.0.0.1', 5000),
    ('udp://[::1]:4953', '::1', 4953),
    ('udp://collector.example.org', 'collector.example.org', 4952),
])
def test_host_and_port(url, host, port):
    publisher = _publisher(url)
    assert (publisher.host, publisher.port) == (host, port)


@pytest.mark.parametrize('url, message', [
    ('udp://', 'udp://: no host; write udp://host:port'),
    ('udp', 'udp://: no host; write udp://host:port'),
    ('udp://:4952', 'udp://:4952: no host; write udp://host:port'),
    ('udp://host:port', "udp://host:port: bad port: Port could not be cast to integer "
                        "value as 'port'"),
    ('udp://host:70000', 'udp://host:70000: bad port: Port out of range 0-65535'),
    ('udp://host?ttl=2', "unknown option 'ttl'"),
])
def test_bad_urls_are_refused(url, message):
    with pytest.raises(ValueError) as raised:
        _publisher(url)
    assert str(raised.value) == message


def test_meter_message_is_ceilometers_signed_form():
    message = udp.meter_message(_sample(), SECRET)
    assert message == {
        'source': 'openstack', 'counter_name': 'cpu', 'counter_type': 'cumulative',
        'counter_unit': 'ns', 'counter_volume': 7.0, 'user_id': 'u', 'project_id': 'p',
        'resource_id': 'vm-1', 'timestamp': '2024-01-01T00:00:00+00:00',
        'resource_metadata': {'flavor': {'name': 'm1', 'vcpus': 2}},
        'message_id': '00000000-0000-4000-8000-000000000001', 'monotonic_time': 12.5,
        'message_signature': message['message_signature'],
    }
    unsigned = {key: value for key, value in message.items() if key != 'message_signature'}
    assert message['message_signature'] == sample_mod.ceilometer_signature(unsigned, SECRET)
    assert len(message['message_signature']) == 64
    sample_mod.verify(message, SECRET)
    with pytest.raises(sample_mod.InvalidSignature):
        sample_mod.verify(dict(message, counter_volume=8.0), SECRET)
    with pytest.raises(sample_mod.InvalidSignature):
        sample_mod.verify(message, 'another secret')


def test_empty_secret_sends_an_empty_signature_as_ceilometer():
    assert udp.meter_message(_sample(), '')['message_signature'] == ''


def test_publish_sends_one_msgpack_datagram_per_sample():
    publisher = _publisher('udp://127.0.0.1:9999')
    publisher.start()
    publisher._socket.close()
    publisher._socket = fake = _FakeSocket()
    samples = [_sample(), _sample(volume=8, id='id-2')]
    publisher.publish(samples)
    assert [address for _, address in fake.sent] == [('127.0.0.1', 9999)] * 2
    decoded = [msgpack.unpackb(data, raw=False) for data, _ in fake.sent]
    assert decoded == [udp.meter_message(sample, SECRET) for sample in samples]
    assert [message['counter_volume'] for message in decoded] == [7.0, 8.0]


def test_sample_msgpack_cannot_encode_is_permanent_and_others_are_sent():
    publisher = _publisher('udp://127.0.0.1:9999')
    publisher._socket = fake = _FakeSocket()
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample(id='bad', resource_metadata={'big': 2 ** 70}), _sample()])
    assert raised.value.samples == 1
    assert str(raised.value).startswith(
        '1 of 2 samples cannot be encoded as msgpack; first: cpu of vm-1 (id bad): ')
    assert [msgpack.unpackb(data)['message_id'] for data, _ in fake.sent] == [
        '00000000-0000-4000-8000-000000000001']


def test_send_error_is_retryable():
    publisher = _publisher('udp://127.0.0.1:9999')
    publisher._socket = _FakeSocket(OSError(errno.ENETUNREACH, 'Network is unreachable'))
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(), _sample()])
    assert raised.value.samples == 2
    assert str(raised.value) == ('cannot send to 127.0.0.1 port 9999 (0 of 2 samples sent): '
                                 '[Errno 101] Network is unreachable')


def test_datagram_too_large_is_permanent():
    publisher = _publisher('udp://127.0.0.1:9999')
    publisher._socket = _FakeSocket(OSError(errno.EMSGSIZE, 'Message too long'))
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample()])
    assert raised.value.samples == 1


def test_unresolvable_host_is_permanent_at_start(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
    monkeypatch.setattr(socket, 'getaddrinfo', fail)
    publisher = _publisher('udp://collector.invalid')
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.start()
    assert str(raised.value) == ('cannot open a UDP socket to collector.invalid port 4952: '
                                 '[Errno -2] Name or service not known')


def test_start_picks_the_address_family():
    publisher = _publisher('udp://127.0.0.1:4952')
    publisher.start()
    assert publisher._socket.family == socket.AF_INET
    assert publisher._socket.type == socket.SOCK_DGRAM
    publisher.stop()


def test_stop_is_safe_without_start_and_twice():
    publisher = _publisher(udp.UdpPublisher.EXAMPLE_URL)
    publisher.stop()
    publisher.start()
    sock = publisher._socket
    publisher.stop()
    publisher.stop()
    assert sock.fileno() == -1  # closed
    assert publisher._socket is None
