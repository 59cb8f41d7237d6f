"""The alarm evaluator: evaluates the alarms watching the metrics the archive has just
aggregated (its "metrics aggregated" stream), and every alarm it owns on a periodic tick.

One loop thread (telewatch.loops: an unexpected error is logged, counted and backed off).
Each pass reads the alarms' datapoints in one batched read through the archive's door, lets
the engine (telewatch.alarms.evaluation / composite) decide, stores a change with the
store's compare-and-set ``transition`` and hands the actions to the notifiers. An alarm
whose datapoints cannot be read, or whose rule cannot be evaluated, keeps its state and
says why in its state reason.

The alarms and their recent series stay in memory between passes: a tick reads the
alarms whose version changed, and the series of the metrics the stream named since they
were read (reading.Recent); one tick in ``AFRESH_EVERY`` reads everything again.
"""

import collections
import datetime
import gc
import logging
import threading
import time

from telewatch import component_reports
from telewatch import delivery
from telewatch import loops
from telewatch.alarms import composite
from telewatch.alarms import evaluation
from telewatch.alarms.evaluator import partition as partition_mod
from telewatch.alarms.evaluator import reading
from telewatch.alarms.evaluator import sources
from telewatch.alarms.evaluator import watch as watch_mod
from telewatch.archive import errors as archive_errors

LOG = logging.getLogger(__name__)

KEPT = 'State kept: the datapoints cannot be read (%s)'
INVALID = 'State kept: the rule cannot be evaluated (%s)'
MAX_BACKOFF = 30.0
# Alarms read and decided together: enough to share a read, few enough that what a chunk
# allocates dies young (a pass over 10,000 at once spent half its time in the collector).
CHUNK = 500
# Seconds between two removals of the history older than [alarms] history_time_to_live.
HISTORY_EXPIRY_INTERVAL = 3600.0
# Every this many ticks one starts afresh: every alarm read from the store and planned
# again (a resource or metric deleted or replaced), every series read again (a row of the
# "metrics aggregated" stream lost); in between a tick reads the alarms that changed and
# the series of the metrics aggregated since they were last read.
AFRESH_EVERY = 6
# Reads of the stream a tick makes to learn what changed before it gives up and reads
# every series (a stream far ahead: READ_ROWS rows a read).
DRAIN_READS = 10


