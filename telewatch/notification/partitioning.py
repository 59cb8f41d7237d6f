"""Workload partitioning: the notification agents of a tooz group divide the sample topics
(one per partition, see telewatch.bus) among themselves, so that every sample of a resource
reaches the same agent, and divide them again when an agent joins or leaves."""

import logging
import socket
import uuid

import tooz.coordination
from oslo_config import cfg

LOG = logging.getLogger(__name__)

OPTS = [
    cfg.StrOpt('backend_url',
               help='tooz URL of the coordination back end the notification agents share '
                    'with workload_partitioning (e.g. redis://127.0.0.1:6379).'),
    cfg.FloatOpt('check_watchers', default=10.0, min=0.1,
                 help='Seconds between two checks of the group membership.'),
]


class PartitionCoordinator:
    """This agent's membership, and the partitions it owns now."""

    def __init__(self, conf):
        if not conf.coordination.backend_url:
            raise ValueError('[bus] workload_partitioning needs [coordination] backend_url')
        self._conf = conf
        member = '%s.%s' % (socket.gethostname(), uuid.uuid4().hex[:12])
        self._coordinator = tooz.coordination.get_coordinator(
            conf.coordination.backend_url, member.encode('utf-8'))
        self._partitioner = None
        # One group per deployment (its sample topic), so that two deployments sharing a
        # coordination back end never split each other's partitions.
        self.group = ('telewatch.notification.%s' % conf.bus.samples_topic).encode('utf-8')

    def start(self):
        self._coordinator.start(start_heart=True)
        self._partitioner = self._coordinator.join_partitioned_group(self.group)

    def owned(self):
        """The partition numbers this agent consumes, after the latest membership news."""
        self._coordinator.run_watchers()
        return [n for n in range(self._conf.bus.pipeline_processing_queues)
                if self._partitioner.belongs_to_self(str(n))]

    def stop(self):
        """Leave the group now (the others take over at their next check)."""
        try:
            if self._partitioner is not None:
                self._coordinator.leave_partitioned_group(self._partitioner)
        except tooz.coordination.ToozError as exc:
            LOG.warning('leaving the partitioned group failed: %s', exc)
        finally:
            self._coordinator.stop()
