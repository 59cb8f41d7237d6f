"""telewatch-pubsub: reads the firehose and delivers each sample to the subscriptions that
want it.

Each worker is a member of the ``[pubsub] consumer_group`` on ``[pubsub] firehose_topic``
(instances on several hosts share the partitions). For every record it checks the signature
(``[publisher] telemetry_secret``), reads the meter, project and resource, asks the
matching index which subscriptions want it, applies their sampling intervals, and hands the
record's bytes unchanged to each one's ``Delivery``; records nobody wants are discarded.
A batch's offsets are committed once all of it is settled (see telewatch.pubsub.targets):
at-least-once. A record that is not a signed firehose sample is rejected, counted by reason
and logged with its topic, partition and offset; the worker goes on.

A second thread looks every ``refresh_interval`` for changed subscriptions (a cheap
fingerprint query; the index is rebuilt only on a change) and reports the delivery counters
every ``report_interval`` to the database, where the API adds them up.

Every loop (the consumer's, the control thread's, each delivery's) outlives an unexpected
error: logged, counted in the status' ``loop_errors``, retried after a backoff; a batch
whose dispatch failed is read again. A thread that ends anyway ends the worker (status 2),
and cotyledon starts a new one.
"""

import collections
import datetime
import json
import logging
import os
import socket
import threading
import time

import kafka
import kafka.errors
from kafka.structs import OffsetAndMetadata

from telewatch import firehose
from telewatch import kafka_bus
from telewatch import loops
from telewatch import messages
from telewatch import sample as sample_mod
from telewatch.archive import errors
from telewatch.archive import store as store_mod
from telewatch.pubsub import matching
from telewatch.pubsub import registry as registry_mod
from telewatch.pubsub import subscription as subscription_mod
from telewatch.pubsub import targets

LOG = logging.getLogger(__name__)
MAX_REJECTIONS_LOGGED = 10  # per report interval; the rest are only counted
_UNREAD = object()


def _seconds(timestamp):
    return datetime.datetime.fromisoformat(timestamp).timestamp()


class Routing:
    """The subscriptions in force: the matching index, a Delivery for each, and the
    throttles of those with a sampling interval. Replaced whole on a change."""

    def __init__(self, subscriptions, deliveries, throttles):
        self.index = matching.SubscriptionIndex(subscriptions)
        self.deliveries = deliveries
        self.throttles = throttles


