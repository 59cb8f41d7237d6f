"""Functional tests of the publishers against real files, UDP sockets and HTTP servers.

Everything listens on 127.0.0.1 (or ::1) on a port the system picks; nothing is faked.
"""

import base64
import http.server
import json
import os
import socket
import threading
import time

import msgpack
import pytest
from oslo_config import cfg

from telewatch import opts
from telewatch import sample as sample_mod
from telewatch.publishers import base
from telewatch.publishers import file as file_publisher
from telewatch.publishers import http as http_publisher
from telewatch.publishers import log as log_publisher
from telewatch.publishers import udp as udp_publisher

SECRET = 'functional-secret'


def _conf():
    conf = cfg.ConfigOpts()
    opts.register_common_opts(conf)
    conf([])
    conf.set_override('telemetry_secret', SECRET, group='publisher')
    return conf


def _sample(number, **overrides):
    fields = dict(name='disk.read.bytes', type='cumulative', unit='B', volume=1000 + number,
                  resource_id='vm-%d' % (number % 3), timestamp='2024-01-01T00:00:00Z',
                  user_id='user-1', project_id='project-1',
                  resource_metadata={'host': 'compute-1', 'disk': {'name': 'vda'}},
                  id='sample-%02d' % number)
    fields.update(overrides)
    return sample_mod.Sample.create(**fields)


def _build(cls, url):
    return cls(base.PublisherURL(url), _conf())


@pytest.mark.parametrize('cls', [file_publisher.FilePublisher, udp_publisher.UdpPublisher,
                                 http_publisher.HttpPublisher, log_publisher.LogPublisher])
def test_example_url_starts_and_stops(cls, tmp_path):
    conf = _conf()
    conf.set_override('data_dir', str(tmp_path))  # where file://samples.jsonl goes
    publisher = cls(base.PublisherURL(cls.EXAMPLE_URL), conf)
    publisher.start()
    publisher.stop()
    publisher.stop()


# -- file --------------------------------------------------------------------------------

def _read_samples(path):
    with open(path, encoding='utf-8') as stream:
        text = stream.read()
    assert text.endswith('\n')
    return [sample_mod.Sample.from_dict(json.loads(line)) for line in text.splitlines()]


def test_file_rotation_keeps_backup_count_files_of_at_most_max_bytes(tmp_path):
    path = tmp_path / 'out' / 'samples.jsonl'
    samples = [_sample(number) for number in range(10)]
    line_size = len(json.dumps(samples[0].to_dict(), separators=(',', ':'))) + 1
    # The premise of the exact layout below: one line fits in 500 bytes, two do not.
    assert 250 < line_size < 500
    publisher = _build(file_publisher.FilePublisher,
                       'file://%s?max_bytes=500&backup_count=2' % path)
    publisher.start()
    publisher.publish(samples[:4])
    publisher.publish(samples[4:])
    publisher.stop()
    assert sorted(os.listdir(path.parent)) == [
        'samples.jsonl', 'samples.jsonl.1', 'samples.jsonl.2']
    assert _read_samples(str(path) + '.2') == [samples[7]]
    assert _read_samples(str(path) + '.1') == [samples[8]]
    assert _read_samples(path) == [samples[9]]


def test_file_rotation_with_several_lines_per_file(tmp_path):
    path = tmp_path / 'samples.jsonl'
    samples = [_sample(number) for number in range(9)]
    line_size = len(json.dumps(samples[0].to_dict(), separators=(',', ':'))) + 1
    # The premise of the exact layout below: three lines fit in 1000 bytes, four do not.
    assert 3 * line_size < 1000 <= 4 * line_size
    publisher = _build(file_publisher.FilePublisher,
                       'file://%s?max_bytes=1000&backup_count=2' % path)
    publisher.start()
    for sample in samples[:5]:
        publisher.publish([sample])
    publisher.stop()
    # A restart appends to the current file and keeps rotating.
    publisher.start()
    publisher.publish(samples[5:])
    publisher.stop()
    sizes = [os.path.getsize(str(path) + suffix) for suffix in ('', '.1', '.2')]
    assert all(size <= 1000 for size in sizes)
    assert not os.path.exists(str(path) + '.3')
    # Three lines per file; the oldest three samples are rotated away.
    assert _read_samples(str(path) + '.2') == samples[0:3]
    assert _read_samples(str(path) + '.1') == samples[3:6]
    assert _read_samples(path) == samples[6:9]


def test_file_without_rotation_grows(tmp_path):
    path = tmp_path / 'samples.jsonl'
    samples = [_sample(number) for number in range(50)]
    publisher = _build(file_publisher.FilePublisher, 'file://%s' % path)
    publisher.start()
    publisher.publish(samples)
    publisher.stop()
    assert os.listdir(tmp_path) == ['samples.jsonl']
    assert _read_samples(path) == samples


# -- udp ---------------------------------------------------------------------------------

