"""The rest of Aodh's v2 API: ``POST /v2/query/alarms`` and ``/v2/query/alarms/history``
(complex queries, confined to the caller's project unless it sees every project),
``/v2/capabilities``, ``/v2/quotas``, and ``/v2`` itself."""

import json

import pecan

from telewatch.alarms import storage
from telewatch.alarms.storage import query as query_mod
from telewatch.api import framework
from telewatch.api import rest
from telewatch.api.controllers import alarm_checks
from telewatch.api.controllers import alarms as alarms_api
from telewatch.api.controllers import aodh

CAPABILITIES = {
    'api': {'alarms:query:simple': True, 'alarms:query:complex': True,
            'alarms:history:query:simple': True, 'alarms:history:query:complex': True},
    'alarm_storage': {'storage:production_ready': True},
}
QUOTA_RESOURCES = (alarm_checks.QUOTA_RESOURCE,)


def _complex_query(columns, visibility_field):
    """``(filter, orderby, limit)`` of a complex query body (``filter`` and ``orderby`` JSON
    texts, ``limit``), checked as Aodh's, confined to the caller's project unless it sees
    every project (a filter naming another project is a 401)."""
    body = aodh.body() if pecan.request.body else {}
    if not isinstance(body, dict):
        aodh.fault(400, 'Invalid input: the body must be a JSON object')
    tree = _json_text(body.get('filter'), 'Filter expression not valid: %s')
    orderby = _json_text(body.get('orderby'), 'Order-by expression not valid: %s')
    try:
        if tree is not None:
            query_mod.compile_filter(tree, columns, ('timestamp', 'state_timestamp'))
    except query_mod.InvalidQuery as exc:
        aodh.fault(400, 'Filter expression not valid: %s' % exc)
    try:
        if orderby is not None:
            query_mod.compile_orderby(orderby, columns)
    except query_mod.InvalidQuery as exc:
        aodh.fault(400, 'Order-by expression not valid: %s' % exc)
    limit = body.get('limit')
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit <= 0):
        aodh.fault(400, 'Limit should be positive')
    project = aodh.limited_project()
    if project is not None:
        _check_references(tree, visibility_field, project)
        restriction = {'=': {visibility_field: project}}
        tree = restriction if tree is None else {'and': [restriction, tree]}
    return tree, orderby, limit


def _json_text(text, message):
    if text is None:
        return None
    if not isinstance(text, str):
        aodh.fault(400, message % 'a JSON text is expected, not %s' % type(text).__name__)
    try:
        return json.loads(text)
    except ValueError as exc:
        aodh.fault(400, message % exc)


def _check_references(tree, field, project, depth=0):
    """401 when a confined caller's filter names another project in ``field``."""
    if not isinstance(tree, dict) or depth > query_mod.MAX_DEPTH:
        return
    for op, operand in tree.items():
        if op.lower() in ('and', 'or'):
            for child in operand:
                _check_references(child, field, project, depth + 1)
        elif op.lower() == 'not':
            _check_references(operand, field, project, depth + 1)
        elif isinstance(operand, dict):
            for name, value in operand.items():
                if query_mod.NAME_MAPPING.get(name, name) == field and value != project:
                    aodh.not_authorized(value)


class QueryHistoryController(framework.RestController):
    @pecan.expose('json')
    def post(self):
        aodh.enforce('query_alarm_history')
        tree, orderby, limit = _complex_query(storage.store.HISTORY_COLUMNS, 'on_behalf_of')
        return [aodh.show_change(entry)
                for entry in aodh.alarms().search_history(tree, orderby, limit)]


class QueryAlarmsController(framework.RestController):
    history = QueryHistoryController()

    @pecan.expose('json')
    def post(self):
        aodh.enforce('query_alarm')
        tree, orderby, limit = _complex_query(storage.store.ALARM_COLUMNS, 'project_id')
        return [alarms_api.show(alarm)
                for alarm in aodh.alarms().search(tree, orderby, limit)]


class QueryController:
    alarms = QueryAlarmsController()


class CapabilitiesController(framework.RestController):
    @pecan.expose('json')
    def get_all(self):
        return CAPABILITIES


def _quotas_of(project_id):
    conf = pecan.request.environ['telewatch.conf']
    stored = aodh.alarms().quotas(project_id)
    default = conf.alarms.project_alarm_quota
    return {'project_id': project_id, 'quotas': [
        {'resource': resource, 'limit': stored.get(
            resource, -1 if default is None else default)}
        for resource in QUOTA_RESOURCES]}


class QuotasController(framework.RestController):
    @pecan.expose('json')
    def get_all(self):
        context = rest.context()
        project_id = pecan.request.GET.get('project_id') or context.project_id
        if project_id != context.project_id and not context.is_admin:
            aodh.not_authorized(project_id)
        return _quotas_of(project_id)

    @pecan.expose('json')
    def post(self):
        aodh.enforce('update_quotas')
        body = aodh.body()
        if not isinstance(body, dict) or not isinstance(body.get('project_id'), str):
            aodh.fault(400, "Invalid input for field/attribute project_id. Value: 'None'. "
                            'Mandatory field missing.')
        quotas = {}
        for item in body.get('quotas') or []:
            resource = item.get('resource') if isinstance(item, dict) else None
            limit = item.get('limit') if isinstance(item, dict) else None
            if resource not in QUOTA_RESOURCES:
                aodh.fault(400, "Invalid input for field/attribute resource. Value: '%s'. "
                                'Value should be one of: %s'
                                % (resource, ', '.join(QUOTA_RESOURCES)))
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < -1:
                aodh.fault(400, "Invalid input for field/attribute limit. Value: '%s'. "
                                'Value should be greater or equal to -1' % (limit,))
            quotas[resource] = limit
        aodh.alarms().set_quotas(body['project_id'], quotas)
        pecan.response.status = 201
        return _quotas_of(body['project_id'])

    @pecan.expose()
    def _lookup(self, project_id, *remainder):
        return ProjectQuotasController(project_id), remainder


class ProjectQuotasController(framework.RestController):
    def __init__(self, project_id):
        self.project_id = project_id

    @pecan.expose('json')
    def delete(self):
        aodh.enforce('delete_quotas')
        aodh.alarms().delete_quotas(self.project_id)
        pecan.response.status = 204


class V2Controller:
    alarms = alarms_api.AlarmsController()
    query = QueryController()
    capabilities = CapabilitiesController()
    quotas = QuotasController()

    @pecan.expose(generic=True)
    def index(self):
        aodh.fault(405, 'Method not allowed', headers={'Allow': 'GET, HEAD'})

    @index.when(method='HEAD', template='json')
    @index.when(method='GET', template='json')
    def index_get(self):
        base = rest.url('v2')
        return {'id': 'v2', 'status': 'stable', 'links': [
            {'rel': 'self', 'href': base}] + [
            {'rel': name, 'href': '%s/%s' % (base, name)}
            for name in ('alarms', 'capabilities', 'query', 'quotas')]}