class PubSubWorker:
    """One consumer of the firehose, in its own thread from ``start`` (which returns at
    once) to ``stop``."""
    watch_interval = 1.0

    def __init__(self, conf, registry=None, consumer=None):
        self.conf = conf
        self.worker = '%s:%d' % (socket.gethostname(), os.getpid())
        self._registry = registry
        self._consumer = consumer
        self._secret = conf.publisher.telemetry_secret
        self._pool = targets.ProducerPool(conf)
        self._routing = Routing((), {}, {})
        self._fingerprint = None
        self._tickets = collections.deque()
        self._stopping = threading.Event()
        self._control = self._consuming = None
        self._next_refresh = self._next_report = self._next_watch = 0.0
        self.counters = collections.Counter()
        self.loop_errors = collections.Counter()
        self.rejected = collections.Counter()
        self._logged_rejections = 0

    # -- subscriptions ---------------------------------------------------------------------

    @property
    def registry(self):
        if self._registry is None:
            self._registry = registry_mod.SubscriptionRegistry(
                store_mod.index_url(self.conf))
        return self._registry

    def refresh(self):
        """Rebuild the routing if subscriptions changed; True when they did."""
        fingerprint = self.registry.fingerprint()
        if fingerprint == self._fingerprint:
            return False
        documents = self.registry.list()
        old = self._routing
        subscriptions, deliveries, throttles = [], {}, {}
        for document in documents:
            try:
                subscription = subscription_mod.Subscription(
                    document['id'], document['name'], document['project_id'],
                    document['meters'], document['target'], document['resources'],
                    document['projects'], document['interval'], document['revision'])
            except (ValueError, TypeError) as exc:
                LOG.error('subscription %s cannot be served: %s', document['id'], exc)
                continue
            subscriptions.append(subscription)
            kept = old.deliveries.get(subscription.id)
            if kept is not None and kept.subscription.revision == subscription.revision:
                deliveries[subscription.id] = kept
            else:
                deliveries[subscription.id] = self._delivery(subscription)
            if subscription.interval:
                throttle = old.throttles.get(subscription.id)
                if throttle is None or throttle.interval != subscription.interval:
                    throttle = matching.Throttle(subscription.interval)
                throttles[subscription.id] = throttle
        self._routing = Routing(subscriptions, deliveries, throttles)
        self._fingerprint = fingerprint
        for subscription_id, delivery in old.deliveries.items():
            if deliveries.get(subscription_id) is not delivery:
                self._retire(delivery)
        LOG.info('%d subscriptions in force', len(subscriptions))
        return True

    def _delivery(self, subscription):
        target = subscription.target
        if target.scheme == 'kafka':
            sender, release = self._pool.sender(target)
        else:
            sender, release = targets.UdpSender(target), None
        delivery = targets.Delivery(subscription, sender, retries=self.conf.pubsub.retries,
                                    backoff=self.conf.pubsub.retry_backoff, on_close=release,
                                    loop_errors=self.loop_errors)
        delivery.start()
        return delivery

    def _retire(self, delivery):
        """Stop a delivery whose subscription changed or ended, and report its counters."""
        delivery.stop()
        self._report_deliveries([delivery], include_queues=False)

    # -- counters ------------------------------------------------------------------------------

    def _report_deliveries(self, deliveries, include_queues=True):
        deltas = {delivery.subscription.id: delivery.take_counters()
                  for delivery in deliveries}
        queues = ({delivery.subscription.id: delivery.queue_length for delivery in deliveries}
                  if include_queues else {})
        deltas = {key: value for key, value in deltas.items() if value}
        try:
            self.registry.add_counters(self.worker, deltas, queues)
        except errors.StorageUnavailable as exc:
            LOG.warning('cannot report the delivery counters (kept for later): %s', exc)
            for delivery in deliveries:
                for name, amount in deltas.get(delivery.subscription.id, {}).items():
                    delivery.count(name, amount)

    def report(self):
        self._report_deliveries(list(self._routing.deliveries.values()))
        self._logged_rejections = 0
        LOG.debug('status: %s', json.dumps(self.status(), sort_keys=True))

    def status(self):
        status = dict(self.counters)
        status['rejected'] = dict(self.rejected)
        status['subscriptions'] = len(self._routing.index)
        status['pending_batches'] = len(self._tickets)
        status['loop_errors'] = dict(self.loop_errors)
        return status

    def _control_loop(self):
        loops.run('pubsub-control', self._control_step, self._stopping, self.loop_errors)

    def _control_step(self):
        """Refresh and report when due; the seconds until the next is."""
        conf = self.conf.pubsub
        now = time.monotonic()
        try:
            if now >= self._next_refresh:
                self._next_refresh = now + conf.refresh_interval
                self.refresh()
            if now >= self._next_report:
                self._next_report = now + conf.report_interval
                self.report()
        except errors.StorageUnavailable as exc:
            LOG.warning('subscriptions unavailable, trying again: %s', exc)
        return max(0.05, min(self._next_refresh, self._next_report) - time.monotonic())

    # -- the firehose ----------------------------------------------------------------------

    @property
    def consumer(self):
        if self._consumer is None:
            self._consumer = kafka.KafkaConsumer(
                self.conf.pubsub.firehose_topic,
                bootstrap_servers=kafka_bus.bootstrap_servers(self.conf.pubsub.firehose_url),
                group_id=self.conf.pubsub.consumer_group, enable_auto_commit=False,
                auto_offset_reset='earliest', client_id='telewatch-pubsub',
                max_partition_fetch_bytes=8 * 2 ** 20, fetch_max_bytes=64 * 2 ** 20)
        return self._consumer

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
            self._reject('signature', self._where(record), exc)
        except firehose.InvalidRecord as exc:
            self._reject(exc.reason, self._where(record), exc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self._reject('format', self._where(record), 'not a firehose sample: %r' % exc)
        else:
            return name, project_id, resource_id, document
        return None

    @staticmethod
    def _where(record):
        return '%s:%d@%d' % (record.topic, record.partition, record.offset)

    def dispatch(self, polled):
        """Hand a poll's records to the deliveries; its Ticket."""
        routing = self._routing
        match, throttles = routing.index.match, routing.throttles
        ticket = targets.Ticket({tp: OffsetAndMetadata(records[-1].offset + 1, '', -1)
                                 for tp, records in polled.items()})
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
            self._reject('timestamp', self._where(record), exc)
            return None

    def commit(self):
        """Commit the offsets of the settled batches at the head of the queue."""
        offsets = {}
        while self._tickets and self._tickets[0].done:
            offsets.update(self._tickets.popleft().offsets)
        if not offsets:
            return
        assigned = self.consumer.assignment()
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not offsets:
            return
        try:
            self.consumer.commit(offsets)
        except kafka.errors.KafkaError as exc:
            # A rebalance moved these partitions: their new owner reads them again.
            LOG.warning('cannot commit offsets (%s): they will be delivered again', exc)

    def run_once(self, timeout_ms=200):
        """Commit what is settled, then read and dispatch one poll (unless too many batches
        are pending); the number of records read."""
        self.commit()
        if len(self._tickets) >= self.conf.pubsub.max_pending_batches:
            self._stopping.wait(0.01)
            return 0
        polled = self.consumer.poll(timeout_ms=timeout_ms,
                                    max_records=self.conf.pubsub.batch_size)
        if not polled:
            return 0
        try:
            ticket = self.dispatch(polled)
        except Exception:
            # Read again: the batches after it would otherwise commit past it.
            for tp, records in polled.items():
                self.consumer.seek(tp, records[0].offset)
            raise
        self._tickets.append(ticket)
        return sum(len(records) for records in polled.values())

    def threads(self):
        """The threads that run as long as the worker: consumer, control and deliveries."""
        deliveries = [d.thread for d in self._routing.deliveries.values()]
        return [t for t in [self._consuming, self._control] + deliveries if t is not None]

    def _consume_step(self):
        now = time.monotonic()
        if now >= self._next_watch:
            self._next_watch = now + self.watch_interval
            loops.check(self.threads())
        self.run_once()

    def start(self):
        self.refresh()
        self._control = loops.start_thread('pubsub-control', self._control_loop,
                                           self._stopping)
        self._consuming = loops.start_thread('pubsub-consumer', self._consume, self._stopping)

    def _consume(self):
        loops.run('pubsub-consumer', self._consume_step, self._stopping, self.loop_errors)
        self._shutdown()

    def _shutdown(self):
        # Whatever is not settled is not committed: another member reads it again.
        deadline = time.monotonic() + 10
        while self._tickets and time.monotonic() < deadline:
            self.commit()
            if self._tickets and not self._tickets[0].done:
                time.sleep(0.05)
        self.commit()
        if self._control is not None:
            self._control.join(timeout=30)
        for delivery in self._routing.deliveries.values():
            delivery.stop()
        self.report()
        self._pool.close()
        self.consumer.close(autocommit=False)

    def stop(self):
        """Stop consuming; what is settled by then is committed (see ``_shutdown``)."""
        self._stopping.set()
        if self._consuming is not None:
            self._consuming.join()

    def reload(self):
        """SIGHUP: look for changed subscriptions now."""
        self._fingerprint = None
