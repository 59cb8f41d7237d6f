"""CloudWatch's alarm operations on telewatch's alarm store and its one evaluator: PutMetricAlarm,
PutCompositeAlarm, DescribeAlarms, DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
Enable/DisableAlarmActions (DescribeAlarmHistory is in ``alarm_history``).

Alarms are AlarmStore alarms of the types of ``alarm_shapes``; the evaluator evaluates them
as it does Aodh's (``telewatch.cloudwatch.alarm_source``). An action is a notifier URL
(checked by ``telewatch.alarms.actions.Actions``, with its allow-list) or an ARN that
``[cloudwatch] alarm_action_urls`` maps to one.
"""

import collections
import fnmatch
import json
import logging
import threading

from oslo_config import cfg
import sqlalchemy as sa

from telewatch.alarms import actions as actions_mod
from telewatch.alarms import keystone
from telewatch.alarms import rules
from telewatch.alarms import storage
from telewatch.cloudwatch import alarm_history
from telewatch.cloudwatch import alarm_rule
from telewatch.cloudwatch import alarm_shapes as shapes
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import tags

LOG = logging.getLogger(__name__)
GROUP = 'cloudwatch'
OPTS = [
    cfg.MultiStrOpt('alarm_action_urls', default=[],
                    help='ARN_PATTERN=URL: an alarm action given as an ARN matching the shell '
                         'pattern (arn:aws:sns:*:*:ops-*) calls the notifier URL (http, '
                         'https, trust+http(s), kafka, log), in which {arn} stands for the '
                         'ARN and {name} for its last part. Repeat for several; the first '
                         'that matches wins. An ARN no pattern matches is refused.'),
]
MAX_NAMES = 100  # DeleteAlarms and the AlarmNames of DescribeAlarms
DEFAULT_RECORDS = 50
_STATE_ATTEMPTS = 3
_Caller = collections.namedtuple('_Caller', 'user_id project_id roles is_admin auth_token')


def list_opts():
    return [(GROUP, OPTS)]


def _checker(conf):
    """The conf's actions.Actions (its notifier plugins loaded once)."""
    checker = getattr(conf, '_cloudwatch_actions', None)
    if checker is None:
        conf.register_opts(OPTS, group=GROUP)
        checker = actions_mod.Actions(conf)
        object.__setattr__(conf, '_cloudwatch_actions', checker)
    return checker


def _caller(ctx):
    return _Caller(ctx.user_id, ctx.project_id, list(getattr(ctx, 'roles', None) or []),
                   False, getattr(ctx, 'auth_token', None))


def action_url(conf, action):
    """The notifier URL of an action: itself, or what ``alarm_action_urls`` maps an ARN
    to; InvalidParameterValue when no pattern maps it."""
    if not action.startswith('arn:'):
        return action
    conf.register_opts(OPTS, group=GROUP)
    for entry in conf[GROUP].alarm_action_urls:
        pattern, _, url = entry.partition('=')
        if url and fnmatch.fnmatchcase(action, pattern.strip()):
            return url.strip().replace('{arn}', action).replace(
                '{name}', action.rsplit(':', 1)[-1])
    raise shapes.invalid('Invalid action %s: no [cloudwatch] alarm_action_urls pattern maps '
                         'this ARN to a notifier URL.' % action)


def resolve_actions(ctx, actions, existing=()):
    """``{action: stored notifier URL}`` of an alarm's actions, each checked as the Aodh
    API checks them (a notifier for the scheme, an allowed destination, a trust for a
    ``trust+`` URL: ``existing``'s when the alarm had one)."""
    checker = _checker(ctx.conf)
    urls = {}
    for action in dict.fromkeys(actions):
        try:
            urls[action], = checker.check([action_url(ctx.conf, action)], _caller(ctx),
                                          existing=list(existing) + list(urls.values()))
        except actions_mod.InvalidAction as exc:
            raise shapes.invalid(exc.reason) from None
    return urls


def _release(ctx, urls, keep=()):
    try:
        _checker(ctx.conf).release(urls, keep=keep, context=_caller(ctx))
    except keystone.TrustError as exc:
        LOG.warning('Could not delete the trust of an alarm action: %s', exc)


def _stored_urls(alarm):
    return [url for column in storage.ACTIONS_OF.values() for url in alarm.get(column) or []]


