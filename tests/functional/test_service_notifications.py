"""Other services' notifications become samples through etc/meters.yaml, on both transports.

Nova's side is oslo.messaging's own Notifier (driver messagingv2), as Nova publishes with a
rabbit:// or kafka:// transport_url: on RabbitMQ to exchange ``nova``, topic
``notifications``; on Kafka to topic ``notifications.info`` in the oslo.message envelope.
Each deployment uses its own notifications topic, so that tests never read each other's.
"""

import json
import signal

import kafka
import oslo_messaging
from oslo_config import cfg

from telewatch import bus
from telewatch.kafka import bus as kafka_bus
from tests.functional.bus_helpers import wait_for

INSTANCE = '9d3c8a0e-5d6c-4b1f-a0b2-3c4d5e6f7a8b'
NOVA_CREATE_END_PAYLOAD = {
    'tenant_id': '6c2a5fd6a3ac4c6e9ab6f5b39c3f5e21',
    'user_id': '0f5b2a3c1d4e4f6a8b9c0d1e2f3a4b5c',
    'instance_id': INSTANCE, 'display_name': 'web-01', 'host': 'cmp-07',
    'instance_type': 'm1.small', 'instance_flavor_id': '2', 'memory_mb': 2048,
    'root_gb': 20, 'ephemeral_gb': 1, 'vcpus': 2, 'state': 'active',
    'created_at': '2024-05-14 09:30:41+00:00', 'launched_at': '2024-05-14T09:31:06.881904',
    'deleted_at': '', 'image_meta': {'base_image_ref': 'c1a7e0f2'},
}
EXPECTED = {'instance': 1.0, 'memory': 2048.0, 'vcpus': 2.0, 'disk.root.size': 20.0,
            'disk.ephemeral.size': 1.0}


def nova_notifier(transport_url, topic):
    """oslo.messaging's Notifier as Nova builds it (control_exchange nova), with RabbitMQ's
    exchanges durable as telewatch declares them: a service and telewatch must agree on
    [oslo_messaging_rabbit] amqp_durable_queues, or the second to declare the shared
    exchange is refused (doc/notification.md)."""
    conf = cfg.ConfigOpts()
    bus.register_transport_opts(conf)
    conf([], project='nova', default_config_files=[])
    conf.set_override('control_exchange', 'nova')
    transport = oslo_messaging.get_notification_transport(conf, url=transport_url)
    if 'oslo_messaging_rabbit' in conf:  # registered by the driver; read at first send
        conf.set_override('amqp_durable_queues', True, group='oslo_messaging_rabbit')
    return transport, oslo_messaging.Notifier(transport, 'compute.cmp-07',
                                              driver='messagingv2', topics=[topic])


def instance_samples(deployment):
    return {record['name']: record for record in deployment.received(field=None)
            if record['resource_id'] == INSTANCE}


def status(deployment):
    return json.loads(deployment.status.read_text()) if deployment.status.exists() else {}


def check_nova_samples(deployment, agent):
    assert wait_for(lambda: instance_samples(deployment).keys() == EXPECTED.keys()), \
        agent.log.read_text()[-3000:]
    samples = instance_samples(deployment)
    assert {name: s['volume'] for name, s in samples.items()} == EXPECTED
    assert samples['instance']['project_id'] == NOVA_CREATE_END_PAYLOAD['tenant_id']
    assert samples['memory']['resource_metadata']['flavor_name'] == 'm1.small'


def test_over_kafka_nova_notifications_become_samples_and_bad_records_are_counted(
        kafka_deployment, kafka_bootstrap):
    deployment = kafka_deployment
    topic = deployment.notifications_topic
    # Published before any agent ran: a new consumer group starts at the earliest offset.
    raw = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap, acks='all')
    raw.send(topic + '.info', b'not JSON').get(timeout=30)
    raw.send(topic + '.info', json.dumps({'oslo.version': '2.0', 'oslo.message': json.dumps(
        {'no': 'event type'})}).encode()).get(timeout=30)
    transport, notifier = nova_notifier('kafka://%s/' % kafka_bootstrap, topic)
    notifier.info({'user': 'nova'}, 'compute.instance.create.end', NOVA_CREATE_END_PAYLOAD)
    transport.cleanup()  # flushes the driver's producer
    agent = deployment.start('telewatch-agent-notification')
    check_nova_samples(deployment, agent)
    assert wait_for(lambda: status(deployment).get('rejected') == {'format': 2}), \
        agent.log.read_text()[-3000:]
    assert 'kafka:%s.info:' % topic in agent.log.read_text()  # where the bad records were

    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
    # Offsets were committed once the samples were taken: nothing is delivered again.
    consumer = kafka.KafkaConsumer(bootstrap_servers=kafka_bootstrap,
                                   group_id=kafka_bus.consumer_group(deployment.conf),
                                   enable_auto_commit=False)
    try:
        partitions = [kafka.TopicPartition(topic + '.info', p)
                      for p in consumer.partitions_for_topic(topic + '.info')]
        ends = consumer.end_offsets(partitions)
        assert {tp: consumer.committed(tp) or 0 for tp in partitions} == ends
    finally:
        consumer.close()
        raw.close()


def test_over_rabbitmq_nova_notifications_become_samples(deployment, rabbitmq_url):
    topic = deployment.notifications_topic
    agent = deployment.start('telewatch-agent-notification')
    assert wait_for(lambda: 'consuming' in agent.log.read_text()), agent.log.read_text()
    transport, notifier = nova_notifier(rabbitmq_url, topic)
    notifier.info({'user': 'nova'}, 'compute.instance.create.end', NOVA_CREATE_END_PAYLOAD)
    transport.cleanup()
    check_nova_samples(deployment, agent)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
