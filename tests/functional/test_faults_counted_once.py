"""Fault suite: a rejection is counted once across a kill of the agent (issue 19 §4).

The notification agent has in hand, in one batch, a message it rejects and a message whose
samples a publisher holds (tests.functional.faulty_publisher): the rejection is not counted
yet, since the batch is neither acknowledged (RabbitMQ) nor committed (Kafka). The agent is
killed (SIGKILL); the broker delivers both again to a new agent, which counts the rejection
(and the sample refused out of the held message) once. In all: counted once, none lost.
"""

import os
import signal
import time

import kafka
import oslo_messaging

from telewatch import bus
from telewatch import messages
from tests.functional import faulty_publisher
from tests.functional.bus_helpers import SECRET, Deployment, make_samples, wait_for
from tests.functional.test_faults_poison import committed_everything, counts, nul_batch

HOLDING = ('sources: [{name: all, meters: ["*"], sinks: [out]}]\n'
           'sinks: [{name: out, publishers: ["faulty://%(dir)s/samples.jsonl'
           '?hold=%(dir)s/hold"]}]\n')
NOTHING = {'rejected': {}, 'rejected_samples': {}, 'dead_lettered': {}}
ONCE = {'rejected': {'signature': 1}, 'rejected_samples': {'sample': 1}, 'dead_lettered': {}}


def held_message():
    """Signed samples, one held by the publisher, one no backend can store (refused)."""
    samples = nul_batch(3, at=2)
    samples[0] = samples[0]._replace(resource_id='hold-0')
    return samples, messages.encode_batch(samples, SECRET)


def forged():
    return messages.encode_batch(make_samples(2), 'another secret')


def deployment_with_plugin(tmp_path, monkeypatch, rabbitmq_url, kafka_bootstrap=None):
    monkeypatch.setenv('PYTHONPATH', faulty_publisher.install(tmp_path / 'plugin'))
    (tmp_path / 'hold').touch()
    return Deployment(tmp_path, rabbitmq_url, pipeline=HOLDING,
                      kafka_bootstrap=kafka_bootstrap)


def start_agent(deployment, started='consuming'):
    agent = deployment.start('telewatch-agent-notification',
                             conf_text='[DEFAULT]\ndata_dir = %s\n' % deployment.dir)
    assert wait_for(lambda: started in agent.log.read_text()), agent.log.read_text()
    return agent


def kill_while_held(deployment, agent):
    """SIGKILL the agent once it holds the batch and wrote its status since; its counts."""
    assert wait_for(lambda: 'holding' in agent.log.read_text()), agent.log.read_text()[-3000:]
    held_since = time.time()
    assert wait_for(lambda: deployment.status.exists()
                    and deployment.status.stat().st_mtime > held_since + 1)
    before = counts(deployment)
    os.killpg(agent.pid, signal.SIGKILL)
    agent.wait()
    deployment.status.unlink()
    (deployment.dir / 'hold').unlink()
    return before


def check_counted_once_in_all(deployment, agent, before, good):
    assert wait_for(lambda: sorted(deployment.received()) == sorted(good)), \
        agent.log.read_text()[-3000:]
    assert wait_for(lambda: counts(deployment) == ONCE), (counts(deployment),
                                                          agent.log.read_text()[-3000:])
    time.sleep(2)  # nothing comes again, nothing is counted twice
    assert counts(deployment) == ONCE and sorted(deployment.received()) == sorted(good)
    assert agent.poll() is None and 'Traceback' not in agent.log.read_text()
    print('killed holding the batch: counted %s before the kill, %s after it'
          % (before, counts(deployment)))


def test_over_rabbitmq_a_rejection_is_counted_once_across_a_kill(
        tmp_path, monkeypatch, rabbitmq_url):
    deployment = deployment_with_plugin(tmp_path, monkeypatch, rabbitmq_url)
    try:
        # An agent declares the queue and goes: the two messages wait there, and the next
        # agent's first batch holds both (sent while it consumes, they might not).
        declaring = start_agent(deployment)
        declaring.send_signal(signal.SIGTERM)
        assert declaring.wait(30) == 0
        transport = bus.get_transport(deployment.conf)
        notifier = oslo_messaging.Notifier(transport, 'tests.counted-once',
                                           driver='messagingv2',
                                           topics=bus.topics(deployment.conf))
        samples, held = held_message()
        notifier.sample({}, messages.SAMPLES_EVENT_TYPE, forged())
        notifier.sample({}, messages.SAMPLES_EVENT_TYPE, held)
        transport.cleanup()
        agent = start_agent(deployment)
        before = kill_while_held(deployment, agent)
        assert before == NOTHING, before  # in hand, not acknowledged: not counted yet
        again = start_agent(deployment)
        check_counted_once_in_all(deployment, again, before, [s.id for s in samples[:2]])
    finally:
        deployment.stop_all()


def test_over_kafka_a_rejection_is_counted_once_across_a_kill(
        tmp_path, monkeypatch, rabbitmq_url, kafka_bootstrap):
    deployment = deployment_with_plugin(tmp_path, monkeypatch, rabbitmq_url, kafka_bootstrap)
    try:
        topic = deployment.conf.bus.samples_topic
        producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap, acks='all')
        samples, held = held_message()
        # One partition, in this order: the agent's first poll reads both.
        for envelope in (forged(), held):
            producer.send(topic, messages.dumps(envelope), partition=0).get(timeout=30)
        producer.close()
        agent = start_agent(deployment, 'consuming Kafka topics')
        before = kill_while_held(deployment, agent)
        assert before == NOTHING, before  # polled, not committed: not counted yet
        again = start_agent(deployment, 'consuming Kafka topics')
        check_counted_once_in_all(deployment, again, before, [s.id for s in samples[:2]])
        assert wait_for(lambda: committed_everything(deployment, kafka_bootstrap, [topic])[0])
    finally:
        deployment.stop_all()