# -- reading ----------------------------------------------------------------------------------

def find(ctx, name):
    """The project's CloudWatch alarm of that name, or None."""
    try:
        alarm = ctx.alarms.get(shapes.alarm_id(ctx.project_id, name))
    except storage.NoSuchAlarm:
        return None
    if alarm['project_id'] != ctx.project_id or alarm['type'] not in shapes.TYPES:
        return None
    return alarm


def project_alarms(ctx, types=shapes.TYPES, state=None, names=None):
    """The project's CloudWatch alarms (of ``types``, in ``state``, named ``names``)."""
    conditions = [{'=': {'project_id': ctx.project_id}}, {'in': {'type': list(types)}}]
    if state is not None:
        conditions.append({'=': {'state': shapes.STATES[state]}})
    if names is not None:
        conditions.append({'in': {'alarm_id': [
            shapes.alarm_id(ctx.project_id, name) for name in names] or ['']}})
    return ctx.alarms.search({'and': conditions})


# -- PutMetricAlarm, PutCompositeAlarm --------------------------------------------------------

def put_metric_alarm(ctx, params):
    _put(ctx, params, shapes.METRIC, shapes.metric_rule(params))
    return {}


def put_composite_alarm(ctx, params):
    rule, children = shapes.composite_rule(params)
    found = {alarm['name'] for alarm in project_alarms(ctx, names=children)}
    missing = [name for name in children if name not in found]
    if missing:
        raise shapes.invalid('Could not save the composite alarm as alarms %s in the alarm '
                             'rule do not exist' % json.dumps(missing))
    _put(ctx, params, shapes.COMPOSITE, rule)
    return {}


def _put(ctx, params, kind, rule):
    """Create the alarm (INSUFFICIENT_DATA, "Unchecked: Initial alarm creation"), or replace
    the definition of the one of that name, keeping its state."""
    old = find(ctx, params['AlarmName'])
    if old is not None and old['type'] != kind:
        raise shapes.invalid('An alarm named %s exists already as a %s.' % (
            params['AlarmName'], shapes.ALARM_TYPES[old['type']]))
    existing = _stored_urls(old) if old else ()
    actions = [a for member, _ in shapes.ACTION_LISTS for a in params.get(member, [])]
    urls = resolve_actions(ctx, actions, existing) if params.get('ActionsEnabled', True) else {}
    alarm = shapes.stored(kind, params, rule, ctx, urls)
    actor = (ctx.user_id, ctx.project_id)
    if old is None:
        _check_quotas(ctx)
        alarm.update(state=rules.INSUFFICIENT_DATA, state_reason=shapes.INITIAL_REASON,
                     reason_data=None, state_timestamp=alarm['timestamp'])
        try:
            ctx.alarms.create(alarm, actor=actor)
        except sa.exc.IntegrityError:  # a put of the same name was first: replace it
            old = find(ctx, params['AlarmName'])
        else:
            # Tags an alarm of that name left (deleted through /v2) are not the new one's.
            tags.delete_all(ctx, [_arn(ctx, alarm['name'])])
            tags.set_tags(ctx, _arn(ctx, alarm['name']), params.get('Tags', []))
            return
    alarm.pop('user_id')
    ctx.alarms.update(alarm, actor=actor)
    _release(ctx, existing, keep=_stored_urls(alarm))


def _check_quotas(ctx):
    """LimitExceeded when the caller or its project has as many alarms (CloudWatch's and
    Aodh's: one store) as ``[alarms] user_alarm_quota`` or the project's quota allows (the
    one set through /v2/quotas, else ``project_alarm_quota``), as the Aodh API counts."""
    store, options = ctx.alarms, ctx.conf.alarms
    project_quota = store.quotas(ctx.project_id).get('alarms', options.project_alarm_quota)
    for quota, count in ((options.user_alarm_quota, lambda: store.count(user_id=ctx.user_id)),
                         (project_quota, lambda: store.count(project_id=ctx.project_id))):
        if quota is not None and quota >= 0 and count() >= quota:
            raise errors.LimitExceeded('The maximum number of alarms (%d) is reached.'
                                       % quota)


def _arn(ctx, name):
    return shapes.arn(ctx.region, ctx.project_id, name)


# -- DescribeAlarms, DescribeAlarmsForMetric --------------------------------------------------

