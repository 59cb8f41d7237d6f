"""``/v2/alarms`` (Aodh's v2 API): list with simple queries and pages, create, show, replace,
delete, the state (GET, PUT of a bare JSON string) and the history of one alarm. The alarm
store (telewatch.alarms.storage) keeps them; what Aodh checks is checked by ``alarm_body``
and ``alarm_checks``; another project's alarm is a 404 to a caller confined to its own."""

import pecan

from telewatch.alarms import rules
from telewatch.alarms import storage
from telewatch.api import framework
from telewatch.api import rest
from telewatch.api.controllers import alarm_body
from telewatch.api.controllers import alarm_checks
from telewatch.api.controllers import aodh

# Aodh's simple query fields of a list (``q.field``; ``eq`` only), as the store names them.
ALARM_QUERY_FIELDS = {'alarm_id': 'alarm_id', 'name': 'name', 'type': 'type',
                      'enabled': 'enabled', 'state': 'state', 'severity': 'severity',
                      'user_id': 'user_id', 'user': 'user_id', 'project_id': 'project_id',
                      'project': 'project_id', 'repeat_actions': 'repeat_actions'}
HISTORY_QUERY_FIELDS = {'type': 'type', 'severity': 'severity', 'user_id': 'user_id',
                        'project_id': 'project_id', 'on_behalf_of': 'on_behalf_of',
                        'event_id': 'event_id', 'timestamp': 'timestamp'}
ALARM_SORT_KEYS = ('alarm_id', 'enabled', 'name', 'type', 'severity', 'timestamp',
                   'user_id', 'project_id', 'state', 'repeat_actions', 'state_timestamp')
HISTORY_SORT_KEYS = ('event_id', 'alarm_id', 'type', 'timestamp', 'severity', 'user_id',
                     'project_id', 'on_behalf_of')
_BOOLEAN_FIELDS = ('enabled', 'repeat_actions')
_TIME_OPS = {'lt': '<', 'le': '<=', 'gt': '>', 'ge': '>='}
# Attempts at a manual state change racing the evaluator's compare-and-set.
_STATE_ATTEMPTS = 3


def simple_query(fields, allow_timestamps=False):
    """``[(field, op, value)]`` of the request's ``q.field``/``q.op``/``q.value`` lists
    (op ``eq`` by default), checked as Aodh checks them."""
    params = pecan.request.GET
    names, ops, values = (params.getall('q.' + k) for k in ('field', 'op', 'value'))
    if len(values) != len(names):
        aodh.fault(400, 'Invalid input for field/attribute q. Value: %s. Each q.field needs '
                        'a q.value' % names)
    ops = ops + ['eq'] * (len(names) - len(ops))
    query = []
    for name, op, value in zip(names, ops, values):
        if name == 'timestamp' and not allow_timestamps:
            aodh.fault(400, 'Unknown argument: "timestamp": not valid for this resource')
        if name not in fields and name != 'all_projects':
            aodh.fault(400, 'Unknown argument: "%s": unrecognized field in query: %s, valid '
                            'keys: %s' % (name, names, sorted(set(fields))))
        if op not in (_TIME_OPS if name == 'timestamp' else ('eq',)):
            aodh.fault(400, "Invalid input for field/attribute op. Value: '%s'. "
                            'unimplemented operator for %s' % (op, name))
        if name in _BOOLEAN_FIELDS + ('all_projects',):
            value = _boolean(name, value)
        query.append((fields.get(name, name), op, value))
    return query


def _boolean(name, value):
    lowered = value.strip().lower()
    if lowered not in ('true', 'false', '1', '0', 'yes', 'no', 'on', 'off', 't', 'f',
                       'y', 'n'):
        aodh.fault(400, 'Unable to convert the value %s to the expected data type boolean.'
                   % value)
    return lowered in ('true', '1', 'yes', 'on', 't', 'y')


def to_filter(query):
    """The store's complex filter of simple-query triples (None for none)."""
    leaves = [{_TIME_OPS.get(op, '='): {field: value}} for field, op, value in query]
    if not leaves:
        return None
    return leaves[0] if len(leaves) == 1 else {'and': leaves}


def pagination(sort_keys):
    """``(orderby, limit, marker)`` of ``sort``, ``limit`` and ``marker``, as Aodh's."""
    params = pecan.request.GET
    orderby = []
    for item in params.getall('sort'):
        key, _, direction = item.partition(':')
        if key not in sort_keys or direction not in ('', 'asc', 'desc'):
            aodh.fault(400, "Invalid input for field/attribute sort. Value: '%s'. the sort "
                            "parameter should be a pair of sort key and sort dir combined "
                            "with ':', or only sort key specified and sort dir will be "
                            "default 'asc', the supported sort keys are: %s"
                            % (item, sort_keys))
        orderby.append({key: direction or 'asc'})
    limit = params.get('limit')
    if limit is not None:
        try:
            limit = int(limit)
        except ValueError:
            limit = 0
        if limit <= 0:
            aodh.fault(400, "Invalid input for field/attribute limit. Value: '%s'. it should "
                            'be a positive integer.' % params.get('limit'))
    return orderby or None, limit, params.get('marker')


