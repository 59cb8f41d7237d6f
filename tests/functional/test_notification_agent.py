"""The notification agent on a real RabbitMQ: every sample delivered exactly (or, after a
crash, at least once), bad messages rejected and counted, and the polling agent end to end.
"""

import json
import os
import re
import signal
import threading
import time

import oslo_messaging

from telewatch import bus
from telewatch import messages
from tests.functional.bus_helpers import SECRET, make_samples, send, wait_for
from tests.functional.services import restart_service


def test_every_sample_is_delivered_exactly_once(deployment):
    agent = deployment.start('telewatch-agent-notification')
    samples = make_samples(5000)
    send(deployment, samples, in_flight=4)
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
    forged = messages.encode_batch([good[0]._replace(volume=5.0)], 'guessed secret')
    tampered = dict(envelope, payload=forged['payload'])  # other samples, old signature
    transport, notifier = _raw_notifier(deployment)
    for event_type, payload in (
            ('telewatch.samples', tampered),
            ('telewatch.samples', messages.encode_batch(good[:1], 'another secret')),
            ('telewatch.samples', dict(envelope, version=3)),
            ('telewatch.samples', 'not an envelope'),
            ('telewatch.samples', messages.encode_batch(good[:1], '')),  # unsigned
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


def test_reload_rejects_a_bad_pipeline_and_swaps_a_good_one_without_loss(deployment):
    agent = deployment.start('telewatch-agent-notification')
    first = make_samples(300)
    send(deployment, first)
    assert wait_for(lambda: len(deployment.received()) == 300), agent.log.read_text()

    pipeline = deployment.dir / 'pipeline.yaml'
    good = pipeline.read_text()
    pipeline.write_text(good.replace('sinks: [archive]', 'sinks: [nowhere]'))
    agent.send_signal(signal.SIGHUP)
    assert wait_for(lambda: 'the new configuration is rejected' in agent.log.read_text())
    assert "unknown sink 'nowhere'" in agent.log.read_text()
    second = make_samples(300)
    send(deployment, second)
    assert wait_for(lambda: len(deployment.received()) == 600)

    pipeline.write_text(good.replace('samples.jsonl', 'after-reload.jsonl'))
    agent.send_signal(signal.SIGHUP)
    third = make_samples(3000)
    send(deployment, third)  # sent while the pipeline is swapped
    everything = {s.id for s in first + second + third}
    assert wait_for(lambda: set(deployment.received()) | set(
        deployment.received('after-reload.jsonl')) == everything), agent.log.read_text()
    assert deployment.received('after-reload.jsonl')
    assert agent.poll() is None


def test_a_broker_restart_mid_stream_loses_nothing(deployment):
    agent = deployment.start('telewatch-agent-notification')
    samples = make_samples(30000)
    sender = threading.Thread(target=send, args=(deployment, samples),
                              kwargs={'in_flight': 4})
    sender.start()
    assert wait_for(lambda: len(deployment.received()) > 1000), agent.log.read_text()
    seconds = restart_service('rabbitmq')
    sender.join(timeout=300)
    assert not sender.is_alive()
    assert wait_for(lambda: set(deployment.received()) >= {s.id for s in samples},
                    timeout=180), agent.log.read_text()[-3000:]
    received = deployment.received()
    print('broker restart took %.1f s; %d duplicates' % (seconds, len(received) -
                                                         len(set(received))))
    assert agent.poll() is None


def test_over_kafka_every_sample_arrives_and_a_killed_agent_loses_nothing(kafka_deployment):
    deployment = kafka_deployment
    samples = make_samples(20000)
    send(deployment, samples)
    first = deployment.start('telewatch-agent-notification')
    assert wait_for(lambda: len(deployment.received()) > 1000, timeout=90), \
        first.log.read_text()[-3000:]
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    deployment.start('telewatch-agent-notification')
    assert wait_for(lambda: set(deployment.received()) >= {s.id for s in samples},
                    timeout=120)
    assert set(deployment.received()) == {s.id for s in samples}


def test_over_kafka_the_polling_agent_end_to_end(kafka_deployment):
    test_polling_agent_to_notification_agent_end_to_end(kafka_deployment)
