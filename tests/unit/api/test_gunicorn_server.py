"""What telewatch-api changes in gunicorn: its own error answers in Gnocchi's JSON, and
workers that do not outlive their master."""

import json
import os
import select
import signal
import socket
import time
from unittest import mock

import gunicorn.http.errors
import gunicorn.util
import pytest
from gunicorn.workers import base as gunicorn_worker

from telewatch.api import cli


def _answer(write):
    """What ``write(sock)`` sends: (status line, headers, body)."""
    server, client = socket.socketpair()
    with server, client:
        write(server)
        server.shutdown(socket.SHUT_WR)
        data = b''
        while chunk := client.recv(65536):
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    status, *headers = head.decode('latin-1').split('\r\n')
    return status, dict(h.split(': ', 1) for h in headers), body


def test_an_error_gunicorn_writes_is_gnocchi_json():
    status, headers, body = _answer(
        lambda sock: cli.write_json_error(sock, 414, 'URI Too Long', 'Request Line is too '
                                          'large (5026 > 4094)'))
    assert status == 'HTTP/1.1 414 URI Too Long'
    assert headers['Content-Type'] == 'application/json'
    assert int(headers['Content-Length']) == len(body)
    assert json.loads(body) == {'code': 414, 'title': 'URI Too Long',
                                'description': 'Request Line is too large (5026 > 4094)'}


def test_gunicorn_workers_write_their_errors_through_util_write_error(monkeypatch):
    """What telewatch-api replaces: a gunicorn whose workers stop calling
    ``gunicorn.util.write_error`` would write HTML again."""
    monkeypatch.setattr(gunicorn.util, 'write_error', cli.write_json_error)
    worker = gunicorn_worker.Worker.__new__(gunicorn_worker.Worker)
    worker.log = mock.Mock()
    worker.cfg = mock.Mock()
    error = gunicorn.http.errors.LimitRequestLine(5026, 4094)
    status, headers, body = _answer(
        lambda sock: worker.handle_error(None, sock, ('127.0.0.1', 1), error))
    assert status.startswith('HTTP/1.1 414')
    assert json.loads(body)['code'] == 414


@pytest.mark.filterwarnings('ignore:Using fork')  # eventlet's, imported by oslo.messaging
def test_a_process_dies_with_its_parent():
    """A child that called die_with_parent gets SIGTERM when its parent is killed."""
    read_end, write_end = os.pipe()
    parent = os.fork()
    if parent == 0:  # the parent to be killed
        child = os.fork()
        if child == 0:
            try:
                cli.die_with_parent(os.getppid())
                os.write(write_end, b'%d\n' % os.getpid())
                time.sleep(30)
            finally:
                os._exit(0)
        time.sleep(30)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, 'rb') as pipe:
        child = int(pipe.readline())
        os.kill(parent, signal.SIGKILL)
        os.waitpid(parent, 0)
        # The child's exit closes the pipe's last write end (it would sleep 30 s).
        assert select.select([pipe], [], [], 5)[0], 'the child outlived its parent'
        assert pipe.read() == b''
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(child)


def _alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as stat:
            return stat.read().split(') ')[1][0] != 'Z'
    except FileNotFoundError:
        return False
