"""Kafka bus: the topics and records of other services' notifications, as oslo.messaging's
Kafka driver writes them."""

import json
import types

import pytest

from telewatch import kafka_bus


def conf(url, topic='notifications'):
    return types.SimpleNamespace(transport_url=url,
                                 notification=types.SimpleNamespace(notifications_topic=topic))


@pytest.mark.parametrize('url, expected', [
    ('kafka://127.0.0.1:9092/', {'notifications.info': 'info', 'notifications.sample': 'sample'}),
    ('kafka://a:9092,b:9092', {'notifications.info': 'info', 'notifications.sample': 'sample'}),
    ('kafka://u:p@a:9092/prod', {'notifications.info.prod': 'info',
                                 'notifications.sample.prod': 'sample'}),
])
def test_notification_topics_are_named_as_the_oslo_kafka_driver_names_them(url, expected):
    assert kafka_bus.notification_topics(conf(url), ['info', 'sample']) == expected


NOTIFICATION = {'message_id': 'm-1', 'publisher_id': 'compute.cmp-07',
                'event_type': 'compute.instance.create.end', 'priority': 'INFO',
                'payload': {'instance_id': 'i-1'}, 'timestamp': '2024-05-14 09:31:07.412537',
                '_context': {'user': 'nova'}}


def test_a_messagingv2_record_is_unwrapped_from_its_envelope():
    record = json.dumps({'oslo.version': '2.0', 'oslo.message': json.dumps(NOTIFICATION)})
    assert kafka_bus.oslo_notification(record.encode()) == NOTIFICATION


def test_a_bare_notification_is_taken_as_it_is():
    assert kafka_bus.oslo_notification(json.dumps(NOTIFICATION).encode()) == NOTIFICATION


@pytest.mark.parametrize('value', [
    b'not JSON',
    b'[1, 2]',
    json.dumps({'payload': {}}).encode(),
    json.dumps({'oslo.version': '3.0', 'oslo.message': json.dumps(NOTIFICATION)}).encode(),
    json.dumps({'oslo.version': '2.0', 'oslo.message': 'not JSON'}).encode(),
    None,
])
def test_what_is_not_a_notification_is_a_value_error(value):
    with pytest.raises((TypeError, ValueError)):
        kafka_bus.oslo_notification(value)
