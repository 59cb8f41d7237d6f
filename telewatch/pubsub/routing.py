"""Which subscriptions want which samples: the subscriptions in force, read from the
registry, each with its running Delivery and its sampling throttle; their counters go back
to the registry.
"""

import logging

from telewatch.archive import errors
from telewatch.archive import store as store_mod
from telewatch.kafka import producer as kafka_producer
from telewatch.pubsub import matching
from telewatch.pubsub import registry as registry_mod
from telewatch.pubsub import subscription as subscription_mod
from telewatch.pubsub import targets

LOG = logging.getLogger(__name__)


class Routing:
    """The subscriptions in force: the matching index, a Delivery for each, and the
    throttles of those with a sampling interval. Replaced whole on a change."""

    def __init__(self, subscriptions, deliveries, throttles):
        self.index = matching.SubscriptionIndex(subscriptions)
        self.deliveries = deliveries
        self.throttles = throttles


class Router:
    """Keeps ``routing`` up to date with the registry (``refresh``): a new or changed
    subscription gets a new Delivery, started; one that changed or ended is stopped and its
    counters reported. Kafka targets share one producer per cluster."""

    def __init__(self, conf, worker, loop_errors, registry=None):
        self.conf = conf
        self.worker = worker
        self.routing = Routing((), {}, {})
        self._registry = registry
        self._loop_errors = loop_errors
        self._pool = kafka_producer.ProducerPool(conf)
        self._fingerprint = None

    @property
    def registry(self):
        if self._registry is None:
            self._registry = registry_mod.SubscriptionRegistry(
                store_mod.index_url(self.conf))
        return self._registry

    def forget(self):
        """Look at the registry again at the next refresh, changed or not."""
        self._fingerprint = None

    def refresh(self):
        """Rebuild the routing if subscriptions changed; True when they did."""
        fingerprint = self.registry.fingerprint()
        if fingerprint == self._fingerprint:
            return False
        old = self.routing
        subscriptions = _subscriptions(self.registry.list())
        deliveries = {subscription.id: self._kept_or_new(old, subscription)
                      for subscription in subscriptions}
        throttles = {subscription.id: _throttle(old, subscription)
                     for subscription in subscriptions if subscription.interval}
        self.routing = Routing(subscriptions, deliveries, throttles)
        self._fingerprint = fingerprint
        for subscription_id, delivery in old.deliveries.items():
            if deliveries.get(subscription_id) is not delivery:
                self._retire(delivery)
        LOG.info('%d subscriptions in force', len(subscriptions))
        return True

    def _kept_or_new(self, old, subscription):
        kept = old.deliveries.get(subscription.id)
        if kept is not None and kept.subscription.revision == subscription.revision:
            return kept
        return self._delivery(subscription)

    def _delivery(self, subscription):
        target = subscription.target
        if target.scheme == 'kafka':
            sender, release = self._pool.sender(target)
        else:
            sender, release = targets.UdpSender(target), None
        delivery = targets.Delivery(subscription, sender, retries=self.conf.pubsub.retries,
                                    backoff=self.conf.pubsub.retry_backoff, on_close=release,
                                    loop_errors=self._loop_errors)
        delivery.start()
        return delivery

    def _retire(self, delivery):
        """Stop a delivery whose subscription changed or ended, and report its counters."""
        delivery.stop()
        self._report([delivery], include_queues=False)

    def report(self):
        """Add the deliveries' counters to the registry (kept for later when it is away)."""
        self._report(list(self.routing.deliveries.values()))

    def _report(self, deliveries, include_queues=True):
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

    def threads(self):
        return [d.thread for d in self.routing.deliveries.values() if d.thread is not None]

    def stop(self):
        """Stop every delivery: what waits is dropped, its batches settled."""
        for delivery in self.routing.deliveries.values():
            delivery.stop()

    def close(self):
        """Close the producers (after ``stop``)."""
        self._pool.close()


def _subscriptions(documents):
    """The Subscriptions of registry documents; one that cannot be served is logged."""
    subscriptions = []
    for document in documents:
        try:
            subscriptions.append(subscription_mod.Subscription(
                document['id'], document['name'], document['project_id'],
                document['meters'], document['target'], document['resources'],
                document['projects'], document['interval'], document['revision']))
        except (ValueError, TypeError) as exc:
            LOG.error('subscription %s cannot be served: %s', document['id'], exc)
    return subscriptions


def _throttle(old, subscription):
    throttle = old.throttles.get(subscription.id)
    if throttle is None or throttle.interval != subscription.interval:
        throttle = matching.Throttle(subscription.interval)
    return throttle
