"""The real services of tests/functional/services.py answer real clients.

Each test talks to its service the way the project does: AMQP with kombu (under
oslo.messaging), Redis with redis-py (under tooz), PostgreSQL with psycopg2, Kafka with
kafka-python.
"""

import subprocess
import time
import urllib.parse
import uuid

import kafka
import kombu
import psycopg2
import redis
import requests

from tests.functional import services
from tests.functional.services import restart_service


def _kombu_url(rabbitmq_url):
    # oslo.messaging's rabbit://user:pass@host:port/vhost is kombu's amqp://...; an empty
    # path is the default vhost '/'.
    parts = urllib.parse.urlsplit(rabbitmq_url)
    vhost = parts.path[1:] or '/'
    return 'amqp://%s/%s' % (parts.netloc, urllib.parse.quote(vhost, safe=''))


def test_rabbitmq_publish_consume(rabbitmq_url):
    name = services.unique('telewatch-test')
    payload = {'counter_name': 'cpu', 'counter_volume': 42, 'id': name}
    with kombu.Connection(_kombu_url(rabbitmq_url), connect_timeout=10) as conn:
        queue = conn.SimpleQueue(name, queue_opts={'auto_delete': True},
                                 exchange_opts={'auto_delete': True})
        try:
            queue.put(payload, serializer='json')
            message = queue.get(block=True, timeout=10)
            message.ack()
            assert message.payload == payload
            assert queue.qsize() == 0
        finally:
            queue.close()


def test_redis_set_get(redis_url):
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    key = services.unique('telewatch-test')
    try:
        assert client.ping()
        assert client.set(key, b'value', px=60000)
        assert client.get(key) == b'value'
        assert client.incrby(key + ':n', 5) == 5
    finally:
        client.delete(key, key + ':n')
        client.close()


def _select(postgresql_url, table):
    with psycopg2.connect(postgresql_url, connect_timeout=10) as conn:
        with conn.cursor() as cursor:
            cursor.execute('SELECT id, name FROM %s ORDER BY id' % table)
            rows = cursor.fetchall()
    conn.close()
    return rows


def test_postgresql_table_survives_restart(postgresql_url):
    table = 'telewatch_test_%s' % uuid.uuid4().hex
    rows = [(i, 'resource-%d' % i) for i in range(10)]
    conn = psycopg2.connect(postgresql_url, connect_timeout=10)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute('SELECT current_user, current_database()')
            assert cursor.fetchone() == ('telewatch', 'telewatch')
            cursor.execute('CREATE TABLE %s (id integer PRIMARY KEY, name text NOT NULL)'
                           % table)
            cursor.executemany('INSERT INTO %s (id, name) VALUES (%%s, %%s)' % table, rows)
        conn.close()
        assert _select(postgresql_url, table) == rows

        # The helper the broker-restart tests use, on the cheapest service (well under 1 s).
        elapsed = restart_service('postgresql')
        assert 0 < elapsed < 30
        assert _select(postgresql_url, table) == rows
    finally:
        conn = psycopg2.connect(postgresql_url, connect_timeout=10)
        with conn, conn.cursor() as cursor:
            cursor.execute('DROP TABLE IF EXISTS %s' % table)
        conn.close()


def test_kafka_produce_consume_group(kafka_bootstrap, kafka_topics):
    topic = kafka_topics.new('telewatch-test')
    group = services.unique('telewatch-test')
    sent = {('key-%d' % i).encode(): ('value-%d' % i).encode() for i in range(100)}

    producer = kafka.KafkaProducer(bootstrap_servers=kafka_bootstrap, acks='all',
                                   linger_ms=5, request_timeout_ms=30000)
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in sent.items()]
        producer.flush(timeout=30)
        partitions = {future.get(timeout=30).partition for future in futures}
    finally:
        producer.close(timeout=10)
    # Auto-created with the broker's num.partitions = 4; keys spread over them.
    assert partitions <= {0, 1, 2, 3} and len(partitions) > 1

    consumer = kafka.KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap, group_id=group,
                                   auto_offset_reset='earliest', enable_auto_commit=False)
    received = {}
    try:
        deadline = time.monotonic() + 60
        while len(received) < len(sent) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=1000).values():
                for record in records:
                    received[record.key] = record.value
        assert consumer.partitions_for_topic(topic) == {0, 1, 2, 3}
        consumer.commit()
        committed = sum(consumer.committed(kafka.TopicPartition(topic, partition)) or 0
                        for partition in range(4))
    finally:
        consumer.close()
    assert received == sent
    assert committed == len(sent)


def _status(name):
    result = subprocess.run([str(services.TOOLS / name), 'status'], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout


def test_keystone_start_repairs_what_the_tests_need(keystone):
    # A start killed half way left Keystone initialized but without the test users: status
    # must say so, and the next start must make them again.
    admin = keystone.token(keystone.admin)
    session = requests.Session()
    session.headers['X-Auth-Token'] = admin.id
    url = keystone.auth_url
    bob = session.get(url + '/users', params={'name': 'bob'}, timeout=30).json()['users']
    assert session.delete(url + '/users/' + bob[0]['id'], timeout=30).status_code == 204

    code, out = _status('keystone')
    assert code == 3
    assert "unhealthy" in out and "bob's token for project-b" in out

    services._start('keystone')
    assert _status('keystone')[0] == 0
    assert keystone.token(keystone.bob).project_id


def test_gnocchi_start_repairs_its_archive_policies(gnocchi_endpoint):
    auth = ('admin', '')
    response = requests.delete(gnocchi_endpoint + '/v1/archive_policy/bool', auth=auth,
                               timeout=30)
    assert response.status_code == 204, response.text

    code, out = _status('gnocchi')
    assert code == 3
    assert 'unhealthy' in out and 'the archive policy bool' in out

    services._start('gnocchi')
    assert _status('gnocchi')[0] == 0
    response = requests.get(gnocchi_endpoint + '/v1/archive_policy/bool', auth=auth,
                            timeout=30)
    assert response.status_code == 200


def test_kafka_status_says_ready(kafka_bootstrap):
    code, out = _status('kafka')
    assert code == 0 and 'running' in out
