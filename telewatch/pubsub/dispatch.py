"""Dispatch of a firehose poll: each record is checked (signature, schema, fields), matched
against the subscriptions in force, held back by their sampling intervals, and its bytes,
unchanged, handed to each wanting subscription's Delivery. A record that is not a signed
firehose sample is rejected, counted by reason and logged with where it is.
"""

import collections
import datetime
import logging

from telewatch import firehose
from telewatch import messages
from telewatch import sample as sample_mod
from telewatch.kafka import consumer as kafka_consumer
from telewatch.pubsub import targets

LOG = logging.getLogger(__name__)
MAX_REJECTIONS_LOGGED = 10  # per report interval; the rest are only counted
_UNREAD = object()


def _seconds(timestamp):
    return datetime.datetime.fromisoformat(timestamp).timestamp()


class Dispatcher:
    """Hands polls to the deliveries of ``router.routing``; counts ``consumed``,
    ``discarded`` (wanted by none) and ``deliveries``, and ``rejected`` by reason."""

    def __init__(self, secret, router):
        self._secret = secret
        self._router = router
        self.counters = collections.Counter()
        self.rejected = collections.Counter()
        self._logged_rejections = 0

    def new_interval(self):
        """A report interval begins: log rejections again."""
        self._logged_rejections = 0

    def _reject(self, reason, where, exc):
        self.rejected[reason] += 1
        if self._logged_rejections < MAX_REJECTIONS_LOGGED:
            self._logged_rejections += 1
            LOG.warning('rejected firehose record %s (%s): %s', where, reason, exc)

    def _fields(self, record):
        """(name, project_id, resource_id, document) of a firehose record, or None."""
        value = record.value
        try:
            firehose.check_signature(value, record.headers, self._secret)
            document = messages.loads(value)
            if document.get('schema_version') != firehose.SCHEMA_VERSION:
                raise firehose.InvalidRecord('schema_version', 'schema version %r is not %d'
                                             % (document.get('schema_version'),
                                                firehose.SCHEMA_VERSION))
            name, resource_id = document['name'], document['resource_id']
            project_id = document.get('project_id')
            if (type(name) is not str or type(resource_id) is not str
                    or (project_id is not None and type(project_id) is not str)):
                raise firehose.InvalidRecord('sample', 'name, resource_id or project_id is '
                                                       'not a string')
        except sample_mod.InvalidSignature as exc:
            self._reject('signature', _where(record), exc)
        except firehose.InvalidRecord as exc:
            self._reject(exc.reason, _where(record), exc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._reject('format', _where(record), 'not a firehose sample: %r' % exc)
        else:
            return name, project_id, resource_id, document
        return None

    def dispatch(self, polled):
        """Hand a poll's records to the deliveries; its Ticket."""
        routing = self._router.routing
        match, throttles = routing.index.match, routing.throttles
        ticket = targets.Ticket(kafka_consumer.next_offsets(polled))
        chunks = {}
        consumed = discarded = 0
        skipped = collections.Counter()
        for records in polled.values():
            consumed += len(records)
            for record in records:
                fields = self._fields(record)
                if fields is None:
                    continue
                name, project_id, resource_id, document = fields
                wanted = match(name, project_id, resource_id)
                if not wanted:
                    discarded += 1
                    continue
                moment = _UNREAD  # the sample's time, read once if an interval needs it
                for subscription in wanted:
                    throttle = throttles.get(subscription.id)
                    if throttle is not None:
                        if moment is _UNREAD:
                            moment = self._sample_time(document, record)
                        if moment is None or not throttle.allows(resource_id, name, moment):
                            skipped[subscription.id] += 1
                            continue
                    chunk = chunks.get(subscription.id)
                    if chunk is None:
                        chunk = chunks[subscription.id] = ([], [])
                    chunk[0].append(record.value)
                    chunk[1].append(record.key or resource_id.encode('utf-8'))
        deliveries = routing.deliveries
        for subscription_id, (values, keys) in chunks.items():
            deliveries[subscription_id].offer(ticket, values, keys)
            self.counters['deliveries'] += len(values)
        for subscription_id, count in skipped.items():
            deliveries[subscription_id].count('skipped', count)
        self.counters['consumed'] += consumed
        self.counters['discarded'] += discarded
        ticket.settle()
        return ticket

    def _sample_time(self, document, record):
        """The sample's timestamp in seconds; None (rejected and counted) when it has none."""
        try:
            return _seconds(document['timestamp'])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._reject('timestamp', _where(record), exc)
            return None


def _where(record):
    return '%s:%d@%d' % (record.topic, record.partition, record.offset)
