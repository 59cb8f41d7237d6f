"""CloudWatch alarms as the alarm store keeps them and as the API shows them: PutMetricAlarm's
and PutCompositeAlarm's parameters checked into a stored rule, and back to AWS's shapes.

A CloudWatch alarm is an AlarmStore alarm of type ``cloudwatch_metric`` or
``cloudwatch_composite`` whose ``rule`` holds the Put call's definition under AWS's member
names (so ``rules.ThresholdRule.from_cloudwatch`` reads it as it is); its id derives from
its project and name (names are unique per project, and the history of a deleted alarm is
found again by its name). Pure: no I/O.
"""

import base64
import binascii
import datetime
import json
import math
import re
import uuid

from telewatch.alarms import rules
from telewatch.cloudwatch import alarm_rule
from telewatch.cloudwatch import errors

METRIC = 'cloudwatch_metric'
COMPOSITE = 'cloudwatch_composite'
TYPES = (METRIC, COMPOSITE)
ALARM_TYPES = {METRIC: 'MetricAlarm', COMPOSITE: 'CompositeAlarm'}
STATES = {'OK': rules.OK, 'ALARM': rules.ALARM, 'INSUFFICIENT_DATA': rules.INSUFFICIENT_DATA}
CLOUDWATCH_STATES = {value: key for key, value in STATES.items()}
ACTION_LISTS = (('OKActions', 'ok_actions'), ('AlarmActions', 'alarm_actions'),
                ('InsufficientDataActions', 'insufficient_data_actions'))
INITIAL_REASON = 'Unchecked: Initial alarm creation'
ANOMALY_OPERATORS = ('LessThanLowerOrGreaterThanUpperThreshold', 'LessThanLowerThreshold',
                     'GreaterThanUpperThreshold')
TREAT_MISSING_DATA = rules.TREAT_MISSING_DATA
LOW_SAMPLE_COUNT = ('evaluate', 'ignore')
MAX_ACTIONS = 5  # per state, AWS's limit
_NAMESPACE = uuid.UUID('5c1f3d52-77a4-4d0e-9a4e-3b2f0c9d6e11')
_PERCENTILE = re.compile(r'^p(\d{1,3}(?:\.\d{1,2})?)$')
_METRIC_FIELDS = ('Namespace', 'MetricName', 'Dimensions', 'Statistic', 'ExtendedStatistic',
                  'Period', 'Unit', 'EvaluationPeriods', 'DatapointsToAlarm', 'Threshold',
                  'ComparisonOperator', 'TreatMissingData', 'EvaluateLowSampleCountPercentile',
                  'Metrics', 'ThresholdMetricId')
_UNSUPPORTED = ('EvaluationCriteria', 'EvaluationInterval', 'ActionsSuppressor',
                'ActionsSuppressorWaitPeriod', 'ActionsSuppressorExtensionPeriod')


def alarm_id(project_id, name):
    """The store id of a project's CloudWatch alarm of that name (the same after a delete
    and a new put, as CloudWatch's history follows a name)."""
    return str(uuid.uuid5(_NAMESPACE, '%s/%s' % (project_id, name)))


def arn(region, project_id, name):
    return 'arn:aws:cloudwatch:%s:%s:alarm:%s' % (region, project_id, name)


def invalid(message):
    return errors.InvalidParameterValue(message)


def combination(message):
    return errors.InvalidParameterCombination(message)


# -- PutMetricAlarm ---------------------------------------------------------------------------

def metric_rule(params):
    """The stored rule of PutMetricAlarm's ``params`` (checked as CloudWatch checks them);
    InvalidParameterValue / InvalidParameterCombination / MissingParameter otherwise."""
    _refuse_unsupported(params)
    rule = {key: params[key] for key in _METRIC_FIELDS if key in params}
    if 'Metrics' in params:
        _check_math(params)
    else:
        _check_single_metric(params)
    _check_operator(params)
    _check_evaluation(params)
    rule['Dimensions'] = sorted(params.get('Dimensions', []), key=lambda d: d['Name'])
    rule.setdefault('TreatMissingData', 'missing')
    return rule


def _refuse_unsupported(params):
    for key in _UNSUPPORTED:
        if key in params:
            raise invalid('%s is not supported by this CloudWatch API.' % key)


def _check_single_metric(params):
    for key in ('MetricName', 'Namespace', 'Period'):
        if key not in params:
            raise errors.MissingParameter(
                'The parameter %s is required unless Metrics is specified.' % key)
    if ('Statistic' in params) == ('ExtendedStatistic' in params):
        raise combination('Exactly one of the Statistic and ExtendedStatistic parameters '
                          'must be specified.')
    if len(params.get('Dimensions', [])) > 30:
        raise invalid('The collection Dimensions must not have a size greater than 30.')
    if 'ExtendedStatistic' in params:
        percentile(params['ExtendedStatistic'])
    elif 'EvaluateLowSampleCountPercentile' in params:
        raise combination('EvaluateLowSampleCountPercentile may only be used with a '
                          'percentile ExtendedStatistic.')
    low = params.get('EvaluateLowSampleCountPercentile')
    if low is not None and low not in LOW_SAMPLE_COUNT:
        raise invalid('The value %s for parameter EvaluateLowSampleCountPercentile is not '
                      'supported. Supported values: %s.' % (low, ', '.join(LOW_SAMPLE_COUNT)))
    check_period('Period', params['Period'])


