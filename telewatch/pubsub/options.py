"""``[pubsub]`` options: read by telewatch-pubsub, and by the API for ``allowed_targets``."""

from oslo_config import cfg

OPTS = [
    cfg.StrOpt('firehose_url', default='kafka://127.0.0.1:9092',
               help='The Kafka cluster of the firehose: kafka://HOST:PORT[,HOST:PORT].'),
    cfg.StrOpt('firehose_topic', default='telewatch.firehose',
               help='The topic the kafka:// publisher writes every sample to (the topic= of '
                    'its URL in pipeline.yaml).'),
    cfg.StrOpt('consumer_group', default='telewatch-pubsub',
               help='Kafka consumer group of the telewatch-pubsub instances: they share the '
                    'firehose\'s partitions.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Consumer processes telewatch-pubsub runs (each a member of the group).'),
    cfg.ListOpt('allowed_targets', default=['*:*'],
                help='Where subscriptions may send: HOST:PORT patterns, HOST with shell '
                     'wildcards (10.0.0.*, *.example.org), PORT a number, LOW-HIGH or *. '
                     'The default allows every destination; restrict it wherever '
                     'projects are not trusted.'),
    cfg.FloatOpt('refresh_interval', default=2.0, min=0.1,
                 help='Seconds between two looks for created, changed or deleted '
                      'subscriptions.'),
    cfg.FloatOpt('report_interval', default=2.0, min=0.1,
                 help='Seconds between two reports of the delivery counters to the '
                      'database (what the API shows).'),
    cfg.IntOpt('batch_size', default=5000, min=1,
               help='Most records taken from the firehose at once.'),
    cfg.IntOpt('max_pending_batches', default=64, min=1,
               help='Batches read but not yet settled (delivered, dropped or queued) before '
                    'the consumer waits; bounds memory and redelivery after a crash.'),
    cfg.IntOpt('retries', default=3, min=0,
               help='Attempts after the first to send a chunk to a target with '
                    'policy=retry, with a doubling backoff, before it is dropped.'),
    cfg.FloatOpt('retry_backoff', default=0.5, min=0,
                 help='Seconds before the first retry of a failed send.'),
    cfg.IntOpt('kafka_linger_ms', default=20, min=0,
               help='How long the producer of Kafka targets waits to fill a batch.'),
    cfg.IntOpt('kafka_batch_size', default=1048576, min=1,
               help='Bytes of a Kafka target\'s record batch.'),
    cfg.StrOpt('kafka_compression', default='lz4',
               choices=['none', 'gzip', 'snappy', 'lz4', 'zstd'],
               help='Compression of the records sent to Kafka targets (snappy, lz4 and zstd '
                    'need their Python libraries).'),
]


def list_opts():
    return [('pubsub', OPTS)]
