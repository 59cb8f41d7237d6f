"""``/v1/resource/<type>`` and ``/v1/search/resource/<type>``: resources, their history,
their metrics and measures by name, listing and search with pagination."""

import contextlib
import uuid

import pecan
import voluptuous as vol

from telewatch.api import framework
from telewatch.api import rest
from telewatch.api import views
from telewatch.api.controllers import metric as metric_api
from telewatch.api.controllers import search_metric as search_metric_api
from telewatch.archive import errors
from telewatch.archive import resource_ids

_GENERIC = {
    vol.Optional('user_id'): vol.Any(None, vol.All(str, vol.Length(max=255))),
    vol.Optional('project_id'): vol.Any(None, vol.All(str, vol.Length(max=255))),
    vol.Optional('started_at'): vol.Any(str, int, float),
    vol.Optional('ended_at'): vol.Any(None, str, int, float),
    vol.Optional('metrics'): {metric_api.METRIC_NAME: vol.Any(str, {
        vol.Optional('archive_policy_name'): str, vol.Optional('unit'): metric_api.UNIT})},
}
_ATTRIBUTES = {str: object}


def _schema(definition, extra=None):
    """A resource body: the generic fields and the type's attributes (checked by type in
    the index)."""
    fields = dict(_GENERIC)
    fields.update(extra or {})
    fields.update({vol.Optional(name): object for name in definition})
    return vol.Schema(fields)


def _datetime(value, name):
    if value is None:
        return None
    return rest.parse_timestamp(value, name).astype('datetime64[us]').item()


def _split_body(body):
    """The generic fields and the custom attributes of a resource body."""
    generic = {k: v for k, v in body.items() if k in _GENERIC or k == 'id'}
    return generic, {k: v for k, v in body.items() if k not in generic}


@contextlib.contextmanager
def _attribute_errors(body):
    """An attribute value its type refuses as Gnocchi's 400 (its voluptuous schema's
    words): the first problem, a value of the body or a required key it lacks."""
    try:
        yield
    except errors.InvalidAttributes as exc:
        if exc.field in body:
            reason = "%s for dictionary value @ data['%s']" % (exc.reason, exc.field)
        else:
            reason = "required key not provided @ data['%s']" % exc.field
        rest.invalid_input(reason, [exc.field])


def _metrics_of(resource_id, creator, wanted, current=None):
    """New Metric objects and existing ones to attach, for a body's ``metrics``. Only
    metrics with the resource's ``creator`` may be attached, as in Gnocchi (another's is
    "does not exist"): attaching would hand its measures to the resource's project."""
    index = rest.store().index
    new, attach = {}, {}
    for name, given in (wanted or {}).items():
        if isinstance(given, str):
            try:
                metric_id = str(uuid.UUID(given))
            except ValueError:
                rest.invalid_input('%r is not a metric id' % given, ['metrics', name])
            if current and current.get(name) == metric_id:
                continue
            found = index.get_metrics([metric_id]).get(metric_id)
            if found is None or found.creator != creator:
                rest.abort(400, str(errors.NoSuchMetric(given)))
            attach[name] = metric_id
        else:
            new[name] = metric_api.new_metric(given, resource_id, name)
    return new, attach


def show(resource, details=True):
    """``views.resource_to_dict`` with the resource's type definition, read once per request
    and type."""
    known = pecan.request.environ.setdefault('telewatch.resource_types', {})
    if resource.type not in known:
        try:
            definition = rest.store().index.get_resource_type(resource.type)['attributes']
        except errors.NoSuchResourceType:  # deleted since: its stored attributes only
            definition = {}
        known[resource.type] = definition
    return views.resource_to_dict(resource, details, known[resource.type])


def lookup(resource_type, resource_id):
    """The Resource for a URL id (a UUID, or an original id with this creator), or None."""
    index = rest.store().index
    try:
        rid = resource_ids.resource_uuid(resource_id, rest.context().creator)
    except ValueError:
        return None
    found = index.get_resources([rid]).get(rid)
    if found is None or (resource_type != 'generic' and found.type != resource_type):
        return None
    return found


