"""Fault suite: the disk under the archive fills up (issue 19 §1).

A real ``telewatch-api`` and ``telewatch-archive-processor`` keep their data directory (the
SQLite index and the ``file`` storage) on a 20 MB tmpfs mounted for the test, mostly taken
by a ballast file. Writers post measures, each to its own metric, until the disk is full
and refuses them, retrying what was refused as a client told Retry-After would; then the
ballast goes and they write some more. Counted exactly: every measure answered 2xx is
stored and readable (none lost, none counted twice), refusals are 507 (never a 500), the
processor never dies, reports the full disk in /v1/status and resumes by itself.
"""

import collections
import contextlib
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.functional import api_helpers

BIN = pathlib.Path(sys.executable).parent
WRITERS = 4
PER_POST = 2000
AFTER_SPACE_RETURNS = 5  # posts each writer makes once the ballast is gone
HEADROOM = 3 * 2**20  # what the ballast leaves free
FULL_FOR = 3  # seconds the disk stays full once everyone met it
T0 = 1_700_000_000
ADMIN = {'Authorization': 'basic YWRtaW46'}  # noauth: gnocchi's "basic" admin
# Series that grow by about 50 bytes a measure: the processor's rewrites fill the disk too.
POLICY = {'name': 'disk-full', 'back_window': 0,
          'aggregation_methods': ['count', 'mean', 'min', 'max', 'sum', 'last'],
          'definition': [{'granularity': '1s', 'points': 1000000}]}


@contextlib.contextmanager
def mounted_tmpfs(path, size='20m'):
    path.mkdir()
    result = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s' % size, 'tmpfs',
                             str(path)], capture_output=True, text=True)
    if result.returncode:
        pytest.skip('cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): %s'
                    % result.stderr.strip())
    try:
        yield path
    finally:
        if subprocess.run(['umount', str(path)], capture_output=True).returncode:
            subprocess.run(['umount', '-l', str(path)], check=True)


