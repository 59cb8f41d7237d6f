"""The bus between agents: oslo.messaging notifications carrying signed batches of samples
(telewatch.messages), on one topic or, with workload partitioning, on one topic per
partition, chosen by a stable hash of the resource id.
"""

import collections
import warnings
import zlib

# oslo.messaging imports oslo.service, whose eventlet back end makes eventlet print a
# deprecation notice at import; telewatch runs no eventlet (threading executors), and the
# notice would pollute the standard error of every command.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

import oslo_messaging  # noqa: E402
import oslo_messaging.opts  # noqa: E402
from oslo_config import cfg  # noqa: E402

SAMPLES_EVENT_TYPE = 'telewatch.samples'
CEILOMETER_EVENT_TYPE = 'telemetry.polling'

OPTS = [
    cfg.StrOpt('samples_topic', default='telewatch-samples',
               help='Topic of the samples the polling agents send to the notification '
                    'agents (with workload_partitioning: its prefix, "<topic>-<n>").'),
    cfg.BoolOpt('workload_partitioning', default=False,
                help='Send the samples of each resource to one of pipeline_processing_queues '
                     'topics, chosen by a stable hash of its resource id, so that the '
                     'notification agents sharing them (coordination_url) each see every '
                     'sample of the resources they own: needed by stateful transformers '
                     '(rate_of_change, delta, aggregator) with several agents.'),
    cfg.IntOpt('pipeline_processing_queues', default=10, min=1,
               help='How many partitions (topics) with workload_partitioning. Every '
                    'polling and notification agent must use the same number.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group='bus')


def register_transport_opts(conf):
    """oslo.messaging's own [DEFAULT] options (transport_url, control_exchange), so that a
    process can read them before it opens a transport."""
    oslo_messaging.set_transport_defaults('telewatch')
    for group, options in oslo_messaging.opts.list_opts():
        if group in (None, 'DEFAULT'):
            conf.register_opts(options)


def partition_of(resource_id, partitions):
    """The partition of a resource: CRC-32 of its UTF-8 id, the same in every process
    (unlike Python's hash(), which is salted per process)."""
    return zlib.crc32(resource_id.encode('utf-8')) % partitions


def topics(conf):
    """Every topic samples travel on."""
    if not conf.bus.workload_partitioning:
        return [conf.bus.samples_topic]
    return ['%s-%d' % (conf.bus.samples_topic, n)
            for n in range(conf.bus.pipeline_processing_queues)]


def by_topic(conf, samples):
    """{topic: [samples]} for one batch."""
    if not conf.bus.workload_partitioning:
        return {conf.bus.samples_topic: samples}
    partitions = conf.bus.pipeline_processing_queues
    grouped = collections.defaultdict(list)
    for sample in samples:
        grouped[partition_of(sample.resource_id, partitions)].append(sample)
    return {'%s-%d' % (conf.bus.samples_topic, n): group for n, group in grouped.items()}


def get_transport(conf):
    """The notification transport of ``[DEFAULT] transport_url`` (rabbit://, kafka://).

    Queues are made durable by default so that a broker restart loses nothing that was
    acknowledged to a sender (an operator may still turn it off).
    """
    transport = oslo_messaging.get_notification_transport(conf)
    if 'oslo_messaging_rabbit' in conf and 'amqp_durable_queues' in conf.oslo_messaging_rabbit:
        conf.set_default('amqp_durable_queues', True, group='oslo_messaging_rabbit')
    return transport
