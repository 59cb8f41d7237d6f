"""The alarm evaluation engine: from a threshold rule, the alarm's state, the datapoints read
for its window and ``now``, the new state, whether to notify, and why. Pure.

Two steps. ``judge`` says what the datapoints say (a ``Verdict``: alarm, ok, insufficient
data, or inconclusive); ``conclude`` weighs it against the alarm's current state and
``repeat_actions`` (an ``Evaluation``). ``evaluate`` is both, behind the time constraints.
Datapoints are ``(timestamp, granularity, value)`` as Gnocchi returns them, timestamps and
``now`` in seconds since the epoch (UTC). The rules are in doc/alarms.md.
"""

import dataclasses
import math

from telewatch.alarms import constraints
from telewatch.alarms import reasons
from telewatch.alarms import rules

OK = rules.OK
ALARM = rules.ALARM
INSUFFICIENT_DATA = rules.INSUFFICIENT_DATA

NO_DATAPOINT = rules.NO_DATAPOINT
TOO_FEW = rules.TOO_FEW
ALL_MISSING = rules.ALL_MISSING


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What one rule's datapoints say, before the alarm's state is weighed.

    ``state`` is ok, alarm or insufficient data, or None when inconclusive: then ``trend``
    is where the alarm goes out of insufficient data (the side of the most recent point,
    Aodh's mixed window), or None when it stays wherever it is (CloudWatch's ``ignore``).
    ``points`` are the evaluated ``(timestamp, value)``, oldest first; a filled period's
    value is None. ``breaching`` and ``inside`` count the evaluated points, fills
    included when the treatment gives them a side."""

    state: str = None
    trend: str = None
    points: tuple = ()
    breaching: int = 0
    inside: int = 0
    filled: int = 0
    premature: bool = False
    cause: str = None


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The outcome: store ``state`` (with ``reason`` and ``reason_data``) when it differs
    from ``previous``; call the actions of ``state`` when ``notify``. ``evaluated`` is
    False outside the time constraints, where nothing is done at all."""

    state: str
    previous: str
    notify: bool
    reason: str
    reason_data: dict
    evaluated: bool = True

    @property
    def changed(self):
        return self.state != self.previous


def evaluate(rule, previous, datapoints, now, repeat_actions=False, time_constraints=()):
    """Evaluate a ``rules.ThresholdRule`` for an alarm in state ``previous``."""
    check_state(previous)
    if not constraints.within(time_constraints, now):
        return outside_time_constraints(previous)
    return conclude(rule, judge(rule, datapoints, now), previous, repeat_actions)


def evaluate_acting(rule, previous, datapoints, now, repeat_actions=False,
                    time_constraints=()):
    """``evaluate``, but None where it would give an unchanged state and nothing to notify
    (then nothing is stored nor called): an evaluator of thousands of steady alarms spares
    their reasons, which are most of what a concluded evaluation costs."""
    check_state(previous)
    if not constraints.within(time_constraints, now):
        return outside_time_constraints(previous)
    verdict = judge(rule, datapoints, now)
    if not repeat_actions and next_state(verdict, previous) == previous:
        return None
    return conclude(rule, verdict, previous, repeat_actions)


def check_state(state):
    if state not in rules.STATES:
        raise ValueError('an alarm state is one of %s, not %r'
                         % (', '.join(rules.STATES), state))


def outside_time_constraints(previous):
    return Evaluation(previous, previous, False, 'Outside the time constraints',
                      {'type': 'time_constraints'}, evaluated=False)


def judge(rule, datapoints, now):
    """The ``Verdict`` of ``datapoints`` (only those at the rule's granularity count)."""
    points = sorted((timestamp, value) for timestamp, granularity, value in datapoints
                    if granularity == rule.granularity and _is_value(value))
    if rule.uses_periods:
        return _judge_periods(rule, points, now)
    return _judge_last_points(rule, points)


def next_state(verdict, previous):
    if verdict.state is not None:
        return verdict.state
    if previous == INSUFFICIENT_DATA and verdict.trend is not None:
        return verdict.trend
    return previous


