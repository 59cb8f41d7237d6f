"""telewatch-api under gunicorn, at its limits: a body over ``[oslo_middleware]
max_request_body_size`` is a 413 (declared or chunked), the memory of a large accepted one is
handed back, every error gunicorn or the application writes is Gnocchi's JSON, and the
workers do not outlive a killed master."""

import json
import os
import signal
import socket
import time
import urllib.parse

import psutil
import pytest
import requests

from tests.functional import api_helpers

ADMIN = {'Authorization': 'basic YWRtaW46'}
JSON = dict(ADMIN, **{'Content-Type': 'application/json'})
LIMIT = 1000000


@pytest.fixture(scope='module')
def api(tmp_path_factory):
    """(root URL, gunicorn master Popen) of a telewatch-api with two workers and a body
    limit of 1 MB."""
    config = '[api]\nworkers = 2\n[oslo_middleware]\nmax_request_body_size = %d\n' % LIMIT
    with api_helpers.running_api_process(tmp_path_factory.mktemp('limits'), config) as api:
        yield api


@pytest.fixture(scope='module')
def metric_url(api):
    url, _ = api
    response = requests.post(url + '/v1/metric', headers=JSON,
                             json={'archive_policy_name': 'low'}, timeout=30)
    assert response.status_code == 201, response.text
    return '%s/v1/metric/%s/measures' % (url, response.json()['id'])


def _measures(count):
    return json.dumps([{'timestamp': 1700000000 + i, 'value': float(i)}
                       for i in range(count)]).encode()


def _assert_gnocchi_error(response, status):
    assert response.status_code == status, response.text
    assert response.headers['Content-Type'].startswith('application/json')
    body = response.json()
    assert body['code'] == status and body['title'] and body['description'], body
    return body


def test_a_body_over_the_limit_is_a_413(metric_url):
    body = _measures(30000)
    assert len(body) > LIMIT
    response = requests.post(metric_url, data=body, headers=JSON, timeout=60)
    described = _assert_gnocchi_error(response, 413)['description']
    assert described == 'Request is too large. Larger than %d.' % LIMIT


def test_a_chunked_body_over_the_limit_is_a_413(metric_url):
    body = _measures(30000)
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))  # no Content-Length
    response = requests.post(metric_url, data=chunks, headers=JSON, timeout=60)
    described = _assert_gnocchi_error(response, 413)['description']
    assert described == 'Request is too large. Larger than %d.' % LIMIT


def test_a_body_within_the_limit_is_taken_chunked_or_not(metric_url):
    body = _measures(20000)
    assert len(body) < LIMIT
    response = requests.post(metric_url, data=body, headers=JSON, timeout=60)
    assert response.status_code == 202, response.text
    response = requests.post(metric_url, data=iter([body]), headers=JSON, timeout=60)
    assert response.status_code == 202, response.text


def _raw_request(url, data):
    """The status line, headers and body gunicorn answers to the raw bytes ``data``."""
    address = urllib.parse.urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b''
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b'\r\n\r\n')
    status_line, *headers = head.decode('latin-1').split('\r\n')
    return (int(status_line.split()[1]),
            dict(h.split(': ', 1) for h in headers), body)


@pytest.mark.parametrize('request_bytes, status', [
    (b'GET /v1/metric?x=' + b'a' * 5000 + b' HTTP/1.1\r\nHost: x\r\n\r\n', 414),
    (b'GARBAGE\r\n\r\n', 400),
    (b'GET /v1/metric HTTP/1.1\r\nHost: x\r\nX-User-Id: a\x01b\r\n\r\n', 400),
    (b'GET /v1/metric HTTP/9.9\r\nHost: x\r\n\r\n', 400),
])
def test_gunicorn_answers_what_it_cannot_parse_in_json(api, request_bytes, status):
    url, _ = api
    got, headers, body = _raw_request(url, request_bytes)
    assert got == status, body
    assert headers['Content-Type'] == 'application/json'
    error = json.loads(body)
    assert error['code'] == status and error['title'] and error['description']


@pytest.mark.parametrize('method, path', [
    ('GET', '/v1/search/metric'),  # a _lookup that finds no controller: Pecan's 404
    ('GET', '/v1/archive_policy/low/x/y'),
    ('GET', '/v3'),
    ('PUT', '/v1/metric'),  # Pecan's 405
    ('PATCH', '/v1/capabilities'),
    ('GET', '/v1/metric/%ff'),  # no UTF-8: Pecan's 400
    ('GET', '/v1/metric?name=a%00b'),
    ('POST', '/v1/resource/generic/%00'),
])
def test_the_application_answers_every_error_in_json(api, method, path):
    url, _ = api
    response = requests.request(method, url + path, headers=JSON, data=b'{}', timeout=30)
    assert response.status_code >= 400
    _assert_gnocchi_error(response, response.status_code)


def _workers_rss(master):
    return sum(worker.memory_info().rss for worker in master.children())


def test_the_memory_of_a_large_request_is_handed_back(tmp_path):
    """With the default limit (32 MiB), a body just under it takes some 300 MB to decode; the
    worker kept it all (and more with each such request) until the memory was released and
    trimmed once the request was answered."""
    body = _measures(600000)
    with api_helpers.running_api_process(tmp_path, '[api]\nworkers = 1\n') as (url, api):
        response = requests.post(url + '/v1/metric', headers=JSON,
                                 json={'archive_policy_name': 'low'}, timeout=30)
        measures = '%s/v1/metric/%s/measures' % (url, response.json()['id'])
        assert requests.post(measures, data=b'[]', headers=JSON, timeout=30).ok
        master = psutil.Process(api.pid)
        before = _workers_rss(master)
        for _ in range(3):
            response = requests.post(measures, data=body, headers=JSON, timeout=120)
            assert response.status_code == 202, response.text
        # The worker releases the memory just after it has sent the answer.
        deadline = time.monotonic() + 5
        while (grown := _workers_rss(master) - before) >= 40 * 2 ** 20 and (
                time.monotonic() < deadline):
            time.sleep(0.1)
    assert grown < 40 * 2 ** 20, 'the worker kept %.0f MB' % (grown / 2 ** 20)


def test_workers_exit_soon_after_their_master_is_killed(tmp_path):
    with api_helpers.running_api_process(tmp_path, '[api]\nworkers = 2\n') as (url, api):
        workers = _workers(psutil.Process(api.pid), 2)
        os.kill(api.pid, signal.SIGKILL)
        killed = time.monotonic()
        deadline = killed + 2
        while _running(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(workers), 'workers alive %.1f s after the master died' % (
            time.monotonic() - killed)


def _workers(master, count, timeout=30):
    """The ``count`` workers of a gunicorn master, once all have booted (the first one
    answers before the others are up)."""
    deadline = time.monotonic() + timeout
    while len(workers := master.children()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(workers) == count, workers
    time.sleep(0.5)  # past their start: each has set its parent-death signal
    return workers


def _running(processes):
    alive = []
    for process in processes:
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except psutil.NoSuchProcess:
            pass
    return alive
