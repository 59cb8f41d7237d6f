"""The one Kafka consumer loop of telewatch: offsets are committed only once what comes
before them was acknowledged (handled, or handed on to be), never by the consumer on its
own; what was not is read again. At-least-once, across crashes and rebalances.
"""

import logging

import kafka
import kafka.errors
from kafka.structs import OffsetAndMetadata

LOG = logging.getLogger(__name__)


def next_offsets(polled):
    """{partition: the offset to commit once every record of ``polled`` is acknowledged}."""
    return {tp: OffsetAndMetadata(records[-1].offset + 1, '', -1)
            for tp, records in polled.items() if records}


def where(tp, record):
    """topic:partition@offset of a record, to find it again."""
    return '%s:%d@%d' % (tp.topic, tp.partition, record.offset)


class Consumer:
    """A kafka-python consumer (``consumer``) that commits only when told (``commit``) and
    reads again what was not (``rewind``); ``step`` is the loop's body."""

    def __init__(self, consumer):
        self._consumer = consumer

    @classmethod
    def open(cls, topics, servers, group, **options):
        """A member of ``group`` on ``topics``. A new group starts every topic at its
        earliest retained offset: nothing sent before the first member started is lost."""
        return cls(kafka.KafkaConsumer(
            *topics, bootstrap_servers=servers, group_id=group, enable_auto_commit=False,
            auto_offset_reset='earliest', **options))

    def step(self, handle, timeout_ms, max_records):
        """Poll once and hand the records (``{partition: [records]}``) to
        ``handle(polled)``; when it raises, rewind to the poll's first offsets (they are
        read again) and raise. How many records were read."""
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        if not polled:
            return 0
        try:
            handle(polled)
        except Exception:
            self.rewind(polled)
            raise
        return sum(len(records) for records in polled.values())

    def rewind(self, polled):
        """Read the records of ``polled`` again, from the first of each partition."""
        for tp, records in polled.items():
            if records:
                self._consumer.seek(tp, records[0].offset)

    def commit(self, offsets, what='offsets', assigned_only=False):
        """Commit ``offsets`` ({partition: OffsetAndMetadata}) (those of partitions still
        assigned to this member, with ``assigned_only``); True once committed."""
        if assigned_only:
            assigned = self._consumer.assignment()
            offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return False
        try:
            self._consumer.commit(offsets)
        except kafka.errors.KafkaError as exc:
            # A rebalance took these partitions: another member reads them again.
            LOG.warning('cannot commit %s (%s): they will be delivered again', what, exc)
            return False
        return True

    def close(self):
        """Leave the group, committing nothing more."""
        self._consumer.close(autocommit=False)