def _receive(receiver, count):
    receiver.settimeout(5)
    return [msgpack.unpackb(receiver.recv(65535), raw=False) for _ in range(count)]


def _check_signed(messages, samples):
    assert [message['message_id'] for message in messages] == [sample.id for sample in samples]
    for message, sample in zip(messages, samples):
        assert message['counter_name'] == 'disk.read.bytes'
        assert message['counter_type'] == 'cumulative'
        assert message['counter_unit'] == 'B'
        assert message['counter_volume'] == sample.volume
        assert message['resource_id'] == sample.resource_id
        assert message['timestamp'] == '2024-01-01T00:00:00+00:00'
        assert message['resource_metadata'] == {'host': 'compute-1', 'disk': {'name': 'vda'}}
        assert message['message_signature'] == sample_mod.ceilometer_signature(
            message, SECRET)
        sample_mod.verify(message, SECRET)
        assert sample_mod.Sample.from_dict(message) == sample


def test_udp_sends_signed_msgpack_datagrams():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(('127.0.0.1', 0))
        port = receiver.getsockname()[1]
        publisher = _build(udp_publisher.UdpPublisher, 'udp://127.0.0.1:%d' % port)
        publisher.start()
        samples = [_sample(number) for number in range(5)]
        publisher.publish(samples)
        publisher.stop()
        _check_signed(_receive(receiver, 5), samples)


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(('::1', 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason='no IPv6 loopback')
def test_udp_to_an_ipv6_address():
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as receiver:
        receiver.bind(('::1', 0))
        port = receiver.getsockname()[1]
        publisher = _build(udp_publisher.UdpPublisher, 'udp://[::1]:%d' % port)
        publisher.start()
        publisher.publish([_sample(1)])
        publisher.stop()
        _check_signed(_receive(receiver, 1), [_sample(1)])


# -- http --------------------------------------------------------------------------------

class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Records each POST and answers with the server's ``status`` and ``reply``."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.received.append((self.path, dict(self.headers), body))
        time.sleep(self.server.delay)
        reply = self.server.reply.encode()
        self.send_response(self.server.status)
        self.send_header('Content-Length', str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass  # keep the test output clean


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _RecordingHandler)
    httpd.received, httpd.status, httpd.reply, httpd.delay = [], 200, '', 0
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def _http(server, query='', credentials=''):
    return _build(http_publisher.HttpPublisher, 'http://%s127.0.0.1:%d/v1/samples%s'
                  % (credentials, server.server_address[1], query))


def test_http_batch_posts_one_list(server):
    publisher = _http(server, '?batch=true&timeout=5', credentials='alice:p%40ss@')
    publisher.start()
    samples = [_sample(number) for number in range(4)]
    publisher.publish(samples)
    publisher.stop()
    assert len(server.received) == 1
    path, headers, body = server.received[0]
    assert path == '/v1/samples'
    assert headers['Content-Type'] == 'application/json'
    assert headers['Authorization'] == 'Basic ' + base64.b64encode(b'alice:p@ss').decode()
    assert json.loads(body) == [sample.to_dict() for sample in samples]


def test_http_no_batch_posts_one_object_per_sample(server):
    publisher = _http(server, '?batch=false')
    publisher.start()
    samples = [_sample(number) for number in range(3)]
    publisher.publish(samples)
    publisher.stop()
    assert [json.loads(body) for _, _, body in server.received] == [
        sample.to_dict() for sample in samples]
    assert 'Authorization' not in server.received[0][1]


def test_http_503_is_retryable(server):
    server.status, server.reply = 503, 'overloaded, come back later'
    publisher = _http(server)
    publisher.start()
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(1), _sample(2)])
    publisher.stop()
    assert str(raised.value) == (
        'http://127.0.0.1:%d/v1/samples answered 503 Service Unavailable: '
        'overloaded, come back later' % server.server_address[1])
    assert raised.value.samples == 2
    assert len(server.received) == 1  # the adapter retries connections, not statuses


def test_http_400_is_permanent(server):
    server.status, server.reply = 400, '{"error": "unknown meter"}'
    publisher = _http(server)
    publisher.start()
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample(1)])
    publisher.stop()
    assert str(raised.value).endswith('answered 400 Bad Request: {"error": "unknown meter"}')


def test_http_slow_server_is_retryable(server):
    server.delay = 0.5
    publisher = _http(server, '?timeout=0.1&max_retries=0')
    publisher.start()
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(1)])
    publisher.stop()
    assert 'timed out' in str(raised.value)


def test_http_closed_port_is_retryable():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    publisher = _build(http_publisher.HttpPublisher,
                       'http://127.0.0.1:%d/samples?max_retries=1' % port)
    publisher.start()
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(1)])
    publisher.stop()
    assert str(raised.value).startswith('cannot POST to http://127.0.0.1:%d/samples: ' % port)
    assert 'Connection refused' in str(raised.value)
