"""The notification agent on a real RabbitMQ: every sample delivered exactly (or, after a
crash, at least once), bad messages rejected and counted, and the polling agent end to end.
"""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
import uuid

import oslo_messaging
import pytest

from telewatch import bus
from telewatch import messages
from telewatch import sample as sample_mod
from telewatch import service
from telewatch.polling import sender as sender_mod

BIN = pathlib.Path(sys.executable).parent
REPO = pathlib.Path(__file__).resolve().parents[2]
SECRET = 'bus-secret'
NODE = REPO / 'tests' / 'functional' / 'data' / 'libvirt-node.xml'


class Deployment:
    """A configuration with its own topic (so tests do not share queues), a pipeline that
    archives every sample to a file, and the processes started with it."""

    def __init__(self, tmp_path, rabbitmq_url):
        self.dir = tmp_path
        self.output = tmp_path / 'samples.jsonl'
        self.status = tmp_path / 'status.json'
        (tmp_path / 'pipeline.yaml').write_text(
            'sources: [{name: all, meters: ["*"], sinks: [archive]}]\n'
            'sinks: [{name: archive, publishers: ["file://%s"]}]\n' % self.output)
        self.conf_file = tmp_path / 'telewatch.conf'
        self.conf_file.write_text(
            '[DEFAULT]\ntransport_url = %s\n'
            '[publisher]\ntelemetry_secret = %s\n'
            '[bus]\nsamples_topic = test-%s\n'
            '[pipeline]\npipeline_cfg_file = %s\n'
            '[notification]\nmeters_cfg_file = %s\nbatch_size = 50\nbatch_timeout = 0.2\n'
            'status_interval = 1\nstatus_file = %s\n'
            '[compute]\nlibvirt_uri = test://%s\n' % (
                rabbitmq_url, SECRET, uuid.uuid4().hex, tmp_path / 'pipeline.yaml',
                REPO / 'etc' / 'meters.yaml', self.status, NODE))
        self.conf = service.prepare_service(['--config-file', str(self.conf_file)])
        self.processes = []

    def start(self, command, *args):
        log = open(self.dir / ('%s-%d.log' % (command, len(self.processes))), 'w')
        process = subprocess.Popen([str(BIN / command), '--config-file', str(self.conf_file),
                                    *args], stdout=subprocess.DEVNULL, stderr=log,
                                   start_new_session=True)
        process.log = pathlib.Path(log.name)
        self.processes.append(process)
        return process

    def received(self):
        """Sample ids written by the file publisher (a line cut by a crash is skipped)."""
        ids = []
        if self.output.exists():
            for line in self.output.read_text().splitlines():
                try:
                    ids.append(json.loads(line)['id'])
                except ValueError:
                    pass
        return ids

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def deployment(tmp_path, rabbitmq_url):
    deployment = Deployment(tmp_path, rabbitmq_url)
    yield deployment
    deployment.stop_all()


def wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def make_samples(count):
    return [sample_mod.Sample.create('cpu', 'cumulative', 'ns', index, 'vm-%d' % (index % 97),
                                     timestamp='2026-11-01T00:00:00Z')
            for index in range(count)]


def send(deployment, samples, batch=50):
    sender = sender_mod.BusSender(SECRET, deployment.conf)
    for start in range(0, len(samples), batch):
        sender.send(samples[start:start + batch])
    sender.close()


def test_every_sample_is_delivered_exactly_once(deployment):
    agent = deployment.start('telewatch-agent-notification')
    samples = make_samples(5000)
    send(deployment, samples)
    expected = sorted(s.id for s in samples)
    assert wait_for(lambda: len(deployment.received()) >= len(expected)), agent.log.read_text()
    time.sleep(1)
    assert sorted(deployment.received()) == expected
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0


def _raw_notifier(deployment):
    transport = bus.get_transport(deployment.conf)
    return transport, oslo_messaging.Notifier(transport, 'tests.bad', driver='messagingv2',
                                              topics=bus.topics(deployment.conf))


def test_bad_messages_are_rejected_counted_and_the_agent_goes_on(deployment):
    agent = deployment.start('telewatch-agent-notification')
    good = make_samples(10)
    envelope = messages.encode_batch(good[:1], SECRET)
    tampered = dict(envelope, payload=envelope['payload'].replace('"volume":0.0',
                                                                  '"volume":5.0'))
    transport, notifier = _raw_notifier(deployment)
    for event_type, payload in (
            ('telewatch.samples', tampered),
            ('telewatch.samples', messages.encode_batch(good[:1], 'another secret')),
            ('telewatch.samples', dict(envelope, version=2)),
            ('telewatch.samples', 'not an envelope'),
            ('telewatch.samples', dict(envelope, payload='[{"name": "cpu"}]',
                                       signature='')),
            ('something.else', envelope),
            ('telemetry.polling', {'samples': [good[0].to_ceilometer_dict()]})):
        notifier.sample({}, event_type, payload)
    transport.cleanup()
    send(deployment, good)
    assert wait_for(lambda: len(deployment.received()) == 10), agent.log.read_text()
    assert wait_for(lambda: deployment.status.exists() and json.loads(
        deployment.status.read_text())['rejected'] == {'signature': 4, 'version': 1,
                                                       'format': 2}), \
        deployment.status.read_text() if deployment.status.exists() else agent.log.read_text()
    assert agent.poll() is None
    assert sorted(deployment.received()) == sorted(s.id for s in good)


def test_a_killed_agent_loses_nothing(deployment):
    samples = make_samples(20000)
    send(deployment, samples)
    first = deployment.start('telewatch-agent-notification')
    assert wait_for(lambda: len(deployment.received()) > 2000), first.log.read_text()
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    delivered_before = len(deployment.received())
    deployment.start('telewatch-agent-notification')
    assert wait_for(lambda: set(deployment.received()) >= {s.id for s in samples},
                    timeout=120)
    received = deployment.received()
    assert delivered_before < len(samples), 'the agent was killed after the whole stream'
    duplicates = len(received) - len(set(received))
    assert set(received) == {s.id for s in samples}
    print('redelivered duplicates after SIGKILL: %d' % duplicates)


def test_polling_agent_to_notification_agent_end_to_end(deployment):
    polling_file = deployment.dir / 'polling.yaml'
    polling_file.write_text('sources:\n  - {name: instances, interval: 1, meters: ["*"]}\n')
    agent = deployment.start('telewatch-agent-notification')
    poller = deployment.start('telewatch-polling', '--namespace', 'compute',
                              '--polling-file', str(polling_file))
    assert wait_for(lambda: len(deployment.received()) > 300), poller.log.read_text()
    poller.send_signal(signal.SIGTERM)
    assert poller.wait(timeout=30) == 0
    polled = sum(int(n) for n in re.findall(r'polled (\d+) samples', poller.log.read_text()))
    assert polled > 0
    assert wait_for(lambda: len(deployment.received()) >= polled)
    time.sleep(1)
    received = deployment.received()
    assert len(received) == len(set(received)) == polled
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
