"""A running telewatch-api (gunicorn) with a processor, on the embedded store of a
temporary directory: for the tests that talk to the API over HTTP."""

import contextlib
import pathlib
import socket
import subprocess
import sys
import time

import pytest
import requests

BIN = pathlib.Path(sys.executable).parent


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_api(data, extra_config=''):
    """The root URL of a telewatch-api (noauth unless ``extra_config`` says otherwise)
    and a telewatch-archive-processor, both stopped at the end."""
    with running_api_process(data, extra_config) as (url, _api):
        yield url


@contextlib.contextmanager
def running_api_process(data, extra_config=''):
    """``running_api``'s URL, and the Popen of telewatch-api (the gunicorn master)."""
    port = free_port()
    config = data / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\nport = %d\n'
                      '[archive]\nprocessing_delay = 0.1\n%s' % (data, port, extra_config))
    subprocess.run([str(BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                   check=True, capture_output=True, timeout=120)
    log_path = data / 'api.log'
    with open(log_path, 'w') as log:
        api = subprocess.Popen([str(BIN / 'telewatch-api'), '--config-file', str(config)],
                               stdout=log, stderr=log)
        processor = subprocess.Popen([str(BIN / 'telewatch-archive-processor'),
                                      '--config-file', str(config)], stdout=log, stderr=log)
        try:
            url = 'http://127.0.0.1:%d' % port
            _wait_until_up(url, api, log_path)
            yield url, api
        finally:
            for process in (api, processor):
                process.terminate()
                process.wait(30)


def _wait_until_up(url, api, log_path, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):  # a loaded machine: not yet
            assert api.poll() is None, log_path.read_text()
            time.sleep(0.2)
    pytest.fail('telewatch-api did not answer within %d s:\n%s'
                % (timeout, log_path.read_text()))


@pytest.fixture(scope='module')
def telewatch_api(tmp_path_factory):
    """Root URL of a telewatch-api in noauth mode (gnocchi-basic admin works)."""
    with running_api(tmp_path_factory.mktemp('api')) as url:
        yield url
