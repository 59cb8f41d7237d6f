"""Event alarms' listener (Aodh's aodh-listener): the notification agent hands it the service
notifications it receives; it moves the matching enabled event alarms of the event's project
to alarm (the store's compare-and-set) and notifies their actions.

It runs beside the agent's pipeline, never in its way: ``tap`` queues a notification and
returns (a full queue drops it, counted); one worker thread evaluates the queue. The
alarms of a project are read once per ``[alarms] event_alarm_cache_ttl`` seconds.
"""

import collections
import logging
import queue
import threading
import time

from oslo_config import cfg

from telewatch import delivery
from telewatch import loops
from telewatch.alarms import events
from telewatch.archive import errors as archive_errors

LOG = logging.getLogger(__name__)
GROUP = 'alarms'
OPTS = [
    cfg.BoolOpt('event_alarms', default=False,
                help='Whether the notification agent evaluates event alarms on the '
                     'notifications of the other services it receives (it needs the alarm '
                     'store, [alarms] connection).'),
    cfg.IntOpt('event_alarm_cache_ttl', default=60, min=0,
               help='Seconds the event alarms of a project are kept before they are read '
                    'again (a new or changed alarm is seen after at most that long); 0: '
                    'read them for every event.'),
    cfg.IntOpt('event_alarm_queue_length', default=10000, min=1,
               help='Notifications waiting for the event alarms before new ones are '
                    'dropped (counted and logged).'),
]
STORE_RETRIES = 3
_FILTER = ({'=': {'type': 'event'}}, {'=': {'enabled': True}})


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def list_opts():
    return [(GROUP, OPTS)]


def from_conf(conf):
    """The listener of the notification agent, or None when ``[alarms] event_alarms`` is
    off. Its store is the alarm store of ``[alarms] connection``; its notifiers record the
    actions in the alarms' history."""
    register_opts(conf)
    if not conf.alarms.event_alarms:
        return None
    from telewatch.alarms import notifiers as notifiers_mod
    from telewatch.alarms import storage
    store = storage.AlarmStore.from_conf(conf)
    return EventAlarmListener(conf, store, lambda record: notifiers_mod.Notifiers(
        conf, record=record))


