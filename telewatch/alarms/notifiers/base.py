"""The contract of an alarm notifier (entry points ``telewatch.alarm.notifier``, named by the
URL scheme they serve) and what one delivery carries."""

import dataclasses
import urllib.parse
import uuid

from telewatch import delivery
from telewatch.alarms import actions


@dataclasses.dataclass(frozen=True)
class Notification:
    """One state change of an alarm to deliver: the alarm document, the transition, and
    the request id every attempt of every action of it sends (Aodh's
    x-openstack-request-id)."""

    alarm: dict
    previous: str
    current: str
    reason: str
    reason_data: dict | None
    request_id: str = dataclasses.field(
        default_factory=lambda: 'req-%s' % uuid.uuid4())

    def body(self):
        """Aodh's notification body."""
        alarm = self.alarm
        return {'alarm_name': alarm.get('name'), 'alarm_id': alarm.get('alarm_id'),
                'severity': alarm.get('severity'), 'previous': self.previous,
                'current': self.current, 'reason': self.reason,
                'reason_data': self.reason_data}


class Notifier:
    """Delivers notifications to the actions of one scheme.

    Lifecycle: the framework (``telewatch.alarms.notifiers.Notifiers``) creates one instance
    per scheme with ``(conf, shared)`` (``shared``: the ``Shared`` resources: the
    destinations' allow-list, Keystone trusts, Kafka producers), calls ``notify`` from its
    worker threads (so it must be thread-safe), and ``close`` once at the end.

    ``validate(parts)`` (a class method, called by the API through
    ``telewatch.alarms.actions``) raises ValueError for a URL (urlsplit) it cannot serve;
    ``destinations(parts)`` lists the (host, port) it would send to, for the allow-list.
    ``notify(action, notification)`` sends one notification to one action (its URL as
    stored, credentials included); it raises ``delivery.SendError`` when it fails
    (``permanent`` when sending again cannot help); the framework retries the others.
    """

    def __init__(self, conf, shared):
        self.conf = conf
        self.shared = shared

    @classmethod
    def validate(cls, parts):
        pass

    @classmethod
    def destinations(cls, parts):
        return []

    def notify(self, action, notification):
        raise NotImplementedError

    def close(self):
        pass

    def check_destinations(self, parts):
        """Raise a SendError unless every destination is allowed now (DNS may have
        changed since the alarm was created): permanent for a refused address, retryable
        for a name that does not resolve."""
        for host, port in self.destinations(parts):
            try:
                self.shared.destinations.check(host, port)
            except actions.Refused as exc:
                raise delivery.SendError(str(exc), permanent=not exc.unresolved) from None


def host_port(netloc, default_port):
    """(host, port) of a netloc without credentials; ValueError without a host."""
    parts = urllib.parse.urlsplit('//' + netloc.rsplit('@', 1)[-1])
    if not parts.hostname:
        raise ValueError('no host')
    return parts.hostname, parts.port or default_port