def describe_alarms(ctx, params):
    types = [kind for kind, shown in shapes.ALARM_TYPES.items()
             if shown in params.get('AlarmTypes', ['MetricAlarm'])]
    found = _related(ctx, params, types)
    if found is None:
        names = params.get('AlarmNames')
        if names is not None and len(names) > MAX_NAMES:
            raise shapes.invalid('AlarmNames may name at most %d alarms.' % MAX_NAMES)
        found = project_alarms(ctx, types, params.get('StateValue'), names)
    prefix, action = params.get('AlarmNamePrefix'), params.get('ActionPrefix')
    found = [alarm for alarm in found
             if (prefix is None or alarm['name'].startswith(prefix))
             and (action is None or any(a.startswith(action)
                                        for a in shapes.actions_of(alarm)))]
    page, token = _page(sorted(found, key=lambda a: a['name']), params)
    out = {'MetricAlarms': [], 'CompositeAlarms': []}
    for alarm in page:
        key = 'MetricAlarms' if alarm['type'] == shapes.METRIC else 'CompositeAlarms'
        out[key].append(shapes.shown(alarm, ctx.region))
    if token:
        out['NextToken'] = token
    return out


def _related(ctx, params, types):
    """The children or parents of a composite alarm (ChildrenOfAlarmName,
    ParentsOfAlarmName), or None when neither is asked."""
    asked = [key for key in ('ChildrenOfAlarmName', 'ParentsOfAlarmName') if key in params]
    if not asked:
        return None
    others = set(params) - {asked[0], 'MaxRecords', 'NextToken', 'AlarmTypes'}
    if len(asked) > 1 or others:
        raise shapes.combination('%s cannot be used with other parameters than MaxRecords '
                                 'and NextToken.' % asked[0])
    name = params[asked[0]]
    if asked[0] == 'ChildrenOfAlarmName':
        alarm = find(ctx, name)
        if alarm is None or alarm['type'] != shapes.COMPOSITE:
            return []
        children = alarm_rule.names(alarm_rule.parse(alarm['rule']['AlarmRule']))
        return project_alarms(ctx, types, names=children)
    return [alarm for alarm in project_alarms(ctx, [shapes.COMPOSITE])
            if shapes.COMPOSITE in types and name in alarm_rule.names(
                alarm_rule.parse(alarm['rule']['AlarmRule']))]


def _page(alarms, params):
    """One page of name-sorted alarms after NextToken's name, and the next token."""
    after = None
    if 'NextToken' in params:
        after = shapes.decode_token(params['NextToken']).get('after')
        if not isinstance(after, str):
            raise errors.InvalidNextToken('The service cannot recognise the NextToken.')
        alarms = [alarm for alarm in alarms if alarm['name'] > after]
    size = params.get('MaxRecords', DEFAULT_RECORDS)
    page = alarms[:size]
    token = shapes.encode_token({'after': page[-1]['name']}) if len(alarms) > size else None
    return page, token


def describe_alarms_for_metric(ctx, params):
    dimensions = sorted(params.get('Dimensions', []), key=lambda d: d['Name'])
    wanted = {key: params[key] for key in ('Statistic', 'ExtendedStatistic', 'Period', 'Unit')
              if key in params}
    found = []
    for alarm in project_alarms(ctx, [shapes.METRIC]):
        rule = alarm['rule']
        if (rule.get('Namespace'), rule.get('MetricName')) != (params['Namespace'],
                                                               params['MetricName']):
            continue
        if 'Dimensions' in params and rule.get('Dimensions') != dimensions:
            continue
        if all(rule.get(key) == value for key, value in wanted.items()):
            found.append(shapes.shown(alarm, ctx.region))
    return {'MetricAlarms': sorted(found, key=lambda a: a['AlarmName'])}


# -- DeleteAlarms, Enable/DisableAlarmActions -------------------------------------------------

def _named(ctx, names):
    if len(names) > MAX_NAMES:
        raise shapes.invalid('At most %d alarms can be named at once.' % MAX_NAMES)
    return project_alarms(ctx, names=names)


