"""Fault suite: what goes away under load comes back and nothing acknowledged is lost
(issue 19 §5).

- PostgreSQL restarts under four writers posting through a real ``telewatch-api`` (with a
  PostgreSQL index, then with the PostgreSQL series storage too): while it is away the
  API answers 503 with Retry-After, never 500; the writers post again what was refused.
- One gunicorn worker of ``telewatch-api`` is killed with SIGKILL, three times, under four
  writers (file and PostgreSQL storage): the master starts another, the requests it had in
  hand get no answer and are posted again.
- The Kafka broker restarts while samples stream through the notification agent.

Counted exactly: every measure (sample) acknowledged is stored and read back, none lost,
duplicates counted.
"""

import json
import os
import signal
import threading
import time

import pytest

from telewatch.polling import sender as sender_mod
from tests.functional import api_helpers
from tests.functional import bus_helpers
from tests.functional import fault_helpers
from tests.functional import services
from tests.functional.fault_helpers import wait_for

WRITERS = 4
PER_POST = 500
AFTER = 5  # posts each writer makes once the fault is over
KILLS = 3


@pytest.fixture
def archive(request):
    """The [archive] options of a store: ``file`` (SQLite index, file series),
    ``postgresql-index`` (PostgreSQL index, file series) or ``postgresql`` (both in
    PostgreSQL), in a scratch database dropped at the end."""
    options = '[archive]\nsacks = 8\n'
    if request.param == 'file':
        yield options
        return
    postgresql_url = request.getfixturevalue('postgresql_url')
    with services.scratch_database(postgresql_url, 'tw_faults') as url:
        options += 'index_url = %s\n' % url
        if request.param == 'postgresql':
            options += 'storage_url = %s\n' % url
        yield options


def _writers(url, done, refusals=(), pause=0.0):
    metric_ids = fault_helpers.new_metrics(url, WRITERS, fault_helpers.archive_policy('faults'))
    return fault_helpers.start_writers([
        fault_helpers.Writer(url, m, done, refusals=refusals, after=AFTER, per_post=PER_POST,
                             pause=pause) for m in metric_ids])


def _api_errors(log_path):
    """Lines of the API's and processor's log that tell of a 500, an unexpected error or a
    worker that timed out."""
    return [line for line in log_path.read_text().splitlines()
            if 'Unexpected error' in line or 'WORKER TIMEOUT' in line
            or 'Traceback' in line or '" 500 ' in line]


@pytest.mark.parametrize('archive', ['postgresql-index', 'postgresql'], indirect=True)
def test_a_postgresql_restart_under_writers_loses_nothing(archive, tmp_path):
    with api_helpers.running_api_process(tmp_path, '[api]\nworkers = 2\n' + archive) as (
            url, api):
        done = threading.Event()
        writers = _writers(url, done, refusals={503}, pause=0.05)
        wait_for(lambda: all(w.posts >= 3 for w in writers), 60, 'every writer acknowledged')
        seconds = services.restart_service('postgresql')
        done.set()
        fault_helpers.join_writers(writers)
        counts = fault_helpers.counts(url, writers)
        assert api.poll() is None, 'telewatch-api died'
    statuses = fault_helpers.statuses(writers)
    assert set(statuses) <= {202, 503, 'no answer'}, statuses
    assert statuses[503] > 0, 'no writer met the database away: %s' % statuses
    fault_helpers.assert_exact(counts)
    assert not _api_errors(tmp_path / 'api.log'), tmp_path / 'api.log'
    print('postgresql restart (%.1f s): %d acknowledged, %d stored, %d lost, %d duplicated; '
          'posts: %d accepted, %d refused with 503, %d unanswered' % (
              seconds, counts['acknowledged'], counts['stored'], counts['lost'],
              counts['duplicated'], statuses[202], statuses[503], statuses['no answer']))


