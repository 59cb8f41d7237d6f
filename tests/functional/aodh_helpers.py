"""A real Aodh 23 run by a test: its API and evaluator from the virtualenv that
``tools/services/aodh install`` builds, reading the Gnocchi its configuration names.

Each Aodh of ``running_aodhs`` has its own configuration and SQLite database in a directory of
the test (nothing shared with tools/services/aodh's daemons or another test), its API served by
gunicorn on a free port with ``[api] auth_mode = noauth`` (the caller says who it is in
X-User-Id, X-Project-Id and X-Roles), and ``aodh-evaluator`` with a short
``evaluation_interval``. Both are stopped at the end. Notifications of state changes go to
oslo.messaging's in-memory transport: no notifier runs, and no broker is touched.
"""

import concurrent.futures
import contextlib
import os
import pathlib
import signal
import subprocess
import time

import pytest
import requests

from tests.functional import api_helpers
from tests.functional import services

# A cold install downloads Aodh and its requirements (about 2 min here); this only guards
# against a hung pip.
INSTALL_TIMEOUT = 900
ADMIN_HEADERS = {'X-User-Id': 'telewatch-test', 'X-Roles': 'admin'}


def aodh_venv():
    """The virtualenv of Aodh 23 (``tools/services/aodh install``: built once, then a no-op);
    fails the calling test with the script's output if it cannot be built."""
    try:
        result = subprocess.run([str(services.TOOLS / 'aodh'), 'install'],
                                cwd=str(services.REPO), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail('tools/services/aodh install timed out after %d s' % INSTALL_TIMEOUT,
                    pytrace=False)
    if result.returncode != 0:
        pytest.fail('tools/services/aodh install failed:\n%s%s'
                    % (result.stdout, result.stderr), pytrace=False)
    return pathlib.Path(result.stdout.split()[-1])


class Aodh:
    """The v2 API of one running Aodh, called as the admin of ``project_id``."""

    def __init__(self, url, project_id, log_dir):
        self.url = url
        self.headers = dict(ADMIN_HEADERS, **{'X-Project-Id': project_id})
        self.log_dir = log_dir
        self.processes = []  # the API's gunicorn and the evaluator

    def call(self, method, path, expected=200, **kwargs):
        kwargs.setdefault('headers', self.headers)
        response = requests.request(method, self.url + path, timeout=60, **kwargs)
        assert response.status_code == expected, '%s %s: %s %s\n%s' % (
            method, path, response.status_code, response.text, self.logs())
        return response.json() if response.content else None

    def create_alarm(self, body, project_id=None):
        """Create an alarm as the admin or, with ``project_id``, as a member of that project
        (then Aodh scopes a by-resources query to the resources of that project)."""
        if project_id is None:
            return self.call('POST', '/v2/alarms', 201, json=body)
        member = dict(self.headers, **{'X-Project-Id': project_id, 'X-Roles': 'member'})
        return self.call('POST', '/v2/alarms', 201, json=body, headers=member)

    def alarm(self, alarm_id):
        return self.call('GET', '/v2/alarms/%s' % alarm_id)

    def set_state(self, alarm_id, state):
        return self.call('PUT', '/v2/alarms/%s/state' % alarm_id, json=state)

    def logs(self):
        """The tails of the API's and the evaluator's logs (for failure messages)."""
        return ''.join('--- %s\n%s\n' % (path.name, '\n'.join(
            path.read_text(errors='replace').splitlines()[-30:]))
            for path in sorted(self.log_dir.glob('*.log')))


def _config(directory, service_credentials, evaluation_interval):
    lines = ['[DEFAULT]', 'transport_url = fake://', '', '[api]', 'auth_mode = noauth', '',
             '[database]', 'connection = sqlite:///%s' % (directory / 'aodh.db'), '',
             '[evaluator]', 'evaluation_interval = %d' % evaluation_interval, '',
             '[service_credentials]']
    lines += ['%s = %s' % item for item in service_credentials.items()]
    path = directory / 'aodh.conf'
    path.write_text('\n'.join(lines) + '\n')
    return path


def _start(command, log_path, cwd):
    with open(log_path, 'w') as log:
        # Its own session: the evaluator's worker (cotyledon) is stopped with its master.
        return subprocess.Popen(command, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=log, start_new_session=True)


def _stop(processes, timeout=15):
    """TERM each process group, then KILL those still running ``timeout`` s later."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)


def _wait_until_up(aodh, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in aodh.processes):
            pytest.fail('an Aodh daemon exited while starting:\n' + aodh.logs(),
                        pytrace=False)
        try:
            # The first request builds the app (gunicorn loads it lazily).
            if requests.get(aodh.url + '/v2/alarms', headers=aodh.headers,
                            timeout=timeout).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail('Aodh did not answer within %d s:\n%s' % (timeout, aodh.logs()),
                pytrace=False)


def _dbsync(venv, configs):
    """aodh-dbsync on every configuration at once (each takes seconds)."""
    runs = [subprocess.Popen([str(venv / 'bin' / 'aodh-dbsync'), '--config-file', str(config)],
                             cwd=str(config.parent), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for config in configs]
    for run in runs:
        output = run.communicate(timeout=120)[0]
        assert run.returncode == 0, output


def _daemons(venv, config, port):
    directory = config.parent
    # aodh.wsgi.api builds the app with argv=[], so it would read no --config-file.
    (directory / 'aodh_wsgi.py').write_text(
        'from aodh.api import app\napplication = app.build_wsgi_app(argv=[%r, %r])\n'
        % ('--config-file', str(config)))
    return [_start([str(venv / 'bin' / 'gunicorn'), '--chdir', str(directory), '--bind',
                    '127.0.0.1:%d' % port, '--workers', '1', '--threads', '4',
                    '--no-control-socket', 'aodh_wsgi:application'],
                   directory / 'api.log', directory),
            _start([str(venv / 'bin' / 'aodh-evaluator'), '--config-file', str(config)],
                   directory / 'evaluator.log', directory)]


@contextlib.contextmanager
def running_aodhs(venv, setups, evaluation_interval=2):
    """Several Aodh (API and evaluator) started together, one for each ``(directory,
    service_credentials, project_id)`` of ``setups``: on its own SQLite database in
    ``directory``, reading Gnocchi with ``service_credentials`` (its
    ``[service_credentials]`` options). Yields them (Aodh, each calling its API as the admin
    of its ``project_id``), and stops them all at the end."""
    configs = [_config(directory, credentials, evaluation_interval)
               for directory, credentials, _ in setups]
    _dbsync(venv, configs)
    aodhs = []
    try:
        for (directory, _, project_id), config in zip(setups, configs):
            port = api_helpers.free_port()
            aodhs.append(Aodh('http://127.0.0.1:%d' % port, project_id, directory))
            aodhs[-1].processes = _daemons(venv, config, port)
        for aodh in aodhs:
            _wait_until_up(aodh)
        yield aodhs
    finally:
        _stop([process for aodh in aodhs for process in aodh.processes])


@contextlib.contextmanager
def together(*managers):
    """Enter context managers at once, each in a thread (each mostly waits for daemons to
    start); yields what they give, in order. Each one entered is exited at the end, also
    when another failed to start (whose error is then raised)."""
    with concurrent.futures.ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
        concurrent.futures.wait(futures)
    with contextlib.ExitStack() as stack:
        for manager, future in zip(managers, futures):
            if future.exception() is None:
                stack.push(manager.__exit__)
        yield [future.result() for future in futures]  # raises the first failure


def _keystone_call(keystone, token, method, path, **kwargs):
    response = requests.request(method, keystone.auth_url + path, timeout=30,
                                headers={'X-Auth-Token': token}, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


@contextlib.contextmanager
def catalog_region(keystone, region, url):
    """The region ``region`` in the test Keystone's catalog, whose ``internal`` endpoint of
    the ``metric`` service is ``url``; both removed at the end. (Only a client asking for
    that region and interface finds it: the public one stays the only one the other tests
    can get.)"""
    token = keystone.token(keystone.admin).id
    service_id = _keystone_call(keystone, token, 'GET', '/services',
                                params={'type': 'metric'})['services'][0]['id']
    _keystone_call(keystone, token, 'POST', '/regions', json={'region': {
        'id': region, 'description': 'a test of real Aodh against telewatch-api'}})
    try:
        endpoint = _keystone_call(keystone, token, 'POST', '/endpoints', json={'endpoint': {
            'service_id': service_id, 'interface': 'internal', 'region_id': region,
            'url': url}})['endpoint']
        try:
            yield region
        finally:
            _keystone_call(keystone, token, 'DELETE', '/endpoints/' + endpoint['id'])
    finally:
        _keystone_call(keystone, token, 'DELETE', '/regions/' + region)