def utc(seconds):
    """Naive UTC datetime of seconds since the epoch (the store's timestamps)."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).replace(
        tzinfo=None)


def decide(plan, datapoints, now, store=None):
    """The engine's Evaluation of a plan's alarm over its leaves' datapoints (or the
    plan's own ``decide``'s, which may read the alarm ``store``); None for a threshold
    alarm that stays as it is with nothing to notify (``evaluation.evaluate_acting``)."""
    if plan.decide is not None:
        return plan.decide(plan, datapoints, now, store)
    alarm = plan.alarm
    repeat, constraints = alarm.get('repeat_actions'), alarm.get('time_constraints') or ()
    if plan.tree is not None:
        return composite.evaluate(plan.tree, alarm['state'], datapoints, now, repeat,
                                  constraints)
    return evaluation.evaluate_acting(plan.leaves[0].rule, alarm['state'], datapoints[0],
                                      now, repeat, constraints)


class AlarmEvaluator:
    """The evaluator of one process: ``start`` (returns at once), ``stop``, ``threads``,
    ``loop_errors``, ``counters``.

    ``store`` is an AlarmStore, ``archive`` an ArchiveStore, ``notifiers`` a Notifiers
    (each built from ``conf`` when not given), ``partition`` which alarms are this
    process's (partition.py), ``clock`` the time in seconds since the epoch.
    """

    def __init__(self, conf, store=None, archive=None, notifiers=None, partition=None,
                 clock=time.time):
        options = conf.alarms
        self.interval = options.evaluation_interval
        self.feed_interval = options.feed_interval
        self.lag = options.additional_ingestion_lag
        self.clock = clock
        self._owned = [store is None, archive is None]
        self.store = store if store is not None else _alarm_store(conf)
        self.archive = archive if archive is not None else _archive(conf)
        self.notifiers = (notifiers if notifiers is not None
                          else _notifiers(conf, self.record_action))
        self.partition = (partition if partition is not None
                          else partition_mod.from_url(options.coordination_url))
        self.watch = watch_mod.WatchMap()
        self.recent = reading.Recent()
        self.cursor = None
        self._versions = {}  # alarm id -> its version when last read (AlarmStore's)
        self._ticks = 0
        self.counters = collections.Counter()
        self.loop_errors = collections.Counter()
        self._next_tick = 0.0  # time.monotonic()
        self._next_expiry = 0.0  # time.monotonic()
        self._repeated = {}  # alarm id -> when its actions were last called
        self._stopping = threading.Event()
        self._thread = None
        self._reports = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self):
        """The notifiers first (they consume what the evaluator decides), then the loop."""
        self.notifiers.start()
        self._thread = loops.start_thread('alarm-evaluator', self._run, self._stopping)
        self._reports = component_reports.ComponentReports(self.archive)  # /v1/status
        self._reports.add('evaluator', lambda: component_reports.evaluator_report(
            self.counters, self.loop_errors))
        self._reports.start()

    def _run(self):
        loops.run('alarm-evaluator', self.step, self._stopping, self.loop_errors,
                  delivery.Backoff(self.feed_interval, MAX_BACKOFF))

    def stop(self):
        """Stop the loop once its pass is done, leave the group, flush the notifiers."""
        self._stopping.set()
        if self._thread not in (None, threading.current_thread()):
            self._thread.join()
        if self._reports is not None:
            self._reports.stop()
        self.partition.stop()
        self.notifiers.stop()
        if self._owned[0]:
            self.store.close()
        if self._owned[1]:
            self.archive.close()

    def threads(self):
        threads = [self._thread] if self._thread is not None else []
        # Only LoopThreads can tell that they ended unasked (telewatch.loops.ended).
        return threads + [thread for thread in self.notifiers.threads()
                          if isinstance(thread, loops.LoopThread)]

    def reload(self):
        """SIGHUP: nothing to re-read; what changed of the alarms comes from the store on
        every tick."""

    # -- the loop -----------------------------------------------------------------------

    def step(self):
        """A tick when one is due, then what the stream brought; the seconds to wait."""
        if time.monotonic() >= self._next_tick:
            self.tick()
            self._next_tick = time.monotonic() + self.interval
        if self.feed():
            return 0
        return max(0.0, min(self.feed_interval, self._next_tick - time.monotonic()))

    def tick(self, afresh=None):
        """Take what changed of the alarms this evaluator owns (all of them ``afresh``, by
        default every ``AFRESH_EVERY`` ticks) and evaluate every one."""
        if afresh is None:
            afresh = self._ticks % AFRESH_EVERY == 0
        self._ticks += 1
        if self.cursor is None:  # before reading the alarms: no aggregation goes unseen
            self.cursor, _ = self.archive.aggregated_since(None)
            afresh = True
        elif not self._drain():
            afresh = True
        if afresh:
            self.recent.clear()
        self._refresh(afresh)
        self.counters['ticks'] += 1
        now = self.clock()
        for alarm, error in list(self.watch.invalid.values()):
            self._keep_state(alarm, INVALID % error, 'invalid', now)
        self.evaluate(list(self.watch.plans.values()), now)
        # evaluate_timestamp says when a tick last evaluated the alarm (a write per push
        # would cost as much as the push's evaluations).
        self.store.set_evaluated(list(self.watch.plans), utc(now))
        self._expire_history(now)
        if afresh:
            _settle()

    def _drain(self):
        """Forget the series of the metrics aggregated since the stream was last read (the
        tick evaluates their alarms); whether the stream was read to its end."""
        for _ in range(DRAIN_READS):
            self.cursor, metric_ids = self.archive.aggregated_since(self.cursor)
            if not metric_ids:
                return True
            self.recent.forget(metric_ids)
            self.watch.aggregated(metric_ids)
        return False

    def _refresh(self, afresh):
        """The watch map of the alarms this evaluator owns now: the versions of all read,
        then only the alarms whose version changed (every alarm ``afresh``)."""
        versions = self.store.evaluable_versions(types=sources.TYPES)
        owned = self.partition.owned(list(versions))
        if afresh:
            changed = owned
            alarms = [alarm for alarm in self.store.evaluable(types=sources.TYPES)
                      if alarm['alarm_id'] in owned]
        else:
            changed = {alarm_id for alarm_id in owned
                       if self._versions.get(alarm_id) != versions[alarm_id]}
            alarms = (self.store.evaluable(types=sources.TYPES, ids=changed)
                      if changed else [])
        self.watch.refresh(alarms, self.archive.index, owned - changed, replan=afresh)
        # Once the map holds them: a refresh that failed leaves them to read again.
        self._versions = {alarm_id: versions[alarm_id] for alarm_id in owned}

    def _expire_history(self, now):
        """Once an hour (every evaluator: the deletion is idempotent), the history older
        than ``[alarms] history_time_to_live``."""
        if time.monotonic() < self._next_expiry:
            return
        self._next_expiry = time.monotonic() + HISTORY_EXPIRY_INTERVAL
        expired = self.store.expire_history(utc(now))
        if expired:
            LOG.info('Removed %d alarm history entries older than their time to live',
                     expired)

    def feed(self):
        """Evaluate the alarms watching the metrics aggregated since the last read;
        whether the stream had anything."""
        self.cursor, metric_ids = self.archive.aggregated_since(self.cursor)
        self.recent.forget(metric_ids)
        self.watch.aggregated(metric_ids)
        plans = self.watch.watching(metric_ids)
        if plans:
            self.counters['pushed'] += len(plans)
            self.evaluate(plans, self.clock())
        return bool(metric_ids)

    def evaluate(self, plans, now):
        """Evaluate ``plans`` at ``now``, ``CHUNK`` at a time: one read, then each alarm on
        its own (an alarm that fails is counted and logged, and the others go on)."""
        for start in range(0, len(plans), CHUNK):
            self._evaluate_chunk(plans[start:start + CHUNK], now)

    def _evaluate_chunk(self, plans, now):
        found = reading.read(plans, self.archive, now, self.lag, self.recent)
        for plan in plans:
            try:
                self._evaluate(plan, found[plan.alarm_id], now)
            except archive_errors.StorageUnavailable:
                raise
            except Exception:
                loops.count(self.loop_errors, 'alarm')
                LOG.exception('Alarm %s could not be evaluated; the others go on',
                              plan.alarm_id)

    def _evaluate(self, plan, datapoints, now):
        if isinstance(datapoints, sources.Unreadable):
            self._keep_state(plan.alarm, KEPT % datapoints, 'unreadable', now)
            return
        result = decide(plan, datapoints, now, self.store)
        self.counters['evaluations'] += 1
        if result is None or not result.evaluated:
            return
        alarm = plan.alarm
        if result.changed:
            alarm = self._transition(plan.alarm, result, now)
            if alarm is None:
                return
        elif not self._repeat_due(plan, now):
            return
        if result.notify:
            self._repeated[plan.alarm_id] = now
            self.counters['notifications'] += 1
            self.notifiers.notify(alarm, result.previous, result.state, result.reason,
                                  result.reason_data)

    def _repeat_due(self, plan, now):
        # Pushes come at every aggregation: repeat_actions calls the actions again once a
        # period (the rule's granularity), as Aodh's every evaluation_interval.
        last = self._repeated.get(plan.alarm_id)
        return last is None or now - last >= plan.period

    def _transition(self, alarm, result, now):
        stored = self.store.transition(alarm['alarm_id'], result.previous, result.state,
                                       result.reason, result.reason_data, utc(now))
        if stored is None:  # another writer (the API, another evaluator) was first
            self.counters['conflicts'] += 1
            try:
                self._update(self.store.get(alarm['alarm_id']))
            except LookupError:  # deleted meanwhile (NoSuchAlarm)
                self.watch.forget(alarm['alarm_id'])
            return None
        self.counters['transitions'] += 1
        self._update(stored)
        return stored

    def _keep_state(self, alarm, reason, kind, now):
        """The alarm stays as it is; its reason says why, once (no action is called)."""
        self.counters[kind] += 1
        if alarm.get('state_reason') == reason:
            return
        LOG.warning('Alarm %s: %s', alarm['alarm_id'], reason)
        stored = self.store.transition(alarm['alarm_id'], alarm['state'], alarm['state'],
                                       reason, {'type': kind, 'error': reason}, utc(now))
        if stored is not None:
            self._update(stored)

    def _update(self, alarm):
        """The alarm as the store has it after a write here: the next tick reads it again
        whatever its version (what this process knows of it came after the version it
        read, which another writer may bring back)."""
        self.watch.update(alarm)
        self._versions.pop(alarm['alarm_id'], None)

    def record_action(self, alarm, kind, detail):
        """The notifiers' ``record``: an ``action`` entry in the alarm's history."""
        self.store.record_action(alarm, kind, detail, utc(self.clock()))


def _alarm_store(conf):
    from telewatch.alarms import storage
    store = storage.AlarmStore.from_conf(conf)
    store.upgrade()
    return store


def _archive(conf):
    from telewatch.archive import store as store_mod
    return store_mod.ArchiveStore.from_conf(conf)


def _notifiers(conf, record):
    from telewatch.alarms import notifiers
    return notifiers.Notifiers(conf, record=record)


def _settle():
    """Take what lives now (the alarms, their plans, the series read) out of the cyclic
    garbage collector's sight: they stay until replaced, and a full collection walking all
    of them again and again as pushes replace series cost a pass as much as its reads.
    They are still freed when no longer referenced (none holds a cycle)."""
    gc.freeze()