def _kill_a_worker(master_pid):
    """SIGKILL one worker of the master; return once the master has started another."""
    workers = fault_helpers.workers(master_pid)
    assert len(workers) == 2, workers
    os.kill(workers[0].pid, signal.SIGKILL)
    wait_for(lambda: _replaced(master_pid, workers[0].pid), 30,
             'the master started another worker')


def _replaced(master_pid, killed):
    pids = {worker.pid for worker in fault_helpers.workers(master_pid)}
    return len(pids) == 2 and killed not in pids


@pytest.mark.parametrize('archive', ['file', 'postgresql'], indirect=True)
def test_a_killed_api_worker_loses_no_acknowledged_measure(archive, tmp_path):
    with api_helpers.running_api_process(tmp_path, '[api]\nworkers = 2\n' + archive) as (
            url, api):
        done = threading.Event()
        writers = _writers(url, done)
        for kill in range(KILLS):
            wait_for(lambda: all(w.posts >= 3 * (kill + 1) for w in writers), 60,
                     'every writer acknowledged')
            _kill_a_worker(api.pid)
        done.set()
        fault_helpers.join_writers(writers)
        counts = fault_helpers.counts(url, writers)
        assert api.poll() is None, 'telewatch-api died'
    statuses = fault_helpers.statuses(writers)
    assert set(statuses) <= {202, 'no answer'}, statuses
    assert statuses['no answer'] > 0, 'no request was in hand when its worker died'
    fault_helpers.assert_exact(counts)
    assert not _api_errors(tmp_path / 'api.log'), tmp_path / 'api.log'
    print('%d worker kills: %d acknowledged, %d stored, %d lost, %d duplicated; posts: %d '
          'accepted, %d unanswered' % (KILLS, counts['acknowledged'], counts['stored'],
                                       counts['lost'], counts['duplicated'], statuses[202],
                                       statuses['no answer']))


class _Sender(threading.Thread):
    """Sends ``samples`` over the bus in chunks, a pause between them, so that the stream
    outlasts a broker restart; ``sent`` counts what the broker acknowledged."""

    def __init__(self, deployment, samples, chunk, pause):
        super().__init__(daemon=True)
        self.deployment = deployment
        self.samples = samples
        self.chunk = chunk
        self.pause = pause
        self.sent = 0
        self.error = None

    def run(self):
        self.deployment.conf.set_override('output', '', group='polling')
        sender = sender_mod.make_sender(self.deployment.conf)  # one, as a polling agent's
        try:
            for start in range(0, len(self.samples), self.chunk):
                batcher = sender_mod.Batcher(sender, 50)
                batcher.add(self.samples[start:start + self.chunk])
                batcher.flush()
                self.sent += batcher.sent
                time.sleep(self.pause)
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            sender.close()


def test_over_kafka_a_broker_restart_mid_stream_loses_nothing(kafka_deployment):
    deployment = kafka_deployment
    agent = deployment.start('telewatch-agent-notification')
    samples = bus_helpers.make_samples(20000)
    sender = _Sender(deployment, samples, chunk=500, pause=0.25)
    sender.start()
    assert bus_helpers.wait_for(lambda: len(deployment.received()) > 1000, timeout=90), \
        agent.log.read_text()[-3000:]
    seconds = services.restart_service('kafka')
    assert sender.is_alive(), 'the stream ended before the broker came back'
    sender.join(timeout=300)
    assert not sender.is_alive() and sender.error is None, sender.error
    expected = {s.id for s in samples}
    assert bus_helpers.wait_for(lambda: set(deployment.received()) >= expected,
                                timeout=180), agent.log.read_text()[-3000:]
    time.sleep(1)  # any duplicate still on its way
    received = deployment.received()
    assert set(received) == expected and sender.sent == len(samples)
    assert agent.poll() is None, agent.log.read_text()[-3000:]
    status = json.loads(deployment.status.read_text())
    assert not status['rejected'] and not status['dead_lettered'], status
    print('kafka restart (%.1f s): %d acknowledged by the broker, %d stored, 0 lost, '
          '%d duplicated' % (seconds, sender.sent, len(set(received)),
                             len(received) - len(set(received))))