def delete_alarms(ctx, params):
    """All or nothing: a name that is no alarm deletes none (as CloudWatch)."""
    names = list(dict.fromkeys(params['AlarmNames']))
    found = _named(ctx, names)
    missing = sorted(set(names) - {alarm['name'] for alarm in found})
    if missing:
        raise errors.ResourceNotFound('%d of the alarms to delete %s not found: %s' % (
            len(missing), 'was' if len(missing) == 1 else 'were', ', '.join(missing)))
    for alarm in found:
        try:
            ctx.alarms.delete(alarm['alarm_id'], actor=(ctx.user_id, ctx.project_id))
        except storage.NoSuchAlarm:  # deleted meanwhile
            continue
        _release(ctx, _stored_urls(alarm))
    tags.delete_all(ctx, [_arn(ctx, alarm['name']) for alarm in found])
    return {}


def _set_actions_enabled(ctx, params, enabled):
    for alarm in _named(ctx, list(dict.fromkeys(params['AlarmNames']))):
        if alarm['rule'].get('ActionsEnabled', True) == enabled:
            continue
        old_urls = _stored_urls(alarm)
        urls = resolve_actions(ctx, shapes.actions_of(alarm)) if enabled else {}
        ctx.alarms.update(dict(shapes.with_actions_enabled(alarm, enabled, urls),
                               timestamp=shapes.naive(ctx.now)),
                          actor=(ctx.user_id, ctx.project_id))
        _release(ctx, old_urls, keep=list(urls.values()))
    return {}


def enable_alarm_actions(ctx, params):
    return _set_actions_enabled(ctx, params, True)


def disable_alarm_actions(ctx, params):
    return _set_actions_enabled(ctx, params, False)


# -- SetAlarmState ----------------------------------------------------------------------------

def set_alarm_state(ctx, params):
    """Set the state until the next evaluation says otherwise, and call the new state's
    actions when it changed."""
    text = params.get('StateReasonData')
    if text is not None:
        try:
            json.loads(text)
        except ValueError:
            raise errors.InvalidFormat('StateReasonData is not valid JSON: %s'
                                       % text[:100]) from None
    state = shapes.STATES[params['StateValue']]
    data = {'type': 'manual', 'text': text} if text is not None else None
    for _ in range(_STATE_ATTEMPTS):
        alarm = find(ctx, params['AlarmName'])
        if alarm is None:
            raise errors.ResourceNotFound('Alarm %s not found' % params['AlarmName'])
        changed = ctx.alarms.transition(
            alarm['alarm_id'], alarm['state'], state, params['StateReason'], data,
            now=shapes.naive(ctx.now), actor=(ctx.user_id, ctx.project_id),
            detail={'state': state, 'transition_reason': params['StateReason']})
        if changed is not None:
            if alarm['state'] != state:
                notifiers(ctx).notify(changed, alarm['state'], state, params['StateReason'],
                                      data)
            return {}
    raise errors.ConcurrentModificationException(
        'The state of alarm %s kept changing, try again' % params['AlarmName'])


_NOTIFIERS = {}
_NOTIFIERS_LOCK = threading.Lock()


def notifiers(ctx):
    """The notifiers of this process (one per alarm store), started when first needed:
    SetAlarmState calls the actions of the state it sets, and records each outcome in the
    alarm's history as the evaluator's notifiers do."""
    from telewatch.alarms import notifiers as notifiers_mod
    with _NOTIFIERS_LOCK:
        found = _NOTIFIERS.get(id(ctx.alarms))
        if found is None or found[0] is not ctx.alarms:
            found = (ctx.alarms, notifiers_mod.Notifiers(ctx.conf,
                                                         record=ctx.alarms.record_action))
            found[1].start()
            _NOTIFIERS[id(ctx.alarms)] = found
        return found[1]


def stop_notifiers():
    """Deliver what SetAlarmState queued and stop (a process ending; tests)."""
    with _NOTIFIERS_LOCK:
        found = list(_NOTIFIERS.values())
        _NOTIFIERS.clear()
    for _, running in found:
        running.stop()


OPERATIONS = {
    'PutMetricAlarm': put_metric_alarm,
    'PutCompositeAlarm': put_composite_alarm,
    'DescribeAlarms': describe_alarms,
    'DescribeAlarmsForMetric': describe_alarms_for_metric,
    'DeleteAlarms': delete_alarms,
    'SetAlarmState': set_alarm_state,
    'EnableAlarmActions': enable_alarm_actions,
    'DisableAlarmActions': disable_alarm_actions,
    'DescribeAlarmHistory': alarm_history.describe_alarm_history,
}
