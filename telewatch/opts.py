"""Every option of telewatch, for oslo-config-generator and for ``prepare_service``: those
every process shares, here, and the lists of each subpackage."""

from oslo_config import cfg

from telewatch import api
from telewatch.alarms import event_listener as alarm_event_listener
from telewatch.alarms.evaluator import options as alarm_evaluator_options
from telewatch.alarms import notifiers as alarm_notifiers
from telewatch.alarms import storage as alarm_storage
from telewatch import bus
from telewatch.cloudwatch import alarms as cloudwatch_alarms
from telewatch.cloudwatch import options as cloudwatch_options
from telewatch.api import app as api_app
from telewatch.archive import store as archive_store
from telewatch import notification
from telewatch import pipeline
from telewatch import polling
from telewatch import pollsters
from telewatch import publishers
from telewatch.pubsub import options as pubsub_options

OPTS = [
    cfg.StrOpt('data_dir', default='/var/lib/telewatch',
               help='Directory of the data telewatch keeps on this host. A relative path '
                    'in a publisher URL (file://samples.jsonl) is resolved against it.'),
]

PUBLISHER_OPTS = [
    cfg.StrOpt('telemetry_secret', secret=True, default='',
               deprecated_opts=[cfg.DeprecatedOpt('metering_secret', group='publisher')],
               help='Secret of the HMAC-SHA256 signature of samples (telewatch.sample). '
                    'Empty: samples are sent unsigned and every sample is accepted. Set it '
                    'to the same value on every node.'),
]


def register_common_opts(conf):
    """The options every process shares (``data_dir``, ``[publisher] telemetry_secret``)."""
    conf.register_opts(OPTS)
    conf.register_opts(PUBLISHER_OPTS, group='publisher')


def list_opts():
    """(group, options): the shared ones, and every subpackage's (each lists its own)."""
    return (pipeline.list_opts() + polling.list_opts() + pollsters.list_opts() +
            [(None, OPTS), ('publisher', PUBLISHER_OPTS)] + notification.list_opts() +
            publishers.list_opts() + [('bus', bus.OPTS)] + archive_store.list_opts() +
            api.list_opts() + api_app.list_opts() + pubsub_options.list_opts() +
            alarm_notifiers.list_opts() + alarm_storage.list_opts() +
            alarm_event_listener.list_opts() + alarm_evaluator_options.list_opts() +
            cloudwatch_options.list_opts() + cloudwatch_alarms.list_opts())