class EventAlarmListener:
    """Fires event alarms. ``store`` is an AlarmStore; ``make_notifiers(record)`` makes the
    Notifiers it notifies through (``record`` writes the action history)."""

    def __init__(self, conf, store, make_notifiers, clock=time.monotonic):
        register_opts(conf)
        self._ttl = conf.alarms.event_alarm_cache_ttl
        self.store = store
        self.notifiers = make_notifiers(self.record_action)
        self._clock = clock
        self._cache = {}  # project id -> (read at, [(alarm, rule)])
        self._queue = queue.Queue(conf.alarms.event_alarm_queue_length)
        self._counters = delivery.Counters()
        self._stopping = threading.Event()
        self._thread = None
        self.loop_errors = collections.Counter()

    # -- the agent's side ----------------------------------------------------------------------

    def tap(self, decoder):
        """``decoder`` (the agent's notification decoder) that also queues each message
        for the event alarms."""
        def decode(message):
            self.submit(message)
            return decoder(message)
        return decode

    def submit(self, message):
        """Queue one notification (never blocks, never raises)."""
        try:
            self._queue.put_nowait(message)
        except queue.Full:
            if self._counters.add('dropped', 1) == 1 or not self._counters['dropped'] % 1000:
                LOG.error('event alarms: the queue is full (%d): %d notifications dropped so '
                          'far', self._queue.maxsize, self._counters['dropped'])

    def start(self):
        self.notifiers.start()
        if self._thread is None:
            self._thread = loops.start_thread('event-alarms', loops.run, self._stopping,
                                              'event alarms', self._step, self._stopping,
                                              self.loop_errors)

    def threads(self):
        return ([self._thread] if self._thread else []) + self.notifiers.threads()

    def counters(self):
        counts = dict(self._counters)
        counts['queue_length'] = self._queue.qsize()
        counts['notifiers'] = self.notifiers.counters()
        return counts

    def stop(self, timeout=10.0):
        """Evaluate what is queued (for at most ``timeout`` s), then stop the notifiers."""
        deadline = time.monotonic() + timeout
        while (self._thread is not None and self._queue.unfinished_tasks
               and time.monotonic() < deadline):
            time.sleep(0.02)
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(max(0.1, deadline - time.monotonic()))
        self.notifiers.stop(timeout)

    # -- the worker ----------------------------------------------------------------------------

    def _step(self):
        """Evaluate one queued notification (the step of the worker's loop)."""
        try:
            message = self._queue.get(timeout=0.2)
        except queue.Empty:
            return None
        try:
            delivery.retry(lambda: self.handle(message), archive_errors.StorageUnavailable,
                           STORE_RETRIES, delivery.Backoff(), sleep=self._stopping.wait,
                           on_retry=self._on_retry)
        except Exception:  # one notification's failure must not end the thread
            LOG.exception('event alarms: a notification %s is not evaluated',
                          message.get('event_type'))
            self._counters.add('errors', 1)
        finally:
            self._queue.task_done()
        return None

    def _on_retry(self, error, retry, delay):
        LOG.warning('event alarms: the alarm store failed (%s); retry %d in %.1f s',
                    error, retry, delay)
        self._counters.add('store_retries', 1)

    def handle(self, message):
        """Evaluate the event alarms of one notification (synchronously)."""
        self._counters.add('received', 1)
        ctxt = message.get('ctxt')
        if hasattr(ctxt, 'to_dict'):  # oslo.messaging's RabbitMQ driver: an RpcContext
            message = dict(message, ctxt=ctxt.to_dict())
        try:
            event = events.from_notification(message)
        except ValueError:
            self._counters.add('invalid', 1)
            return
        project_id = event.project_id
        if not project_id:
            return
        for alarm, rule in self._alarms_of(project_id):
            if events.fires(alarm, rule, event):
                self._fire(alarm, rule, event)

    def _alarms_of(self, project_id):
        cached = self._cache.get(project_id)
        now = self._clock()
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        alarms = []
        for alarm in self.store.search({'and': list(_FILTER) + [
                {'=': {'project_id': project_id}}]}):
            try:
                alarms.append((alarm, events.EventRule.from_aodh(alarm.get('rule'))))
            except events.InvalidEventRule as exc:
                LOG.error('event alarm %s cannot be evaluated: %s', alarm['alarm_id'], exc)
                self._counters.add('invalid_rules', 1)
        if self._ttl:
            self._cache[project_id] = (now, alarms)
        return alarms

    def _fire(self, alarm, rule, event):
        reason, reason_data = events.firing(rule, event)
        previous = alarm['state']
        stored = self.store.transition(alarm['alarm_id'], previous, events.ALARM, reason,
                                       reason_data)
        if stored is None:  # changed since it was read: decide again on what is stored
            self._counters.add('conflicts', 1)
            self._cache.pop(alarm.get('project_id'), None)
            try:
                alarm = self.store.get(alarm['alarm_id'])
            except LookupError:
                return
            if not alarm.get('enabled') or not events.fires(alarm, rule, event):
                return
            previous = alarm['state']
            stored = self.store.transition(alarm['alarm_id'], previous, events.ALARM,
                                           reason, reason_data)
            if stored is None:
                return
        self._counters.add('fired', 1)
        self._update_cache(stored, rule)
        LOG.info('event alarm %s: %s -> alarm: %s', stored['alarm_id'], previous, reason)
        self.notifiers.notify(stored, previous, events.ALARM, reason, reason_data)

    def _update_cache(self, stored, rule):
        cached = self._cache.get(stored.get('project_id'))
        if cached is None:
            return
        cached[1][:] = [(stored, rule) if alarm['alarm_id'] == stored['alarm_id']
                        else (alarm, rule_of) for alarm, rule_of in cached[1]]

    def record_action(self, alarm, kind, detail):
        """The notifiers' ``record``: an ``action`` entry in the alarm's history."""
        self.store.record_action(alarm, kind, detail)
