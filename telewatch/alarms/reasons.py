"""Reason texts and reason_data of threshold evaluations: Aodh's wording for Aodh rules,
CloudWatch's ("Threshold Crossed: ...") for CloudWatch rules. Pure.
"""

import datetime

from telewatch.alarms import rules

_PHRASES = {
    'lt': 'less than', 'le': 'less than or equal to', 'eq': 'equal to',
    'ne': 'not equal to', 'ge': 'greater than or equal to', 'gt': 'greater than',
}
_TREATMENTS = {'missing': 'Missing', 'ignore': 'Ignore', 'breaching': 'Breaching',
               'notBreaching': 'NonBreaching'}
_CLOUDWATCH_STATES = {rules.OK: 'OK', rules.ALARM: 'ALARM',
                      rules.INSUFFICIENT_DATA: 'INSUFFICIENT_DATA'}


def threshold(rule, verdict, state, previous):
    """``(reason, reason_data)`` of a rule's verdict that leaves the alarm in ``state``."""
    values = [value for _, value in verdict.points if value is not None]
    data = {'type': 'threshold', 'disposition': _disposition(state),
            'count': _count(rule, verdict, state),
            'most_recent': values[-1] if values else None}
    if rule.style == rules.CLOUDWATCH:
        data.update(period=rule.granularity, threshold=rule.threshold,
                    evaluatedDatapoints=_evaluated(verdict))
        return _cloudwatch(rule, verdict, state, previous), data
    return _aodh(rule, verdict, state, previous, data), data


def _disposition(state):
    return {rules.OK: 'inside', rules.ALARM: 'outside'}.get(state, 'unknown')


def _count(rule, verdict, state):
    # Inside: every evaluated point that does not breach (Aodh's "len - outside").
    if state == rules.ALARM:
        return verdict.breaching
    if state == rules.OK:
        return len(verdict.points) - verdict.breaching
    return rule.evaluation_periods


def _aodh(rule, verdict, state, previous, data):
    if state == rules.INSUFFICIENT_DATA:
        if verdict.cause == rules.NO_DATAPOINT:
            return 'No datapoint for granularity %s' % _number(rule.granularity)
        return '%d datapoints are unknown' % rule.evaluation_periods
    words = dict(data, state=state)
    if state != previous:
        return ('Transition to %(state)s due to %(count)d samples %(disposition)s '
                'threshold, most recent: %(most_recent)s' % words)
    return ('Remaining as %(state)s due to %(count)d samples %(disposition)s threshold, '
            'most recent: %(most_recent)s' % words)


def _cloudwatch(rule, verdict, state, previous):
    if verdict.state is None and state == previous and not verdict.trend:
        return ('Unchanged: %s treated as [%s] leave the state %s.'
                % (_plural(verdict.filled, 'missing datapoint'),
                   _TREATMENTS[rule.treat_missing_data], _CLOUDWATCH_STATES[state]))
    if state == rules.INSUFFICIENT_DATA:
        return 'Insufficient Data: %s %s unknown.' % (
            _plural(verdict.filled or rule.evaluation_periods, 'datapoint'),
            _were(verdict.filled or rule.evaluation_periods))
    if verdict.filled == rule.evaluation_periods:
        return 'Threshold Crossed: no datapoints were received for %s and %s.' % (
            _plural(verdict.filled, 'period'), _treated(rule, verdict))
    return _crossed(rule, verdict, state, previous)


def _crossed(rule, verdict, state, previous):
    n, m = rule.evaluation_periods, rule.datapoints_to_alarm
    count = _count(rule, verdict, state)
    minimum = m if state == rules.ALARM else n - m + 1
    phrase = _PHRASES[rule.comparison_operator]
    if state == rules.OK:
        phrase = 'not ' + phrase
    real = [(start, value) for start, value in reversed(verdict.points) if value is not None]
    text = ('Threshold Crossed: %d out of the last %d datapoints [%s] %s %s the threshold '
            '(%s) (minimum %s for %s -> %s transition).' % (
                count, n, ', '.join('%s (%s)' % (float(value), _date(start))
                                    for start, value in real),
                _were(count), phrase, float(rule.threshold), _plural(minimum, 'datapoint'),
                _CLOUDWATCH_STATES[previous], _CLOUDWATCH_STATES[state]))
    if verdict.premature:
        text += (' The oldest is at least %s old and none newer is inside.'
                 % _plural(m, 'period'))
    if verdict.filled:
        treated = _treated(rule, verdict)
        text += ' %s%s.' % (treated[0].upper(), treated[1:])
    return text


def _treated(rule, verdict):
    return '%s %s treated as [%s]' % (_plural(verdict.filled, 'missing datapoint'),
                                      _were(verdict.filled),
                                      _TREATMENTS[rule.treat_missing_data])


def _evaluated(verdict):
    # Most recent first, as CloudWatch's StateReasonData lists them.
    return [{'timestamp': start} if value is None else {'timestamp': start, 'value': value}
            for start, value in reversed(verdict.points)]


def _plural(count, noun):
    return '%d %s%s' % (count, noun, '' if count == 1 else 's')


def _were(count):
    return 'was' if count == 1 else 'were'


def _number(value):
    return int(value) if float(value).is_integer() else value


def _date(timestamp):
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    return moment.strftime('%d/%m/%y %H:%M:%S')
