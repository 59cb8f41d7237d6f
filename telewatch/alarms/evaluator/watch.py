"""The watch map: the plan of every alarm this evaluator owns, and which alarms watch each
metric, so that a metric just aggregated names the alarms to evaluate."""

import dataclasses

from telewatch.alarms.evaluator import sources

# Metric ids remembered as seen; past this they are forgotten (each then forgets once more
# what the readers kept).
MAX_SEEN = 1_000_000


class WatchMap:
    """Plans by alarm id (``plans``), the alarms whose rule cannot be evaluated
    (``invalid``: alarm id -> (alarm, error)), and metric id -> alarm ids."""

    def __init__(self):
        self.plans = {}
        self.invalid = {}
        self._by_metric = {}  # metric id -> {alarm id: None} (ordered, each once)
        self._watched = {}  # alarm id -> the metric ids it is in _by_metric under
        # Alarms planned again at every refresh: those that cannot be resolved or be
        # evaluated, and those searching for resources.
        self._unsettled = set()
        self._seen = set()  # metric ids the stream named (see aggregated)

    def refresh(self, alarms, index, unchanged=(), replan=False):
        """Take ``alarms`` (new or changed alarms this evaluator owns, as the store gives
        them now), keep those of the ids ``unchanged`` (a set) as they are and forget any
        other; plan through the archive's ``index`` the new ones, those whose definition
        changed, those that cannot be resolved or search for resources, and with
        ``replan`` all."""
        current = {alarm['alarm_id']: alarm for alarm in alarms}
        for alarm_id in list(self.plans) + list(self.invalid):
            if alarm_id not in current and alarm_id not in unchanged:
                self.forget(alarm_id)
        stale = [alarm for alarm in current.values() if replan or self._stale(alarm)]
        for alarm_id in list(self.plans) + list(self.invalid) if replan else self._unsettled:
            if alarm_id not in current:
                stale.append(self.alarm(alarm_id))
        planned = sources.plan_all(stale, index)
        for alarm_id, alarm in current.items():  # its state alone changed: the plan stands
            if alarm_id not in planned:
                self.plans[alarm_id] = dataclasses.replace(self.plans[alarm_id], alarm=alarm)
        for alarm in stale:
            self._set(alarm, planned[alarm['alarm_id']])

    def alarm(self, alarm_id):
        """The alarm as this map has it (KeyError)."""
        plan = self.plans.get(alarm_id)
        return plan.alarm if plan is not None else self.invalid[alarm_id][0]

    def _stale(self, alarm):
        plan = self.plans.get(alarm['alarm_id'])
        return (plan is None or alarm['alarm_id'] in self._unsettled
                or plan.alarm.get('timestamp') != alarm.get('timestamp'))

    def _set(self, alarm, found):
        alarm_id = alarm['alarm_id']
        self._unindex(alarm_id)
        if not isinstance(found, sources.Plan):
            self.plans.pop(alarm_id, None)
            self.invalid[alarm_id] = (alarm, found)
            self._unsettled.add(alarm_id)
            return
        self.invalid.pop(alarm_id, None)
        self.plans[alarm_id] = found
        if found.stale:
            self._unsettled.add(alarm_id)
        self._watched[alarm_id] = metric_ids = found.metric_ids
        for metric_id in metric_ids:
            self._by_metric.setdefault(metric_id, {})[alarm_id] = None

    def _unindex(self, alarm_id):
        self._unsettled.discard(alarm_id)
        for metric_id in self._watched.pop(alarm_id, ()):
            watching = self._by_metric.get(metric_id, {})
            watching.pop(alarm_id, None)
            if not watching:
                self._by_metric.pop(metric_id, None)

    def watching(self, metric_ids):
        """The plans of the alarms watching any of ``metric_ids``, each once."""
        alarm_ids = dict.fromkeys(alarm_id for metric_id in metric_ids
                                  for alarm_id in self._by_metric.get(metric_id, ()))
        return [self.plans[alarm_id] for alarm_id in alarm_ids]

    def aggregated(self, metric_ids):
        """Metrics the archive just aggregated. One it never named before may be one an
        alarm's reader would find now and did not (a CloudWatch metric, or a statistic
        set's companion, put after the alarm was made): what readers kept is forgotten."""
        watched, seen = self._by_metric, self._seen
        new = [m for m in metric_ids if m not in seen and m not in watched]
        if not new:
            return
        if len(seen) > MAX_SEEN:
            seen.clear()
        seen.update(new)
        for plan in self.plans.values():
            if plan.kept:
                plan.kept.clear()

    def update(self, alarm):
        """An alarm as the store has it now (after a transition): its plan follows it."""
        plan = self.plans.get(alarm['alarm_id'])
        if plan is not None:
            self.plans[alarm['alarm_id']] = dataclasses.replace(plan, alarm=alarm)
        elif alarm['alarm_id'] in self.invalid:
            self.invalid[alarm['alarm_id']] = (alarm, self.invalid[alarm['alarm_id']][1])

    def forget(self, alarm_id):
        self._unindex(alarm_id)
        self.plans.pop(alarm_id, None)
        self.invalid.pop(alarm_id, None)