def ballast(path, leave):
    """A file taking all of ``path``'s filesystem but ``leave`` bytes."""
    stats = os.statvfs(path)
    size = stats.f_bavail * stats.f_frsize - leave
    with open(path / 'ballast', 'wb') as f:
        for _ in range(size // 2**20):
            f.write(b'\0' * 2**20)
    return path / 'ballast'


class Writer(threading.Thread):
    """Posts PER_POST measures a call to one metric, one second apart; a refused post is
    posted again until accepted. ``statuses`` counts every answer."""

    def __init__(self, url, metric_id, space_back):
        super().__init__(daemon=True)
        self.url = '%s/v1/metric/%s/measures' % (url, metric_id)
        self.metric_id = metric_id
        self.space_back = space_back
        self.statuses = collections.Counter()
        self.acknowledged = 0
        self.refused = threading.Event()
        self.error = None

    def run(self):
        try:
            posts = 0
            while posts < AFTER_SPACE_RETURNS or not self.space_back.is_set():
                self._post_until_accepted()
                if self.space_back.is_set():
                    posts += 1
        except Exception as exc:  # reported by the test
            self.error = exc

    def _post_until_accepted(self):
        start = T0 + self.acknowledged
        body = [{'timestamp': start + i, 'value': 1.0} for i in range(PER_POST)]
        while True:
            try:
                response = http_post(self.url, json=body, timeout=60)
            except requests.ConnectionError:  # no answer: not acknowledged, post again
                self.statuses['no answer'] += 1
                time.sleep(0.2)
                continue
            self.statuses[response.status_code] += 1
            if response.status_code == 202:
                self.acknowledged += PER_POST
                return
            assert response.status_code == 507, (response.status_code, response.text)
            assert response.headers['Retry-After'] and response.json()['code'] == 507
            self.refused.set()
            time.sleep(0.2)


def http_get(url, **kwargs):
    for _ in range(3):  # a connection reset on this busy machine is not the API's answer
        try:
            return requests.get(url, headers=ADMIN, **kwargs)
        except requests.ConnectionError:
            time.sleep(0.5)
    return requests.get(url, headers=ADMIN, **kwargs)


def http_post(url, **kwargs):
    return requests.post(url, headers=ADMIN, **kwargs)


def start_daemons(config, log_dir):
    logs = {name: open(log_dir / ('%s.log' % name), 'w') for name in ('api', 'processor')}
    api = subprocess.Popen([str(BIN / 'telewatch-api'), '--config-file', str(config)],
                           stdout=logs['api'], stderr=logs['api'])
    processor = subprocess.Popen([str(BIN / 'telewatch-archive-processor'), '--config-file',
                                  str(config)], stdout=logs['processor'],
                                 stderr=logs['processor'])
    return api, processor


def storage_health(url):
    return http_get(url + '/v1/status', timeout=10).json()['telewatch']['storage']


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail('%s: not within %d s' % (what, timeout))


def stored_measures(url, metric_id):
    rows = http_get('%s/v1/metric/%s/measures' % (url, metric_id), timeout=30,
                    params={'aggregation': 'count', 'refresh': 'true'}).json()
    return int(sum(value for _, _, value in rows))


def test_a_full_disk_loses_no_acknowledged_measure(tmp_path):
    data = mounted_tmpfs(tmp_path / 'data')
    with data as data_dir:
        port = api_helpers.free_port()
        config = tmp_path / 'telewatch.conf'
        config.write_text('[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\n'
                          'port = %d\nworkers = 2\n[archive]\nsacks = 8\n'
                          'processing_delay = 0.1\n' % (data_dir, port))
        subprocess.run([str(BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                       check=True, capture_output=True, timeout=120)
        api, processor = start_daemons(config, tmp_path)
        try:
            url = 'http://127.0.0.1:%d' % port
            api_helpers._wait_until_up(url, api, tmp_path / 'api.log')
            counts = fill_then_free(url, data_dir)
            assert processor.poll() is None, 'the processor died'
        finally:
            for process in (api, processor):
                process.terminate()
                process.wait(30)
    for name in ('processor', 'api'):
        log = (tmp_path / ('%s.log' % name)).read_text()
        assert 'Traceback' not in log and 'WORKER TIMEOUT' not in log, log[-3000:]
    print('disk full: %(acknowledged)d acknowledged, %(stored)d stored, %(lost)d lost, '
          '%(refused)d posts refused with 507, %(unanswered)d unanswered' % counts)


def fill_then_free(url, data_dir):
    http_post(url + '/v1/archive_policy', json=POLICY, timeout=10).raise_for_status()
    metric_ids = [http_post(url + '/v1/metric', json={'archive_policy_name': 'disk-full'},
                            timeout=10).json()['id'] for _ in range(WRITERS)]
    space_back = threading.Event()
    weight = ballast(data_dir, HEADROOM)
    writers = [Writer(url, m, space_back) for m in metric_ids]
    for writer in writers:
        writer.start()
    wait_for(lambda: all(w.refused.is_set() for w in writers), 40, 'every writer refused')
    wait_for(lambda: storage_health(url)['state'] == 'insufficient_storage', 15,
             '/v1/status says the storage is full')
    time.sleep(FULL_FOR)  # writers and processor keep meeting the full disk
    weight.unlink()
    space_back.set()
    for writer in writers:
        writer.join(60)
        assert not writer.is_alive() and writer.error is None, writer.error
    wait_for(lambda: http_get(url + '/v1/status', timeout=10).json()['storage'][
        'summary']['measures'] == 0, 30, 'every pending measure processed')
    wait_for(lambda: storage_health(url)['state'] == 'ok', 15, 'the processor resumed')
    statuses = sum((w.statuses for w in writers), collections.Counter())
    assert set(statuses) - {'no answer'} == {202, 507}, statuses
    stored = {w.metric_id: stored_measures(url, w.metric_id) for w in writers}
    acknowledged = {w.metric_id: w.acknowledged for w in writers}
    assert stored == acknowledged
    return {'acknowledged': sum(acknowledged.values()), 'stored': sum(stored.values()),
            'lost': sum(acknowledged[m] - stored[m] for m in stored),
            'refused': statuses[507], 'unanswered': statuses['no answer']}