def percentile(statistic):
    """The percentile of an ExtendedStatistic (p0 to p100, two decimals at most); the
    trimmed and windsorized statistics (tm99, wm90, TC(..), ...) are refused."""
    match = _PERCENTILE.match(statistic)
    if match is None or float(match.group(1)) > 100:
        raise invalid('The value %s for parameter ExtendedStatistic is not supported: '
                      'this CloudWatch API evaluates percentiles p0 to p100 only.'
                      % statistic)
    return float(match.group(1))


def check_period(field, period):
    if period not in (10, 20, 30) and period % 60:
        raise invalid('The parameter %s must be 10, 20, 30 or a multiple of 60.' % field)


def _check_math(params):
    for key in ('MetricName', 'Namespace', 'Statistic', 'ExtendedStatistic', 'Dimensions',
                'Period', 'Unit'):
        if key in params:
            raise combination('The parameters Metrics and %s are mutually exclusive.' % key)
    queries = params['Metrics']
    ids = [query['Id'] for query in queries]
    if len(set(ids)) != len(ids):
        raise invalid('The Metrics ids must be unique.')
    returned = [q for q in queries if q.get('ReturnData', True)]
    if len(returned) != 1:
        raise invalid('Exactly one element of the Metrics list must return data.')
    for query in queries:
        if ('MetricStat' in query) == ('Expression' in query):
            raise combination('Exactly one of MetricStat and Expression must be specified '
                              'for the Metrics element %s.' % query['Id'])
        if 'MetricStat' in query:
            check_period('Metrics.MetricStat.Period', query['MetricStat']['Period'])


def _check_operator(params):
    operator = params.get('ComparisonOperator')
    if operator in ANOMALY_OPERATORS or 'ThresholdMetricId' in params:
        raise invalid('Anomaly detection alarms (ComparisonOperator %s, ThresholdMetricId) are '
                      'not supported by this CloudWatch API: use a static Threshold with '
                      'GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold '
                      'or LessThanOrEqualToThreshold.' % operator)
    if operator not in rules.CLOUDWATCH_OPERATORS:
        raise errors.MissingParameter('The parameter ComparisonOperator is required.')
    if 'Threshold' not in params:
        raise errors.MissingParameter('The parameter Threshold is required.')
    if not math.isfinite(params['Threshold']):
        raise invalid('The parameter Threshold must be a finite number.')


def _check_evaluation(params):
    if 'EvaluationPeriods' not in params:
        raise errors.MissingParameter('The parameter EvaluationPeriods is required.')
    periods = params['EvaluationPeriods']
    if params.get('DatapointsToAlarm', periods) > periods:
        raise invalid('DatapointsToAlarm must be less than or equal to EvaluationPeriods.')
    treat = params.get('TreatMissingData', 'missing')
    if treat not in TREAT_MISSING_DATA:
        raise invalid('The value %s for parameter TreatMissingData is not supported. '
                      'Supported values: %s.' % (treat, ', '.join(TREAT_MISSING_DATA)))
    period = alarm_period(params)
    limit = 86400 if period < 3600 else 7 * 86400
    if period * periods > limit:
        raise invalid('The evaluation period (Period x EvaluationPeriods) must be at most %s.'
                      % ('one day when the period is under an hour' if limit == 86400
                         else 'seven days'))


def alarm_period(rule):
    """The period of a metric alarm: its Period, or its Metrics' shortest."""
    if 'Period' in rule:
        return rule['Period']
    periods = [q['MetricStat']['Period'] for q in rule.get('Metrics', []) if 'MetricStat' in q]
    periods += [q['Period'] for q in rule.get('Metrics', []) if 'Period' in q]
    return min(periods) if periods else 60


# -- PutCompositeAlarm ------------------------------------------------------------------------

def composite_rule(params):
    """The stored rule of PutCompositeAlarm's ``params`` and the names its AlarmRule refers
    to; InvalidParameterValue when the rule does not parse (never evaluated as code)."""
    _refuse_unsupported(params)
    try:
        tree = alarm_rule.parse(params['AlarmRule'])
    except alarm_rule.InvalidAlarmRule as exc:
        raise invalid('AlarmRule is not valid: %s' % exc) from None
    children = alarm_rule.names(tree)
    if params['AlarmName'] in children:
        raise invalid('AlarmRule of %s refers to the alarm itself.' % params['AlarmName'])
    return {'AlarmRule': params['AlarmRule']}, children


# -- both -------------------------------------------------------------------------------------