def conclude(rule, verdict, previous, repeat_actions=False):
    """Weigh a verdict against the alarm's state: notify on a change of state, and on every
    evaluation with ``repeat_actions``."""
    state = next_state(verdict, previous)
    reason, reason_data = reasons.threshold(rule, verdict, state, previous)
    return Evaluation(state, previous, state != previous or bool(repeat_actions),
                      reason, reason_data)


def _is_value(value):
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _judge_last_points(rule, points):
    # Aodh: whatever their timestamps, the last N points; fewer is insufficient data.
    if not points:
        return Verdict(INSUFFICIENT_DATA, cause=NO_DATAPOINT)
    points = points[-rule.evaluation_periods:]
    if len(points) < rule.evaluation_periods:
        return Verdict(INSUFFICIENT_DATA, points=tuple(points), cause=TOO_FEW)
    breaching = sum(1 for _, value in points if rule.breaches(value))
    return _decide(rule, points, breaching, len(points) - breaching, 0)


def periods(rule, points, now):
    """The evaluation range: ``[(period start, value or None)]`` of the whole periods before
    the one ``now`` is in, oldest first. A point counts in the period it falls in."""
    span = rule.granularity
    count = rule.evaluation_range
    first = (math.floor(now / span) - count) * span
    values = [None] * count
    for timestamp, value in points:
        index = math.floor((timestamp - first) / span)
        if 0 <= index < count:
            values[index] = value
    return [(first + index * span, value) for index, value in enumerate(values)]


def _judge_periods(rule, points, now):
    n = rule.evaluation_periods
    in_range = periods(rule, points, now)
    real = [(start, value) for start, value in in_range if value is not None]
    if len(real) >= n:
        # Enough real points: the most recent N, whatever the treatment.
        breaching = sum(1 for _, value in real[-n:] if rule.breaches(value))
        return _decide(rule, real[-n:], breaching, n - breaching, 0)
    return _judge_filled(rule, in_range, real)


def _judge_filled(rule, in_range, real):
    # Fewer than N real points: every real point, and as few filled periods as make N
    # (the most recent missing ones).
    treat = rule.treat_missing_data
    filled = rule.evaluation_periods - len(real)
    missing = [(start, None) for start, value in in_range if value is None][-filled:]
    points = sorted(real + missing)
    if not real and treat in ('missing', 'ignore'):
        state = INSUFFICIENT_DATA if treat == 'missing' else None
        return Verdict(state, points=tuple(points), filled=filled, cause=ALL_MISSING)
    breaching = sum(1 for _, value in real if rule.breaches(value))
    inside = len(real) - breaching
    if treat == 'breaching':
        breaching += filled
    elif treat == 'notBreaching':
        inside += filled
    elif breaching < rule.datapoints_to_alarm and _premature(rule, in_range):
        state = ALARM if treat == 'missing' else None
        return Verdict(state, points=tuple(points), breaching=breaching, inside=inside,
                       filled=filled, premature=True)
    return _decide(rule, points, breaching, inside, filled)


def _premature(rule, in_range):
    """CloudWatch's premature-alarm rule: every real point breaches and the oldest is at
    least M periods old (the most recent period is 1 old)."""
    ages = [(len(in_range) - index, value) for index, (_, value) in enumerate(in_range)
            if value is not None]
    return (all(rule.breaches(value) for _, value in ages)
            and ages[0][0] >= rule.datapoints_to_alarm)


def _decide(rule, points, breaching, inside, filled):
    found = dict(points=tuple(points), breaching=breaching, inside=inside, filled=filled)
    if breaching >= rule.datapoints_to_alarm:
        return Verdict(ALARM, **found)
    if rule.style == rules.CLOUDWATCH or breaching == 0:
        return Verdict(OK, **found)
    # Aodh: a mixed window is inconclusive; out of insufficient data the most recent real
    # point decides.
    last = [value for _, value in points if value is not None][-1]
    return Verdict(None, trend=ALARM if rule.breaches(last) else OK, **found)
