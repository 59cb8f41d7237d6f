"""The alarm evaluator on a real archive (SQLite and files; PostgreSQL), with the real
processor, the real alarm store, the real http notifier and a local HTTP webhook: a
breaching measure fires the alarm within seconds and back to ok; an alarm whose data
cannot be read keeps its state with a reason; two evaluators on the real Redis share the
alarms, none evaluated by both."""

import contextlib
import http.server
import json
import queue
import signal
import subprocess
import threading
import time
import uuid

import numpy
import pytest
import redis

from telewatch import service
from telewatch.alarms.evaluator import evaluator as evaluator_mod
from telewatch.alarms.evaluator import partition as partition_mod
from telewatch.alarms.storage import store as alarm_store_mod
from telewatch.archive import policy as policy_mod
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod
from tests.functional import services

POLICY = policy_mod.ArchivePolicy('alarm-test', 0, ['mean', 'last', 'max'],
                                  [{'granularity': 60, 'points': 60}])
LATENCY = 5.0  # seconds from a measure written to its webhook, with room for a busy host


@pytest.fixture(params=['sqlite', 'postgresql'])
def conf(request, tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('processing_delay', 0.1, group='archive')
    conf.set_override('feed_interval', 0.1, group='alarms')
    conf.set_override('evaluation_interval', 1.0, group='alarms')
    conf.set_override('allowed_targets', ['127.0.0.1:*'], group='alarms')
    if request.param == 'sqlite':
        yield conf
        return
    url = request.getfixturevalue('postgresql_url')
    with services.scratch_database(url, 'tw_alarms') as database:
        conf.set_override('index_url', database, group='archive')
        conf.set_override('storage_url', database, group='archive')
        yield conf


@pytest.fixture
def archive(conf):
    archive = store_mod.ArchiveStore.from_conf(conf)
    archive.upgrade()
    archive.index.create_archive_policy(POLICY)
    yield archive
    archive.close()


@pytest.fixture
def alarms(conf, archive):
    store = alarm_store_mod.AlarmStore.from_conf(conf)
    store.upgrade()
    yield store
    store.close()


class Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        self.send_response(200)
        self.end_headers()
        self.server.received.put((time.monotonic(), body))

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Webhook)
    server.received = queue.Queue()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def resource(archive):
    rid = str(uuid.uuid4())
    metric = archive.new_metric('admin', 'cpu', rid, POLICY.name)
    archive.index.create_resource('generic', rid, rid, 'admin', 'u', 'p', {},
                                  metrics={'cpu': metric})
    return rid, metric.id


def new_alarm(alarms, rid, url, state='ok'):
    return alarms.create({
        'name': 'scale-up-%s' % rid[:8], 'type': 'gnocchi_resources_threshold',
        'project_id': 'p', 'user_id': 'u', 'state': state, 'enabled': True,
        'alarm_actions': [url + '/up'], 'ok_actions': [url + '/down'],
        'insufficient_data_actions': [], 'repeat_actions': False, 'severity': 'low',
        'time_constraints': [],
        'rule': {'threshold': 90.0, 'comparison_operator': 'gt', 'evaluation_periods': 1,
                 'granularity': 60, 'aggregation_method': 'last', 'metric': 'cpu',
                 'resource_id': rid, 'resource_type': 'generic'}})


def write(archive, metric_id, value):
    archive.add_measures({metric_id: (numpy.array([int(time.time() * 1e9)]),
                                      numpy.array([value]))})
    return time.monotonic()


