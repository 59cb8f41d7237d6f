"""The evaluator's options, in the ``[alarms]`` group the other alarm parts share."""

from oslo_config import cfg

OPTS = [
    cfg.FloatOpt('evaluation_interval', default=10.0, min=0.1,
                 help='Seconds between two passes over every alarm (missing data, time '
                      'constraints, alarms created or changed, the resources a '
                      'by_resources query matches, evaluators joining or leaving). Alarms '
                      'are also evaluated as soon as a metric they watch is aggregated.'),
    cfg.IntOpt('additional_ingestion_lag', default=0, min=0,
               help='Seconds added to the window an alarm reads, for measures that arrive '
                    'late (Aodh\'s option).'),
    cfg.IntOpt('evaluator_workers', default=1, min=1,
               help='Worker processes telewatch-alarm-evaluator runs (they share the '
                    'alarms through coordination_url, which more than one needs).'),
    cfg.StrOpt('coordination_url', default='',
               help='tooz URL (e.g. redis://127.0.0.1:6379) of the back end through which '
                    'evaluators, on this host and others, share the alarms on a hash '
                    'ring. Empty: this process evaluates every alarm.'),
    cfg.FloatOpt('feed_interval', default=0.2, min=0.01,
                 help='Seconds between two reads of the archive\'s "metrics aggregated" '
                      'stream when it had nothing new.'),
]


def list_opts():
    return [('alarms', OPTS)]