def stored(kind, params, rule, ctx, urls):
    """The store's alarm document of a Put call (a new alarm's state included); ``urls``:
    the notifier URL of each action, ``{action: url}``."""
    enabled = params.get('ActionsEnabled', True)
    rule = dict(rule, ActionsEnabled=enabled)
    alarm = {'alarm_id': alarm_id(ctx.project_id, params['AlarmName']),
             'name': params['AlarmName'], 'type': kind,
             'description': params.get('AlarmDescription'), 'enabled': True,
             'project_id': ctx.project_id, 'user_id': ctx.user_id, 'severity': 'low',
             'repeat_actions': False, 'time_constraints': [], 'rule': rule,
             'timestamp': naive(ctx.now)}
    for member, column in ACTION_LISTS:
        rule[member] = list(dict.fromkeys(params.get(member, [])))
        if len(rule[member]) > MAX_ACTIONS:
            raise invalid('The collection %s must not have a size greater than %d.'
                          % (member, MAX_ACTIONS))
        alarm[column] = [urls[action] for action in rule[member]] if enabled else []
    return alarm


def with_actions_enabled(alarm, enabled, urls):
    """The alarm with ActionsEnabled set, its notifier URLs ``urls`` ({action: url})
    in the store's action columns when enabled, none when disabled."""
    rule = dict(alarm['rule'], ActionsEnabled=enabled)
    changed = {'alarm_id': alarm['alarm_id'], 'rule': rule}
    for member, column in ACTION_LISTS:
        changed[column] = [urls[a] for a in rule.get(member, [])] if enabled else []
    return changed


def actions_of(alarm):
    return [action for member, _ in ACTION_LISTS for action in alarm['rule'].get(member, [])]


def encode_token(value):
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


def decode_token(token):
    """The value of a NextToken this API made; InvalidNextToken otherwise."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        value = None
    if not isinstance(value, dict):
        raise errors.InvalidNextToken('The service cannot recognise the NextToken.')
    return value


# -- what DescribeAlarms shows ----------------------------------------------------------------

def naive(moment):
    """The store's naive UTC time of an aware datetime."""
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)


def aware(moment):
    if moment is None:
        return None
    return moment.replace(tzinfo=datetime.timezone.utc) if moment.tzinfo is None else moment


def shown(alarm, region):
    """The MetricAlarm or CompositeAlarm shape of a stored alarm."""
    rule = alarm['rule']
    out = {'AlarmName': alarm['name'],
           'AlarmArn': arn(region, alarm['project_id'], alarm['name']),
           'AlarmConfigurationUpdatedTimestamp': aware(alarm['timestamp']),
           'ActionsEnabled': rule.get('ActionsEnabled', True),
           'StateValue': CLOUDWATCH_STATES[alarm['state']],
           'StateReason': alarm['state_reason'][:1023],
           'StateUpdatedTimestamp': aware(alarm['state_timestamp']),
           'StateTransitionedTimestamp': aware(alarm['state_timestamp'])}
    if alarm.get('description') is not None:
        out['AlarmDescription'] = alarm['description']
    for member, _ in ACTION_LISTS:
        out[member] = list(rule.get(member, []))
    data = reason_data(alarm)
    if data is not None:
        out['StateReasonData'] = data
    if alarm['type'] == COMPOSITE:
        out['AlarmRule'] = rule['AlarmRule']
        return out
    out.update({key: rule[key] for key in _METRIC_FIELDS if key in rule})
    if not out.get('Dimensions') and 'Metrics' in rule:
        out.pop('Dimensions', None)
    return out


def reason_data(alarm):
    """StateReasonData: the text SetAlarmState was given, or CloudWatch's JSON of an
    evaluation (version, queryDate, startDate, statistic, period, recentDatapoints,
    threshold, evaluatedDatapoints); None when there is nothing to say."""
    data = alarm.get('reason_data')
    if not isinstance(data, dict):
        return None
    if data.get('type') == 'manual':
        return data.get('text')
    if data.get('type') == 'composite':
        return json.dumps({'triggeringAlarms': data.get('triggeringAlarms', [])})
    if 'evaluatedDatapoints' not in data:
        return None
    rule = alarm['rule']
    points = data['evaluatedDatapoints']
    out = {'version': '1.0', 'queryDate': _date(alarm['state_timestamp'])}
    if points:
        out['startDate'] = _date(min(p['timestamp'] for p in points))
    if 'Statistic' in rule:
        out['statistic'] = rule['Statistic']
    elif 'ExtendedStatistic' in rule:
        out['extendedStatistic'] = rule['ExtendedStatistic']
    out.update(period=data.get('period'),
               recentDatapoints=[p['value'] for p in reversed(points) if 'value' in p],
               threshold=data.get('threshold'),
               evaluatedDatapoints=[dict(p, timestamp=_date(p['timestamp'])) for p in points])
    return json.dumps(out)


def _date(moment):
    if isinstance(moment, (int, float)):
        moment = datetime.datetime.fromtimestamp(moment, datetime.timezone.utc)
    moment = aware(moment)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.') + '%03d+0000' % (moment.microsecond // 1000)
