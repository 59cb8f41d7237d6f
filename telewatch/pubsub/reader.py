"""The firehose reader: a member of ``[pubsub] consumer_group`` on ``[pubsub]
firehose_topic`` that reads polls, has them dispatched, and commits each poll's offsets
once every chunk of it is settled (telewatch.pubsub.targets.Ticket), in order.
"""

import collections
import time

from telewatch.kafka import cluster as kafka_cluster
from telewatch.kafka import consumer as kafka_consumer


class FirehoseReader:
    """Reads the firehose for ``dispatcher.dispatch(polled) -> Ticket`` until ``stopping``
    (a threading.Event) is set; at most ``[pubsub] max_pending_batches`` tickets wait to be
    settled (``consumer``: a kafka-python consumer to use instead of a new one)."""

    def __init__(self, conf, dispatcher, stopping, consumer=None):
        self.conf = conf
        self._dispatcher = dispatcher
        self._stopping = stopping
        self._consumer = None if consumer is None else kafka_consumer.Consumer(consumer)
        self.tickets = collections.deque()

    @property
    def consumer(self):
        if self._consumer is None:
            self._consumer = kafka_consumer.Consumer.open(
                [self.conf.pubsub.firehose_topic],
                kafka_cluster.bootstrap_servers(self.conf.pubsub.firehose_url),
                self.conf.pubsub.consumer_group, client_id='telewatch-pubsub',
                max_partition_fetch_bytes=8 * 2 ** 20, fetch_max_bytes=64 * 2 ** 20)
        return self._consumer

    def commit(self):
        """Commit the offsets of the settled batches at the head of the queue."""
        offsets = {}
        while self.tickets and self.tickets[0].done:
            offsets.update(self.tickets.popleft().offsets)
        if offsets:
            self.consumer.commit(offsets, assigned_only=True)

    def run_once(self, timeout_ms=200):
        """Commit what is settled, then read and dispatch one poll (unless too many batches
        are pending: then wait a little, or until ``stopping`` is set); the number of
        records read. A poll whose dispatch raises is read again: the batches after it
        would otherwise commit past it."""
        self.commit()
        if len(self.tickets) >= self.conf.pubsub.max_pending_batches:
            self._stopping.wait(0.01)
            return 0
        return self.consumer.step(self._dispatched, timeout_ms, self.conf.pubsub.batch_size)

    def _dispatched(self, polled):
        self.tickets.append(self._dispatcher.dispatch(polled))

    def drain(self, timeout=10):
        """Commit what is settled within ``timeout`` seconds; what is not, another member
        reads again."""
        deadline = time.monotonic() + timeout
        while self.tickets and time.monotonic() < deadline:
            self.commit()
            if self.tickets and not self.tickets[0].done:
                time.sleep(0.05)
        self.commit()

    def close(self):
        """Leave the group, committing nothing more."""
        self.consumer.close()
