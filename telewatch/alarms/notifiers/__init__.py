"""Alarm notifiers: deliver an alarm's state change to the actions of its new state, in
worker threads, through ``telewatch.delivery`` (retry with backoff, counters), and record
each action delivered or finally failed (the ``action`` history of the alarm).

``Notifiers(conf, record)`` is what the evaluator holds: ``notify`` returns at once, the
plugins (entry points ``telewatch.alarm.notifier``, by URL scheme, see ``base.Notifier``) do
the sending.
"""

import logging
import threading

from oslo_config import cfg

from telewatch import delivery
from telewatch.alarms import actions
from telewatch.alarms import keystone
from telewatch.kafka import producer as kafka_producer

LOG = logging.getLogger(__name__)
GROUP = 'alarms'
OPTS = [
    cfg.IntOpt('notifier_workers', default=8, min=1,
               help='Threads delivering alarm notifications (a webhook that is slow or '
                    'retried holds one thread while the others go on).'),
    cfg.IntOpt('notifier_queue_length', default=delivery.MAX_QUEUE_LENGTH, min=1,
               help='Notifications waiting for a thread before new ones are dropped '
                    '(counted and logged).'),
    cfg.IntOpt('notifier_retries', default=3, min=0,
               help='Attempts after the first to deliver a notification that failed in '
                    'a way that may pass (connection error, timeout, 5xx...).'),
    cfg.FloatOpt('notifier_retry_backoff', default=1.0, min=0,
                 help='Seconds before the first retry; each next wait doubles.'),
    cfg.FloatOpt('notifier_timeout', default=5.0, min=0.1,
                 help='Seconds to connect to, and then to wait for, a webhook.'),
    cfg.BoolOpt('notifier_ssl_verify', default=True,
                help='Whether https actions verify the server\'s certificate (an action\'s '
                     '?aodh-alarm-ssl-verify=0 turns it off for that action).'),
    cfg.StrOpt('notifier_ca_bundle',
               help='CA bundle that https actions verify certificates with (default: the '
                    'system\'s).'),
    cfg.StrOpt('notifier_certificate_file',
               help='Client certificate (PEM) that https actions present.'),
    cfg.StrOpt('notifier_certificate_key',
               help='Private key of notifier_certificate_file, if not in that file.'),
]


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)
    actions.register_opts(conf)


def list_opts():
    """The notifiers' options, the actions' and the service user's ([service_credentials])."""
    return [(GROUP, actions.OPTS + OPTS)] + keystone.list_opts()


class Shared:
    """What the notifier plugins share: the allow-list (``destinations``), Keystone trusts
    (``trusts``) and Kafka producers (``kafka_pool()``), made when first needed."""

    def __init__(self, conf, destinations=None, trusts=None):
        self.destinations = destinations or actions.Destinations.from_conf(conf)
        self._conf = conf
        self._trusts = trusts
        self._pool = None
        self._lock = threading.Lock()

    @property
    def trusts(self):
        with self._lock:
            if self._trusts is None:
                self._trusts = keystone.Trusts(self._conf)
            return self._trusts

    def kafka_pool(self):
        with self._lock:
            if self._pool is None:
                self._pool = kafka_producer.ProducerPool(
                    options=kafka_producer.alarm_options())
            return self._pool

    def close(self):
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
