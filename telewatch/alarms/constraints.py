"""Aodh's time constraints: an alarm is evaluated only while ``now`` is inside one of them.
Pure (``zoneinfo`` reads the system's time zone database, nothing else).

A constraint is ``{start, duration, timezone}`` (``name`` and ``description`` are the API's):
``start`` a five-field cron expression (minute precision, as croniter reads it), ``duration``
seconds, ``timezone`` an IANA name (UTC when empty or absent). Inside means from a start to
that start plus the duration, both included; a start is read in the constraint's zone, so
``0 22 * * *`` for 14,400 s in Europe/Paris is 22:00 to 02:00 Paris time across midnight.
"""

import datetime
import zoneinfo

import croniter

from telewatch.alarms import rules

_UTC = datetime.timezone.utc
_MINUTE = datetime.timedelta(minutes=1)


def within(time_constraints, now):
    """Whether ``now`` (seconds since the epoch) is inside one of ``time_constraints``; true
    when there are none."""
    if not time_constraints:
        return True
    moment = datetime.datetime.fromtimestamp(now, _UTC)
    return any(_inside(constraint, moment) for constraint in time_constraints)


def check(time_constraints):
    """Raise ``rules.InvalidRule`` naming the first field that cannot be evaluated."""
    for index, constraint in enumerate(time_constraints):
        where = 'time_constraints[%d].' % index
        if not croniter.croniter.is_valid(constraint.get('start') or ''):
            raise rules.InvalidRule(where + 'start', 'not a cron expression: %r'
                                    % (constraint.get('start'),))
        duration = constraint.get('duration')
        if isinstance(duration, bool) or not isinstance(duration, int) or duration < 0:
            raise rules.InvalidRule(where + 'duration', 'whole seconds of at least 0, not %r'
                                    % (duration,))
        try:
            zone_of(constraint.get('timezone'))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise rules.InvalidRule(where + 'timezone', 'unknown time zone %r'
                                    % (constraint.get('timezone'),)) from None


def zone_of(name):
    return zoneinfo.ZoneInfo(name) if name else _UTC


def latest_start(expression, local):
    """The latest start at or before ``local`` (an aware datetime in the constraint's zone)."""
    # croniter's previous fire before the next minute: a start in this very minute counts.
    following = local.replace(second=0, microsecond=0) + _MINUTE
    return croniter.croniter(expression, following).get_prev(datetime.datetime)


def _inside(constraint, moment):
    local = moment.astimezone(zone_of(constraint.get('timezone')))
    # Compared in UTC: aware datetimes of one zone compare by wall clock, wrong across DST.
    start = latest_start(constraint['start'], local).astimezone(_UTC)
    return start <= moment <= start + datetime.timedelta(seconds=constraint['duration'])