def wait_for(predicate, timeout=30, what='the condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError('%s did not happen in %d s' % (what, timeout))


@contextlib.contextmanager
def running(conf, archive, *parts):
    processor = processor_mod.ArchiveProcessor(conf, archive)
    processor.start()
    for part in parts:
        part.start()
    try:
        yield processor
    finally:
        for part in parts:
            part.stop()
        processor.stop()
    assert not processor.loop_errors
    for part in parts:
        assert not part.loop_errors, part.loop_errors


def test_a_breaching_measure_calls_the_webhook_within_seconds(conf, archive, alarms,
                                                              webhook):
    url = 'http://127.0.0.1:%d' % webhook.server_address[1]
    rid, metric = resource(archive)
    alarm = new_alarm(alarms, rid, url, state='insufficient data')
    write(archive, metric, 10.0)
    evaluator = evaluator_mod.AlarmEvaluator(conf, archive=archive)
    with running(conf, archive, evaluator):
        _, body = webhook.received.get(timeout=30)
        assert (body['previous'], body['current']) == ('insufficient data', 'ok')
        written = write(archive, metric, 99.0)
        arrived, body = webhook.received.get(timeout=30)
        assert arrived - written < LATENCY
        assert body['alarm_id'] == alarm['alarm_id']
        assert (body['previous'], body['current']) == ('ok', 'alarm')
        assert body['reason'] == ('Transition to alarm due to 1 samples outside threshold, '
                                  'most recent: 99.0')
        written = write(archive, metric, 10.0)  # the same period: the last value counts
        arrived, body = webhook.received.get(timeout=30)
        assert arrived - written < LATENCY
        assert (body['previous'], body['current']) == ('alarm', 'ok')
        assert alarms.get(alarm['alarm_id'])['state'] == 'ok'
        history = wait_for(lambda: [h for h in alarms.history(alarm['alarm_id'])
                                    if h['type'] == 'action'][2:], what='the action history')
        assert {json.loads(h['detail'])['outcome'] for h in history} == {'delivered'}
    assert webhook.received.empty(), 'each transition called its actions once'


def test_an_alarm_whose_data_cannot_be_read_keeps_its_state(conf, archive, alarms, webhook):
    url = 'http://127.0.0.1:%d' % webhook.server_address[1]
    rid, metric = resource(archive)
    alarm = new_alarm(alarms, rid, url, state='alarm')
    archive.delete_resource(rid)
    evaluator = evaluator_mod.AlarmEvaluator(conf, archive=archive)
    with running(conf, archive, evaluator):
        found = wait_for(lambda: alarms.get(alarm['alarm_id'])['state_reason'].startswith(
            'State kept'), what='the reason')
        assert found
        stored = alarms.get(alarm['alarm_id'])
        assert stored['state'] == 'alarm'
        assert stored['state_reason'] == (
            'State kept: the datapoints cannot be read (resource %s does not exist)' % rid)
        assert stored['reason_data']['type'] == 'unreadable'
    assert webhook.received.empty()
    assert evaluator.counters['unreadable'] >= 1


def forget_group(redis_url, group):
    # tooz's Redis driver keeps a group its members left: a hash, and its name in a set.
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    try:
        client.srem('_tooz_groups', group)
        client.delete('_tooz_group:%s' % group)
    finally:
        client.close()


def test_two_evaluators_share_the_alarms(request, conf, archive, alarms, webhook, redis_url):
    url = 'http://127.0.0.1:%d' % webhook.server_address[1]
    created = {new_alarm(alarms, resource(archive)[0], url)['alarm_id'] for _ in range(40)}
    group = 'telewatch.alarms.evaluator.test-%s' % uuid.uuid4().hex[:8]
    request.addfinalizer(lambda: forget_group(redis_url, group))
    rings = [partition_mod.HashRing(redis_url, group.encode()) for _ in range(2)]
    evaluators = [evaluator_mod.AlarmEvaluator(conf, archive=archive, partition=ring)
                  for ring in rings]
    with running(conf, archive, *evaluators):
        # Once each has seen the other join, their shares are disjoint and cover all.
        def settled():
            shares = [set(e.watch.plans) | set(e.watch.invalid) for e in evaluators]
            return (all(shares) and not shares[0] & shares[1]
                    and shares[0] | shares[1] == created and shares)
        shares = wait_for(settled, what='two disjoint shares')
        before = [dict(e.counters) for e in evaluators]
        time.sleep(2.5)  # two ticks more: still disjoint
        assert settled() == shares
        for evaluator, counted in zip(evaluators, before):
            assert evaluator.counters['ticks'] > counted['ticks']
    assert all(len(share) >= 5 for share in shares), [len(s) for s in shares]


def test_the_daemon_asks_for_upgrade_then_runs_and_stops_cleanly(tmp_path):
    config = tmp_path / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n[alarms]\nevaluation_interval = 0.5\n'
                      % tmp_path)
    command = ['telewatch-alarm-evaluator', '--config-file', str(config)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert 'run telewatch-upgrade first' in refused.stderr
    subprocess.run(['telewatch-upgrade', '--config-file', str(config)], check=True,
                   capture_output=True, timeout=120)
    daemon = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    time.sleep(10)  # started, a few ticks
    daemon.send_signal(signal.SIGTERM)
    _, stderr = daemon.communicate(timeout=60)
    assert daemon.returncode == 0
    assert ' ERROR ' not in stderr, stderr
