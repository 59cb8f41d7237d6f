"""Fakes of the alarm store and the notifiers (their real ones are tested on their own and
with the evaluator in tests/functional), and the alarms the evaluator tests make."""

import copy
import datetime
import uuid

T0 = datetime.datetime(2026, 12, 7, 10, 0, 0)


def alarm(kind, rule, state='insufficient data', **fields):
    found = {'alarm_id': str(uuid.uuid4()), 'name': 'a', 'type': kind, 'enabled': True,
             'project_id': 'p', 'user_id': 'u', 'severity': 'low', 'state': state,
             'state_reason': 'Not evaluated yet', 'reason_data': None,
             'state_timestamp': T0, 'timestamp': T0, 'evaluate_timestamp': None,
             'repeat_actions': False, 'ok_actions': ['http://ok'],
             'alarm_actions': ['http://alarm'], 'insufficient_data_actions': [],
             'time_constraints': [], 'rule': rule}
    found.update(fields)
    return found


class AlarmStore:
    """The spec's AlarmStore as the evaluator calls it, in memory."""

    def __init__(self, *alarms):
        self.alarms = {a['alarm_id']: copy.deepcopy(a) for a in alarms}
        self.history = []
        self.evaluated = []
        self.expired = []
        self.fail = None  # an exception evaluable() raises
        self.reads = []  # the ids evaluable() was asked for (None: all)

    def evaluable(self, types=None, ids=None):
        if self.fail is not None:
            raise self.fail
        self.reads.append(None if ids is None else sorted(ids))
        return [copy.deepcopy(a) for a in self.alarms.values()
                if a['enabled'] and (types is None or a['type'] in types)
                and (ids is None or a['alarm_id'] in ids)]

    def evaluable_versions(self, types=None):
        if self.fail is not None:
            raise self.fail
        return {a['alarm_id']: (a['timestamp'], a['state_timestamp'], a['state'])
                for a in self.alarms.values()
                if a['enabled'] and (types is None or a['type'] in types)}

    def get(self, alarm_id):
        return copy.deepcopy(self.alarms[alarm_id])

    def transition(self, alarm_id, previous, state, reason, reason_data, now):
        stored = self.alarms[alarm_id]
        if stored['state'] != previous:
            return None
        stored.update(state=state, state_reason=reason, reason_data=reason_data,
                      state_timestamp=now)
        self.history.append((alarm_id, 'state transition', state, reason))
        return copy.deepcopy(stored)

    def set_evaluated(self, alarm_ids, now):
        self.evaluated.append(list(alarm_ids))

    def record_history(self, alarm_id, kind, detail, user_id, project_id, on_behalf_of,
                       severity, timestamp):
        self.history.append((alarm_id, kind, detail))

    def record_action(self, alarm, kind, detail, timestamp=None):
        self.history.append((alarm['alarm_id'], kind, detail))

    def expire_history(self, now=None):
        self.expired.append(now)
        return 0

    def close(self):
        pass


class Notifiers:
    def __init__(self):
        self.calls = []
        self.started = self.stopped = False

    def start(self):
        self.started = True

    def stop(self):
        self.stopped = True

    def threads(self):
        return []

    def notify(self, alarm, previous, current, reason, reason_data):
        self.calls.append((alarm['alarm_id'], previous, current, reason))


class Partition:
    def __init__(self, owned):
        self.own = set(owned)
        self.stopped = False

    def owned(self, alarm_ids):
        return {a for a in alarm_ids if a in self.own}

    def stop(self):
        self.stopped = True
