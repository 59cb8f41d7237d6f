"""Which alarms this evaluator evaluates: with ``[alarms] coordination_url``, the evaluators
of a tooz partitioned group (a consistent hash ring, as Aodh's) each take their share and
take it again when one joins or leaves; without, every alarm."""

import logging
import socket
import uuid

import tooz.coordination

LOG = logging.getLogger(__name__)

GROUP = b'telewatch.alarms.evaluator'


class Everything:
    """No coordination: this evaluator evaluates every alarm."""

    def start(self):
        pass

    def owned(self, alarm_ids):
        return set(alarm_ids)

    def stop(self):
        pass


class HashRing:
    """This evaluator's membership of the group and its share of the alarms."""

    def __init__(self, url, group=GROUP):
        member = '%s.%s' % (socket.gethostname(), uuid.uuid4().hex[:12])
        self.member = member.encode('utf-8')
        self.group = group
        self._coordinator = tooz.coordination.get_coordinator(url, self.member)
        self._partitioner = None
        self._started = False

    def start(self):
        """Join the group (ToozError when the back end cannot be reached: the caller
        tries again)."""
        if not self._started:
            self._coordinator.start(start_heart=True)
            self._started = True
        if self._partitioner is None:
            self._partitioner = self._coordinator.join_partitioned_group(self.group)

    def owned(self, alarm_ids):
        """The ids of ``alarm_ids`` this evaluator owns after the latest membership news."""
        self.start()
        self._coordinator.run_watchers()
        return {alarm_id for alarm_id in alarm_ids
                if self._partitioner.belongs_to_self(alarm_id)}

    def stop(self):
        """Leave the group now (the others take over at their next tick)."""
        try:
            if self._partitioner is not None:
                self._coordinator.leave_partitioned_group(self._partitioner)
        except tooz.coordination.ToozError as exc:
            LOG.warning('Leaving the alarm evaluators group failed: %s', exc)
        finally:
            self._partitioner = None
            self._started = False
            try:
                self._coordinator.stop()
            except tooz.coordination.ToozError as exc:
                LOG.debug('Stopping the coordinator: %s', exc)


def from_url(url):
    return HashRing(url) if url else Everything()
