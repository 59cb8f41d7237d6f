"""The leak check (tests.functional.leaks) sees what a test leaves on each real service, names
the test, and forgets what was removed."""

import os
import tempfile

import kafka
import kombu
import redis

from tests.functional import leaks
from tests.functional import services
from tests.functional.bus_helpers import delete_queues, wait_for

FIXTURES = ['kafka_bootstrap', 'rabbitmq_url', 'redis_url']


def test_what_a_test_leaves_is_reported_with_the_test_until_it_is_removed(
        kafka_bootstrap, kafka_topics, rabbitmq_url, redis_url):
    check = leaks.LeakCheck()
    listings = check.listings(FIXTURES)
    check.before(listings)

    name = services.unique('telewatch-leak')
    topic = kafka_topics.new('leak')
    producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        producer.send(topic, b'x').get(timeout=30)
    finally:
        producer.close()
    with kombu.Connection(rabbitmq_url.replace('rabbit://', 'amqp://'),
                          connect_timeout=10) as conn:
        kombu.Queue(name, durable=False, channel=conn.channel()).declare()
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    client.set(name, 'left')
    client.set(name + '-expiring', 'goes by itself', ex=60)
    path = os.path.join(tempfile.gettempdir(), name)
    with open(path, 'w'):
        pass
    mine = {topic, name, name + '-expiring', path}
    try:
        check.after(listings, 'the test')
        # (another session may be making names of its own meanwhile)
        assert [item for item in check.leaked().get('the test', []) if item[1] in mine] == [
            ('kafka topic', topic), ('rabbitmq queue', name), ('redis key', name),
            ('temporary file', path)]
    finally:
        services.delete_kafka_topics(kafka_bootstrap, [topic])
        delete_queues(rabbitmq_url, [name])
        client.delete(name, name + '-expiring')
        client.close()
        os.remove(path)
    # Kafka may list a deleted topic for a moment.
    assert wait_for(lambda: not any(item[1] in mine for items in check.leaked().values()
                                    for item in items), timeout=30)
