"""The watch map: the plan of every alarm this evaluator owns, and which alarms watch each
metric, so that a metric just aggregated names the alarms to evaluate."""

import dataclasses

from telewatch.alarms.evaluator import sources

# Every this many refreshes every alarm is planned again (a resource or metric deleted or
# replaced); in between only new, changed, unresolved and resource-searching ones.
REPLAN_EVERY = 6


class WatchMap:
    """Plans by alarm id (``plans``), the alarms whose rule cannot be evaluated
    (``invalid``: alarm id -> (alarm, error)), and metric id -> alarm ids."""

    def __init__(self):
        self.plans = {}
        self.invalid = {}
        self._by_metric = {}
        self._refreshes = 0

    def refresh(self, alarms, index):
        """Take ``alarms`` (those this evaluator owns, as the store gives them now) and
        plan those that need it through the archive's ``index``."""
        everything = self._refreshes % REPLAN_EVERY == 0
        self._refreshes += 1
        stale = [alarm for alarm in alarms if everything or self._stale(alarm)]
        planned = sources.plan_all(stale, index)
        plans, invalid = {}, {}
        for alarm in alarms:
            alarm_id = alarm['alarm_id']
            found = planned.get(alarm_id) or self.plans.get(alarm_id)
            if isinstance(found, sources.Plan):
                plans[alarm_id] = dataclasses.replace(found, alarm=alarm)
            else:
                invalid[alarm_id] = (alarm, found)
        self.plans, self.invalid = plans, invalid
        by_metric = {}
        for alarm_id, plan in plans.items():
            for metric_id in plan.metric_ids:
                by_metric.setdefault(metric_id, []).append(alarm_id)
        self._by_metric = by_metric

    def _stale(self, alarm):
        plan = self.plans.get(alarm['alarm_id'])
        return (plan is None or plan.stale
                or plan.alarm.get('timestamp') != alarm.get('timestamp'))

    def watching(self, metric_ids):
        """The plans of the alarms watching any of ``metric_ids``, each once."""
        alarm_ids = dict.fromkeys(alarm_id for metric_id in metric_ids
                                  for alarm_id in self._by_metric.get(metric_id, ()))
        return [self.plans[alarm_id] for alarm_id in alarm_ids]

    def update(self, alarm):
        """An alarm as the store has it now (after a transition): its plan follows it."""
        plan = self.plans.get(alarm['alarm_id'])
        if plan is not None:
            self.plans[alarm['alarm_id']] = dataclasses.replace(plan, alarm=alarm)

    def forget(self, alarm_id):
        self.plans.pop(alarm_id, None)