def _scope(query):
    """The simple query with the caller's project scope: a confined caller sees its own
    project (naming another is a 401); an admin its own project too unless it names one or
    asks for ``all_projects``."""
    context = rest.context()
    confined = aodh.limited_project() is not None
    all_projects = any(v for f, _, v in query if f == 'all_projects')
    query = [item for item in query if item[0] != 'all_projects']
    named = [value for field, _, value in query if field == 'project_id']
    for project in named:
        if confined and project != context.project_id:
            aodh.not_authorized(project)
    if not named and (confined or not all_projects):
        query.append(('project_id', 'eq', context.project_id))
    return query


def _scrub(url):
    return pecan.request.environ[alarm_checks.ACTIONS_KEY].scrub(url)


def show(alarm):
    return aodh.show_alarm(alarm, _scrub)


class StateController(framework.RestController):
    def __init__(self, alarm_id):
        self.alarm_id = alarm_id

    @pecan.expose('json')
    def get_all(self):
        return aodh.get_alarm(self.alarm_id, 'get_alarm_state')['state']

    @pecan.expose('json')
    def put(self):
        alarm = aodh.get_alarm(self.alarm_id, 'change_alarm_state')
        state = aodh.body()
        if state not in rules.STATES:
            alarm_body.invalid('state', state, 'Value should be one of: %s'
                               % ', '.join(sorted(rules.STATES)))
        store = aodh.alarms()
        detail = {'state': state, 'state_reason': alarm_body.MANUAL}
        for _ in range(_STATE_ATTEMPTS):
            changed = store.transition(self.alarm_id, alarm['state'], state,
                                       alarm_body.MANUAL, None, actor=aodh.actor(),
                                       detail=detail)
            if changed is not None:
                return changed['state']
            alarm = aodh.get_alarm(self.alarm_id, 'change_alarm_state')
        aodh.fault(409, 'The state of alarm %s kept changing, try again' % self.alarm_id)


class HistoryController(framework.RestController):
    def __init__(self, alarm_id):
        self.alarm_id = alarm_id

    @pecan.expose('json')
    def get_all(self):
        aodh.get_alarm(self.alarm_id, 'alarm_history')
        query = simple_query(HISTORY_QUERY_FIELDS, allow_timestamps=True)
        orderby, limit, marker = pagination(HISTORY_SORT_KEYS)
        try:
            entries = aodh.alarms().history(
                self.alarm_id, on_behalf_of=aodh.limited_project(), filter=to_filter(query),
                orderby=orderby, limit=limit, marker=marker)
        except storage.NoSuchEvent:
            aodh.fault(400, 'Marker %s not found.' % marker)
        return [aodh.show_change(entry) for entry in entries]


class AlarmController(framework.RestController):
    def __init__(self, alarm_id):
        self.alarm_id = alarm_id
        self.state = StateController(alarm_id)
        self.history = HistoryController(alarm_id)

    @pecan.expose('json')
    def get_all(self):
        return show(aodh.get_alarm(self.alarm_id, 'get_alarm'))

    @pecan.expose('json')
    def put(self):
        old = aodh.get_alarm(self.alarm_id, 'change_alarm')
        alarm = alarm_body.parse(aodh.body())
        alarm_checks.set_owners(alarm, old)
        alarm_checks.check_rules(alarm)
        alarm_checks.check_actions(alarm, old)
        alarm['alarm_id'] = self.alarm_id
        if alarm['state'] != old['state']:
            alarm['state_timestamp'] = storage.store.utcnow()
            alarm['state_reason'] = alarm_body.MANUAL
        updated = aodh.alarms().update(alarm, actor=aodh.actor())
        alarm_checks.release_actions(_urls(old), keep=_urls(updated))
        return show(updated)

    @pecan.expose('json')
    def delete(self):
        alarm = aodh.get_alarm(self.alarm_id, 'delete_alarm')
        aodh.alarms().delete(self.alarm_id, actor=aodh.actor())
        alarm_checks.release_actions(_urls(alarm))
        pecan.response.status = 204


def _urls(alarm):
    return [url for field in storage.ACTIONS_OF.values() for url in alarm[field]]


class AlarmsController(framework.RestController):
    @pecan.expose()
    def _lookup(self, alarm_id, *remainder):
        return AlarmController(alarm_id), remainder

    @pecan.expose('json')
    def get_all(self):
        aodh.enforce('get_alarms')
        query = _scope(simple_query(ALARM_QUERY_FIELDS))
        orderby, limit, marker = pagination(ALARM_SORT_KEYS)
        try:
            found = aodh.alarms().search(to_filter(query), orderby, limit, marker)
        except storage.NoSuchAlarm:
            aodh.fault(400, 'Marker %s not found.' % marker)
        return [show(alarm) for alarm in found]

    @pecan.expose('json')
    def post(self):
        aodh.enforce('create_alarm')
        alarm = alarm_body.parse(aodh.body())
        alarm_checks.set_owners(alarm)
        store = aodh.alarms()
        alarm_checks.check_quotas(store, alarm, pecan.request.environ['telewatch.conf'])
        alarm_checks.check_rules(alarm)
        alarm_checks.check_actions(alarm)
        alarm['state_reason'] = alarm_body.NOT_EVALUATED
        created = store.create(alarm, actor=aodh.actor())
        return rest.created(rest.url('v2', 'alarms', created['alarm_id']), show(created))
