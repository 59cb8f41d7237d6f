"""Where Kafka records go: the bootstrap servers of a kafka:// URL, valid topic names, and
the partition a record's key picks.
"""

import re
import urllib.parse

from kafka.partitioner import murmur2

_TOPIC_NAME = re.compile(r'^[A-Za-z0-9._-]{1,249}$')
MAX_REMEMBERED_KEYS = 100000


def is_topic_name(name):
    """Whether Kafka takes ``name`` as a topic: 1 to 249 letters, digits, '.', '_' or '-',
    and not '.' or '..'."""
    return bool(_TOPIC_NAME.match(name)) and name not in ('.', '..')


def bootstrap_servers(url):
    """['host:port', ...] of kafka://host:port[,host:port]/."""
    netloc = urllib.parse.urlsplit(url).netloc.rsplit('@', 1)[-1]
    return [server if ':' in server else server + ':9092' for server in netloc.split(',')
            if server]


class Partitioner:
    """The partition of a record key (bytes) among ``count`` partitions, as the Java
    client's default partitioner (and kafka-python's) picks it: murmur2. murmur2 is pure
    Python here, so each key's partition is remembered (up to MAX_REMEMBERED_KEYS keys)
    until the count changes."""

    def __init__(self):
        self.count = None
        self._partition_of = {}

    def resize(self, count):
        """Partition among ``count`` partitions from now on."""
        if count != self.count:
            self._partition_of.clear()
            self.count = count

    def partition(self, key):
        partition = self._partition_of.get(key)
        if partition is None:
            if len(self._partition_of) > MAX_REMEMBERED_KEYS:
                self._partition_of.clear()
            partition = self._partition_of[key] = (murmur2(key) & 0x7fffffff) % self.count
        return partition