class ResourceMetricController(framework.RestController):
    def __init__(self, resource):
        self.resource = resource

    @pecan.expose()
    def _lookup(self, name, *remainder):
        metric_id = self.resource.metrics.get(name)
        if metric_id is None:
            return rest.NotFoundController(str(errors.NoSuchMetric(name))), remainder
        return metric_api.metric_route(metric_id, remainder, self.resource)

    @pecan.expose('json')
    def get_all(self):
        rest.enforce('get resource', views.resource_target(self.resource))
        index = rest.store().index
        metrics = index.get_metrics(self.resource.metrics.values())
        return [views.metric_to_dict(m, index.get_archive_policy(m.archive_policy_name))
                for m in metrics.values()]

    @pecan.expose('json')
    def post(self):
        rest.enforce('update resource', views.resource_target(self.resource))
        body = rest.json_body({metric_api.METRIC_NAME: {
            vol.Optional('archive_policy_name'): str, vol.Optional('unit'): metric_api.UNIT}})
        for name in body:
            if name in self.resource.metrics:
                rest.abort(409, str(errors.NamedMetricAlreadyExists(name)))
        new = [metric_api.new_metric(b, self.resource.id, n) for n, b in body.items()]
        index = rest.store().index
        index.create_metrics(new)
        # Gnocchi answers every metric of the resource, not only the new ones.
        metrics = index.get_metrics([*self.resource.metrics.values(), *(m.id for m in new)])
        return [views.metric_to_dict(m, index.get_archive_policy(m.archive_policy_name))
                for m in metrics.values()]


class ResourceHistoryController(framework.RestController):
    """``/v1/resource/<type>/<id>/history``: only read (a DELETE is a 405, as Gnocchi's)."""

    def __init__(self, resource):
        self.resource = resource

    @pecan.expose('json')
    def get_all(self):
        """Gnocchi's: a page of the resource's revisions (``sort``, ``limit``, ``marker``,
        the Link of the next page)."""
        rest.enforce('get resource', views.resource_target(self.resource))
        page = rest.page_parameters()
        index = rest.store().index
        found = index.search_resources(
            self.resource.type, attribute_filter={'=': {'id': self.resource.id}},
            history=True, **page)
        rest.link_next(found, page['limit'], index.marker_of, rest.RESOURCE_DEFAULT_SORT)
        return [show(r) for r in found]


class ResourceController(framework.RestController):
    def __init__(self, resource):
        self.resource = resource
        self.metric = ResourceMetricController(resource)
        self.history = ResourceHistoryController(resource)

    @pecan.expose('json')
    def get(self):
        rest.enforce('get resource', views.resource_target(self.resource))
        return show(self.resource)

    @pecan.expose('json')
    def patch(self):
        resource = self.resource
        rest.enforce('update resource', views.resource_target(resource))
        definition = rest.store().index.get_resource_type(resource.type)['attributes']
        body = rest.json_body(_schema(definition))
        generic, attributes = _split_body(body)
        changes = {k: v for k, v in generic.items() if k in ('user_id', 'project_id')}
        for key in ('started_at', 'ended_at'):
            if key in generic:
                changes[key] = _datetime(generic[key], key)
        if attributes:
            changes['attributes'] = dict(resource.attributes, **attributes)
        new, attach = _metrics_of(resource.id, resource.creator, generic.get('metrics'),
                                  resource.metrics)
        index = rest.store().index
        if changes:
            with _attribute_errors(body):
                index.update_resource(resource.id, **changes)
        if 'metrics' in generic:
            index.set_resource_metrics(resource.id, generic['metrics'].keys(), new, attach)
        return show(index.get_resource(resource.id))

    @pecan.expose(content_type='application/json')
    def delete(self):
        rest.enforce('delete resource', views.resource_target(self.resource))
        rest.store().delete_resource(self.resource.id)
        pecan.response.status = 204


def project_filter(action='list'):
    """Which resources a listing (``action`` ``list``) or a search (``search``) shows: all
    (None) when the ``<action> all resource`` rule allows it (admin); else, once the
    ``<action> resource`` rule allows it, those of the caller's project or created by it
    (a gnocchi-basic caller, who has no project: those its user name created)."""
    context = rest.context()
    if rest.allowed('%s all resource' % action):
        return None
    rest.enforce('%s resource' % action)
    if context.project_id is None:
        return {'=': {'creator': context.creator}}
    return {'or': [{'=': {'created_by_project_id': context.project_id}},
                   {'=': {'project_id': context.project_id}}]}


def creator_filter(rule, resource_type):
    """Which resources ``rule`` reaches in an action on many at once (a batch delete), as
    Gnocchi filters them: all (None) when it allows the action on any resource of the type
    (admin); else those created by the caller's project (a gnocchi-basic caller: by its
    user name) when it allows the action on those; 403 otherwise. Unlike a listing, never
    the resources merely owned (``project_id``): a project changes only what it created."""
    context = rest.context()
    if rest.allowed(rule, {'resource_type': resource_type}):
        return None
    if context.project_id:
        field, value = 'created_by_project_id', context.project_id
    else:
        field, value = 'creator', context.creator
    rest.enforce(rule, {'resource_type': resource_type, field: value})
    return {'=': {field: value}}


