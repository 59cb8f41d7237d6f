"""kafka: alarm state changes as JSON records on a Kafka topic, for publish/subscribe
consumers (through ``telewatch.kafka``'s producers)."""

import collections
import datetime
import json
import threading
import urllib.parse

from telewatch.alarms.notifiers import base
from telewatch.kafka import cluster

DEFAULT_PORT = 9092
Target = collections.namedtuple('Target', 'servers topic')


def target(parts):
    """The Target (servers, topic) of ``kafka://HOST:PORT[,HOST:PORT]?topic=T``."""
    options = urllib.parse.parse_qs(parts.query)
    topics = options.pop('topic', [])
    if len(topics) != 1 or not cluster.is_topic_name(topics[0]):
        raise ValueError('a kafka action is kafka://HOST:PORT[,HOST:PORT]?topic=NAME (a '
                         'Kafka topic name: letters, digits, . _ -)')
    if options or parts.path not in ('', '/') or '@' in parts.netloc:
        raise ValueError('a kafka action has no path, credentials or option but topic')
    servers = tuple(base.host_port(item, DEFAULT_PORT) for item in parts.netloc.split(','))
    return Target(servers, topics[0])


def record(notification):
    """The JSON record of a state change: Aodh's body with the alarm's type, project,
    user, and when it was sent."""
    alarm = notification.alarm
    value = dict(notification.body(), type=alarm.get('type'),
                 project_id=alarm.get('project_id'), user_id=alarm.get('user_id'),
                 request_id=notification.request_id,
                 timestamp=datetime.datetime.now(datetime.timezone.utc).replace(
                     tzinfo=None).isoformat())
    return json.dumps(value, default=str).encode('utf-8')


class KafkaNotifier(base.Notifier):
    """``kafka://HOST:PORT[,HOST:PORT]?topic=NAME``: one record per state change, keyed by
    the alarm id (an alarm's changes stay in order on one partition), through one shared
    producer per cluster that every in-sync replica acknowledges."""

    @classmethod
    def validate(cls, parts):
        target(parts)

    @classmethod
    def destinations(cls, parts):
        return list(target(parts).servers)

    def __init__(self, conf, shared):
        super().__init__(conf, shared)
        self._senders = {}
        self._lock = threading.Lock()

    def _sender(self, to):
        with self._lock:
            sender = self._senders.get(to)
            if sender is None:
                sender = self._senders[to] = self.shared.kafka_pool().sender(to)
            return sender[0]

    def notify(self, action, notification):
        parts = urllib.parse.urlsplit(action)
        self.check_destinations(parts)
        key = str(notification.alarm.get('alarm_id')).encode('utf-8')
        self._sender(target(parts)).send([record(notification)], [key])

    def close(self):
        with self._lock:
            senders, self._senders = list(self._senders.values()), {}
        for _, release in senders:
            release()
