"""What the functional tests of the bus share: a deployment (configuration with its own
topic, a pipeline writing to files, the processes started with it) and a way to send."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.parse

import kombu
import pytest

from telewatch import bus
from telewatch import sample as sample_mod
from telewatch import service
from telewatch.polling import sender as sender_mod
from tests.functional import services

BIN = pathlib.Path(sys.executable).parent
REPO = pathlib.Path(__file__).resolve().parents[2]
SECRET = 'bus-secret'
NODE = REPO / 'tests' / 'functional' / 'data' / 'libvirt-node.xml'
ARCHIVE_ALL = 'sources: [{name: all, meters: ["*"], sinks: [archive]}]\n' \
              'sinks: [{name: archive, publishers: ["file://%(dir)s/samples.jsonl"]}]\n'


class Deployment:
    """A configuration with its own topic (so tests do not share queues), a pipeline that
    archives every sample to a file, and the processes started with it."""

    def __init__(self, tmp_path, rabbitmq_url, pipeline=ARCHIVE_ALL, extra='',
                 kafka_bootstrap=None):
        self.dir = tmp_path
        self.output = tmp_path / 'samples.jsonl'
        self.status = tmp_path / 'status.json'
        (tmp_path / 'pipeline.yaml').write_text(pipeline % {'dir': tmp_path})
        # Its own notifications topic too: tests never read each other's notifications, and
        # every queue or topic of the deployment has a name of its own, deleted at its end.
        self.notifications_topic = services.unique('test-notifications')
        self.conf_file = tmp_path / 'telewatch.conf'
        self.conf_file.write_text((
            '[DEFAULT]\ntransport_url = %s\n'
            '[publisher]\ntelemetry_secret = %s\n'
            '[bus]\nsamples_topic = %s\n'
            '[pipeline]\npipeline_cfg_file = %s\n'
            '[notification]\nmeters_cfg_file = %s\nbatch_size = 50\nbatch_timeout = 0.2\n'
            'status_interval = 1\nstatus_file = %s\nnotifications_topic = %s\n'
            '[compute]\nlibvirt_uri = test://%s\n' % (
                'kafka://%s/' % kafka_bootstrap if kafka_bootstrap else rabbitmq_url,
                SECRET, services.unique('test'), tmp_path / 'pipeline.yaml',
                REPO / 'etc' / 'meters.yaml', self.status, self.notifications_topic,
                NODE)) + extra)
        self.conf = service.prepare_service(['--config-file', str(self.conf_file)])
        self.rabbitmq_url = rabbitmq_url
        self.kafka_bootstrap = kafka_bootstrap
        self.processes = []

    def start(self, command, *args, conf_text=None):
        """Start a process; ``conf_text`` goes into a second configuration file of its own,
        which overrides the shared one."""
        number = len(self.processes)
        files = ['--config-file', str(self.conf_file)]
        if conf_text is not None:
            own = self.dir / ('%s-%d.conf' % (command, number))
            own.write_text(conf_text)
            files += ['--config-file', str(own)]
        log = open(self.dir / ('%s-%d.log' % (command, number)), 'w')
        process = subprocess.Popen([str(BIN / command), *files, *args],
                                   stdout=subprocess.DEVNULL, stderr=log,
                                   start_new_session=True)
        process.log = pathlib.Path(log.name)
        self.processes.append(process)
        return process

    def received(self, name='samples.jsonl', field='id'):
        """``field`` of every sample in a file the pipeline wrote (a line cut by a crash is
        skipped: its sample was not acknowledged and comes again)."""
        found = []
        path = self.dir / name
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                found.append(record[field] if field else record)
        return found

    def stop_all(self):
        """Kill the processes, then delete this deployment's queues from RabbitMQ (left
        behind, they add up to hundreds, and a broker restart recovers each of them), or its
        topics from Kafka."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        topics = bus.topics(self.conf) + [self.notifications_topic]
        names = ['%s.%s' % (topic, priority) for topic in topics for priority in PRIORITIES]
        if self.kafka_bootstrap is None:
            delete_queues(self.rabbitmq_url, names)
        else:
            # On Kafka the samples travel on the topic itself, notifications on topic.priority.
            kafka_topics = services.KafkaTopics(self.kafka_bootstrap)
            kafka_topics.add(*topics, *names)
            kafka_topics.delete()


PRIORITIES = ('sample', 'info', 'warn', 'error')  # the notification agent's queues per topic


def delete_queues(rabbitmq_url, names):
    """Delete these queues if they exist (quietly: the broker may be gone)."""
    url = urllib.parse.urlsplit(rabbitmq_url)
    try:
        with kombu.Connection(url._replace(scheme='amqp').geturl(), connect_timeout=5) as conn:
            channel = conn.channel()
            for name in names:
                channel.queue_delete(queue=name)
    except Exception as exc:  # a test's clean-up must not hide the test's own result
        print('cannot delete the queues of the test: %s' % exc)


@pytest.fixture
def deployment(tmp_path, rabbitmq_url):
    """A Deployment archiving every sample to samples.jsonl; its processes are killed at
    the end of the test."""
    deployment = Deployment(tmp_path, rabbitmq_url)
    yield deployment
    deployment.stop_all()


@pytest.fixture
def kafka_deployment(tmp_path, rabbitmq_url, kafka_bootstrap):
    """A Deployment on the Kafka broker (transport_url = kafka://...)."""
    deployment = Deployment(tmp_path, rabbitmq_url, kafka_bootstrap=kafka_bootstrap)
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


def send(deployment, samples, batch=50, in_flight=1):
    """Send as a polling agent's cycle does (the bus its transport_url names), with
    ``in_flight`` batches on their way at once. The batches of one Batcher may then arrive
    in any order, as those of one polling cycle may: with samples of several cycles, keep
    1 (the polling agent flushes each cycle before the next)."""
    deployment.conf.set_override('output', '', group='polling')
    sender = sender_mod.make_sender(deployment.conf)
    batcher = sender_mod.Batcher(sender, batch, in_flight)
    batcher.add(samples)
    batcher.flush()
    sender.close()