def list_resources(resource_type, query=None, action='list'):
    """One page of the resources a listing or a search (``action``, see project_filter)
    shows, with Gnocchi's ``Link: rel="next"`` when it is full."""
    rest.store().index.get_resource_type(resource_type)
    page = rest.page_parameters()
    details = rest.query_bool('details')
    index = rest.store().index
    found = index.search_resources(
        resource_type, query, attribute_filter=project_filter(action),
        creator=rest.context().creator, history=rest.query_bool('history'), **page)
    rest.link_next(found, page['limit'], index.marker_of,
                   rest.RESOURCE_DEFAULT_SORT)
    bodies = [show(r, details or resource_type != 'generic')
              for r in found]
    attrs = pecan.request.GET.getall('attrs')  # Gnocchi's: only those keys (any unknown)
    if attrs:
        bodies = [{k: v for k, v in body.items() if k in attrs} for body in bodies]
    return bodies


def request_query():
    """The query of a search: the ``filter`` parameter (the CLI's string syntax) or the
    JSON body; None for neither."""
    text = pecan.request.GET.get('filter')
    if text:
        return rest.store().index.parse_filter(text)
    body = rest.json_body() if pecan.request.body else None
    return body or None


class ResourcesController(framework.RestController):
    def __init__(self, resource_type):
        self.resource_type = resource_type

    @pecan.expose()
    def _lookup(self, resource_id, *remainder):
        resource = lookup(self.resource_type, resource_id)
        if resource is None:
            return rest.NotFoundController(str(errors.NoSuchResource(resource_id))), remainder
        return ResourceController(resource), remainder

    @pecan.expose('json')
    def get_all(self):
        return list_resources(self.resource_type)

    @pecan.expose('json')
    def post(self):
        rest.enforce('create resource')
        index = rest.store().index
        definition = index.get_resource_type(self.resource_type)['attributes']
        body = rest.json_body(_schema(definition, {
            vol.Required('id'): vol.All(str, vol.Length(min=1))}))
        context = rest.context()
        try:
            rid = resource_ids.resource_uuid(body['id'], context.creator)
        except ValueError as exc:  # voluptuous' words in Gnocchi
            rest.invalid_input("%s for dictionary value @ data['id']" % exc, ['id'])
        generic, attributes = _split_body(body)
        new, attach = _metrics_of(rid, context.creator, generic.get('metrics'))
        started, ended = (_datetime(generic.get(k), k) for k in ('started_at', 'ended_at'))
        if started is not None and ended is not None and started > ended:
            rest.abort(400, 'Start timestamp cannot be after end timestamp')  # Gnocchi's
        with _attribute_errors(body):
            resource = index.create_resource(
                self.resource_type, rid, body['id'], context.creator, generic.get('user_id'),
                generic.get('project_id'), attributes, started, ended, metrics=new)
        if attach:
            index.set_resource_metrics(rid, generic['metrics'].keys(), {}, attach)
            resource = index.get_resource(rid)
        return rest.created(rest.url('v1', 'resource', self.resource_type, rid),
                            show(resource))

    @pecan.expose('json')
    def delete(self):
        query = request_query()
        if not query:
            rest.invalid_input('a filter is required to delete resources')
        deleted = rest.store().delete_resources(
            self.resource_type, query, creator=rest.context().creator,
            attribute_filter=creator_filter('delete resources', self.resource_type))
        return {'deleted': deleted}


class ResourceTypeRoutes(framework.RestController):
    """``/v1/resource``: the URL of each resource type's resources, as Gnocchi's index;
    ``/v1/resource/<type>``."""

    @pecan.expose('json')
    def get_all(self):
        return {t['name']: rest.url('v1', 'resource', t['name'])
                for t in rest.store().index.list_resource_types()}

    @pecan.expose()
    def _lookup(self, resource_type, *remainder):
        return ResourcesController(resource_type), remainder


class SearchResourcesController(framework.RestController):
    def __init__(self, resource_type):
        self.resource_type = resource_type

    @pecan.expose('json')
    def post(self):
        return list_resources(self.resource_type, request_query(), action='search')


class _SearchResourceRoutes:
    @pecan.expose()
    def _lookup(self, resource_type, *remainder):
        rest.store().index.get_resource_type(resource_type)  # 404 first, any method
        return SearchResourcesController(resource_type), remainder


class SearchController:
    """``/v1/search/resource/<type>`` and ``/v1/search/metric``."""

    resource = _SearchResourceRoutes()
    metric = search_metric_api.SearchMetricController()
