"""Alarm notifiers: deliver an alarm's state change to the actions of its new state, in
worker threads, through ``telewatch.delivery`` (retry with backoff, counters), and record
each action delivered or finally failed (the ``action`` history of the alarm).

``Notifiers(conf, record)`` is what the evaluator holds: ``notify`` returns at once, the
plugins (entry points ``telewatch.alarm.notifier``, by URL scheme, see ``base.Notifier``) do
the sending.
"""

import logging
import queue
import threading
import time
import urllib.parse

from oslo_config import cfg

from telewatch import delivery
from telewatch.alarms import actions
from telewatch.alarms import keystone
from telewatch.alarms.notifiers import base
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


class _Delivery:
    """One notification to one action, and what became of it."""

    __slots__ = ('action', 'notification', 'attempts')

    def __init__(self, action, notification):
        self.action = action
        self.notification = notification
        self.attempts = 0


class Notifiers:
    """Delivers alarms' state changes to their actions.

    ``notify(alarm, previous, current, reason, reason_data)`` returns at once: it queues
    one delivery per URL of ``alarm[<current>_actions]`` (at most ``[alarms]
    notifier_queue_length`` waiting; more are dropped, counted and logged). Worker threads
    (``notifier_workers``) send each through its scheme's plugin with
    ``telewatch.delivery.retry`` (``notifier_retries`` retries after a doubling backoff
    from ``notifier_retry_backoff``); when it is delivered or finally fails,
    ``record(alarm, 'action', {"url", "state", "outcome", "attempts", "error"})`` is
    called (the URL scrubbed of its trust). ``start``; ``stop(timeout)`` delivers what is
    queued (retries no longer wait) for at most ``timeout`` seconds, drops the rest, and is
    safe without start and twice. ``counters()``: see ``telewatch.delivery``.
    """

    def __init__(self, conf, record=None, notifiers=None, shared=None):
        register_opts(conf)
        self._conf = conf.alarms
        self._record = record
        self._shared = shared or Shared(conf)
        self._notifiers = notifiers if notifiers is not None else {
            name: cls(conf, self._shared) for name, cls in actions.notifier_classes().items()}
        self._policy = delivery.Policy(delivery.RETRY, self._conf.notifier_queue_length,
                                       self._conf.notifier_retries)
        self._queue = queue.Queue(self._policy.max_queue_length)
        self._counters = delivery.Counters()
        self._threads = []
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._lock = threading.Lock()

    def start(self):
        with self._lock:
            if self._threads or self._stopping.is_set():
                return
            self._threads = [
                threading.Thread(target=self._work, name='alarm-notifier-%d' % n, daemon=True)
                for n in range(self._conf.notifier_workers)]
        for thread in self._threads:
            thread.start()

    def threads(self):
        return list(self._threads)

    def counters(self):
        """The counts so far (a dict) and ``queue_length`` now."""
        counts = dict(self._counters)
        counts['queue_length'] = self._queue.qsize()
        return counts

    def notify(self, alarm, previous, current, reason, reason_data=None):
        """Queue the deliveries of a state change (never blocks, never raises)."""
        urls = alarm.get(current.replace(' ', '_') + '_actions') or []
        if not urls:
            return
        notification = base.Notification(alarm, previous, current, reason, reason_data)
        for url in urls:
            try:
                if self._stopping.is_set():
                    raise queue.Full('the notifiers are stopping')
                self._queue.put_nowait(_Delivery(url, notification))
            except queue.Full as exc:
                # Counted and logged only: recording would block the caller.
                self._counters.add('dropped', 1)
                LOG.error('alarm %s: notification to %s dropped: %s', alarm.get('alarm_id'),
                          actions.scrub(url), exc or 'the queue is full (%d)'
                          % self._policy.max_queue_length)
                continue
            self._counters.add('queued', 1)

    def _work(self):
        while True:
            try:
                item = self._queue.get(timeout=0.2)
            except queue.Empty:
                if self._stopping.is_set():
                    return
                continue
            try:
                if self._abandon.is_set():
                    self._finish(item, 'the notifiers stopped before it was sent')
                else:
                    self._deliver(item)
            except Exception:  # a bug must not end the thread: count it, go on
                LOG.exception('alarm notifier: unexpected error delivering to %s',
                              actions.scrub(item.action))
                self._counters.add('errors', 1)
            finally:
                self._queue.task_done()

    def _deliver(self, item):
        notifier = self._notifiers.get(urllib.parse.urlsplit(item.action).scheme)
        if notifier is None:
            self._finish(item, 'no notifier for this scheme')
            return

        def send():
            item.attempts += 1
            try:
                notifier.notify(item.action, item.notification)
            except delivery.SendError as exc:
                self._counters.add('failed', 1)
                if exc.permanent:
                    raise _Permanent(exc) from exc
                raise

        try:
            delivery.retry(send, delivery.SendError, self._policy.retries,
                           delivery.Backoff(self._conf.notifier_retry_backoff),
                           sleep=self._stopping.wait, on_retry=self._on_retry(item))
        except (delivery.SendError, _Permanent) as exc:
            self._finish(item, str(exc))
        else:
            self._finish(item, None)

    def _on_retry(self, item):
        def on_retry(error, retry, delay):
            self._counters.add('retried', 1)
            LOG.warning('alarm %s: %s failed (%s); retry %d in %.1f s',
                        item.notification.alarm.get('alarm_id'),
                        actions.scrub(item.action), error, retry, delay)
        return on_retry

    def _finish(self, item, error):
        """Count and record the outcome of a delivery."""
        notification = item.notification
        if error is None:
            self._counters.add('delivered', 1)
        else:
            self._counters.add('dropped', 1)
            LOG.error('alarm %s: notification to %s failed after %d attempt(s): %s',
                      notification.alarm.get('alarm_id'), actions.scrub(item.action),
                      item.attempts, error)
        if self._record is None:
            return
        detail = {'url': actions.scrub(item.action), 'state': notification.current,
                  'outcome': 'failed' if error else 'delivered', 'attempts': item.attempts,
                  'error': error, 'request_id': notification.request_id}
        try:
            self._record(notification.alarm, 'action', detail)
        except Exception:  # the history is best effort; the delivery happened or not
            LOG.exception('alarm %s: cannot record the action history',
                          notification.alarm.get('alarm_id'))
            self._counters.add('record_errors', 1)

    def stop(self, timeout=10.0):
        """Deliver what is queued for at most ``timeout`` s, then drop the rest."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        threads = self.threads()
        while threads and self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        self._abandon.set()
        for thread in threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        for notifier in self._notifiers.values():
            notifier.close()
        self._shared.close()


class _Permanent(Exception):
    """A SendError that sending again cannot help (out of ``retry``'s retryable errors)."""
