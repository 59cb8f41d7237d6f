"""Where Kafka records go: bootstrap servers, topic names, partitions."""

from kafka.partitioner import murmur2

from telewatch.kafka import cluster


def test_bootstrap_servers_default_to_port_9092():
    assert cluster.bootstrap_servers('kafka://a,b:9093/vhost') == ['a:9092', 'b:9093']
    assert cluster.bootstrap_servers('kafka://user:secret@a:1') == ['a:1']


def test_topic_names_are_what_kafka_takes():
    assert cluster.is_topic_name('telewatch.firehose-1_x')
    assert not any(cluster.is_topic_name(name) for name in ('', '.', '..', 'a b', 'x' * 250))


def test_the_partitioner_picks_as_the_java_client_and_forgets_on_a_new_count():
    partitioner = cluster.Partitioner()
    partitioner.resize(4)
    keys = [b'vm-%d' % i for i in range(50)]
    assert [partitioner.partition(key) for key in keys] == [
        (murmur2(key) & 0x7fffffff) % 4 for key in keys]
    partitioner.resize(7)
    assert [partitioner.partition(key) for key in keys] == [
        (murmur2(key) & 0x7fffffff) % 7 for key in keys]
