"""What Aodh checks of a new or changed alarm beyond its body: its rules against the archive
(through its door, ``store.index``: the metric, resource or metrics exist and the caller may
read them, the aggregation method is one the archive knows, a by-resources query parses, and
is confined to the alarm's project as Aodh confines it), its owners, and the quotas."""

import json

import pecan

from telewatch.alarms import actions as actions_mod
from telewatch.alarms import keystone
from telewatch.alarms import storage
from telewatch.api import rest
from telewatch.api import views
from telewatch.api.controllers import alarm_body
from telewatch.api.controllers import aodh
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import resource_ids

QUOTA_RESOURCE = 'alarms'
ACTIONS_KEY = 'telewatch.alarm_actions'  # the app's actions_mod.Actions
# The creator's project part of what a service (the archive:// publisher, whose creator has
# no project) created: a project's alarm may watch those of the project's resources too
# (Aodh's gnocchi_external_project_owner).
SERVICE_CREATED = ''


def check_rules(alarm):
    """Every threshold rule of the alarm against the archive (a by-resources query is
    rewritten in place when the alarm's project confines it)."""
    for kind, rule in alarm_body.leaves(alarm['type'], alarm['rule']):
        method = rule['aggregation_method']
        if method not in policy_mod.ALL_METHODS:
            aodh.fault(400, 'aggregation_method should be in %s not %s'
                       % (sorted(policy_mod.ALL_METHODS), method))
        if kind == alarm_body.RESOURCES:
            _check_resource(rule)
        elif kind == alarm_body.BY_METRICS:
            _check_metrics(rule)
        else:
            _check_query(rule, alarm['project_id'])


def _check_resource(rule):
    index = rest.store().index
    try:
        resource_id = resource_ids.resource_uuid(rule['resource_id'], rest.context().creator)
        resource = index.get_resource(resource_id)
    except (ValueError, errors.NoSuchResource):
        resource = None
    if resource is None or not rest.allowed('get resource', views.resource_target(resource)):
        aodh.fault(400, 'Resource %s does not exist' % rule['resource_id'])
    if rule['resource_type'] not in ('generic', resource.type):
        aodh.fault(400, 'Resource %s is of type %s, not %s'
                   % (rule['resource_id'], resource.type, rule['resource_type']))
    if rule['metric'] not in resource.metrics:
        aodh.fault(400, 'Metric %s does not exist on resource %s'
                   % (rule['metric'], rule['resource_id']))


def _check_metrics(rule):
    if not rule['metrics']:
        alarm_body.invalid('metrics', [], 'At least one metric is required')
    index = rest.store().index
    found = index.get_metrics(rule['metrics'])
    resources = index.get_resources(
        list({m.resource_id for m in found.values() if m.resource_id}))
    for metric_id in rule['metrics']:
        metric = found.get(metric_id)
        if metric is None or not rest.allowed('get metric', views.metric_target(
                metric, resources.get(metric.resource_id))):
            aodh.fault(400, 'Metric %s does not exist' % metric_id)


def confined_query(query, project_id):
    """Aodh's confinement of a by-resources query to a project: resources its members
    created, or that a service created for it."""
    owned = {'or': [{'=': {'created_by_project_id': project_id}},
                    {'and': [{'=': {'created_by_project_id': SERVICE_CREATED}},
                             {'=': {'project_id': project_id}}]}]}
    if isinstance(query, dict) and list(query) == ['and'] and query['and'][:1] == [owned]:
        return query  # confined already (a client sending back what it read)
    return {'and': [owned, query]}


def _check_query(rule, project_id):
    try:
        query = json.loads(rule['query'])
    except ValueError:
        alarm_body.invalid('rule/query', rule['query'], '')
    if _auth_project(project_id) is not None:
        query = confined_query(query, project_id)
        rule['query'] = json.dumps(query)
    try:
        rest.store().index.search_resources(rule['resource_type'], query, limit=1,
                                            creator=rest.context().creator)
    except errors.NoSuchResourceType as exc:
        aodh.fault(404, exc.description if isinstance(exc.description, str) else str(exc))
    except errors.IndexEntryError as exc:  # an invalid query
        aodh.fault(400, 'Invalid query: %s' % (exc,))


def _auth_project(project_id):
    """Aodh's ``get_auth_project``: the caller's project when confined, the alarm's when an
    admin makes one for another project, None for an admin's own."""
    limited = aodh.limited_project()
    if limited is not None:
        return limited
    return project_id if project_id != rest.context().project_id else None


def set_owners(alarm, existing=None):
    """The alarm's ``user_id`` and ``project_id``: the caller's, or those given by one who
    is not confined to its project (401 otherwise, as Aodh); a PUT keeps the old ones when
    it names none."""
    context = rest.context()
    confined = aodh.limited_project() is not None
    for field, own in (('user_id', context.user_id), ('project_id', context.project_id)):
        given = alarm.get(field)
        if confined and given is not None and given != own:
            aodh.not_authorized(given, field[:-3])
        if given is None:
            alarm[field] = existing[field] if existing else own
        if confined and existing is None:
            alarm[field] = own


def check_quotas(store, alarm, conf):
    """403 when the alarm's user or project has as many alarms as its quota allows
    (``[alarms] user_alarm_quota``; the project's quota set through /v2/quotas, else
    ``[alarms] project_alarm_quota``; unset or -1: no limit)."""
    user_quota = conf.alarms.user_alarm_quota
    over = _over(user_quota, lambda: store.count(user_id=alarm['user_id']))
    if not over:
        project_quota = store.quotas(alarm['project_id']).get(
            QUOTA_RESOURCE, conf.alarms.project_alarm_quota)
        over = _over(project_quota, lambda: store.count(project_id=alarm['project_id']))
    if over:
        aodh.fault(403, 'Alarm quota exceeded for user %s on project %s'
                   % (alarm['user_id'], alarm['project_id']))


def _over(quota, count):
    return quota is not None and quota >= 0 and count() >= quota


def check_actions(alarm, old=None):
    """Each state's actions through telewatch.alarms.actions (a notifier for the scheme, an
    allowed destination, at most ``alarm_max_actions``, a trust for ``trust+`` URLs: the
    old alarm's when it had one)."""
    checker = _actions()
    existing = [url for field in storage.ACTIONS_OF.values() for url in (old or {}).get(
        field, ())]
    for field in storage.ACTIONS_OF.values():
        try:
            alarm[field] = checker.check(alarm[field], rest.context(), existing=existing,
                                         field=field)
        except actions_mod.InvalidAction as exc:
            aodh.fault(exc.status, exc.reason)
        existing = existing + alarm[field]


def release_actions(urls, keep=()):
    """Delete the trusts of ``urls`` that ``keep`` no longer carries; a failure is logged
    (the alarm change is done: a trust left behind expires with its user's roles)."""
    try:
        _actions().release(urls, keep=keep, context=rest.context())
    except keystone.TrustError as exc:
        aodh.LOG.warning('Could not delete the trust of an alarm action: %s', exc)


def _actions():
    return pecan.request.environ[ACTIONS_KEY]
