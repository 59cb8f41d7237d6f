"""``/v1/metric`` (metrics and their measures) and ``/v1/batch`` (measures of many metrics
in one call)."""

import itertools
import uuid

import numpy
import pecan
import voluptuous as vol

from telewatch.api import charts
from telewatch.api import framework
from telewatch.api import rest
from telewatch.api import views
from telewatch.archive import aggregates
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import resource_ids

_NAME_TEXT = vol.All(str, vol.Length(min=1, max=255))
NO_SLASH = "'/' is not supported in metric name"  # Gnocchi's words
rest.BARE_REASONS.add(NO_SLASH)
METRIC_NAME = vol.All(_NAME_TEXT, vol.Match(r'^[^/]+$', msg=NO_SLASH))
UNIT = vol.All(str, vol.Length(max=31))
METRIC_FILTERS = ('name', 'id', 'unit', 'archive_policy_name', 'creator', 'user_id',
                  'project_id', 'status')


def parse_measures(items, path=()):
    """``(datetime64[ns] timestamps, float64 values)`` of a list of ``{timestamp, value}``.

    A POST may carry thousands: when every measure is a ``{timestamp, value}`` with a
    number as value and timestamps of one usual kind (``rest.parse_timestamps``), they are
    read at once; otherwise one by one, which names the first bad one.
    """
    if not isinstance(items, list):
        rest.invalid_input('expected a list of measures', list(path))
    try:
        stamps = [item['timestamp'] for item in items]
        values = [item['value'] for item in items]
    except (TypeError, KeyError):
        stamps = values = None
    if values is not None and all(type(v) is float or type(v) is int for v in values):
        parsed = rest.parse_timestamps(stamps)
        if parsed is not None:
            try:
                return parsed, numpy.array(values, dtype=numpy.float64)
            except OverflowError:  # an integer beyond any float: named below
                pass
    return _parse_each(items, list(path))


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_each(items, path):
    stamps = [item.get('timestamp') for item in items if isinstance(item, dict)]
    if stamps and _number(stamps[0]) and not all(_number(s) for s in stamps):
        # Gnocchi reads the timestamps as the first one's kind: epoch numbers, all of them
        rest.invalid_input('Unable to parse timestamps: epoch numbers and texts mixed', path)
    stamps = numpy.empty(len(items), dtype='datetime64[ns]')
    values = numpy.empty(len(items), dtype=numpy.float64)
    for i, item in enumerate(items):
        if not isinstance(item, dict):  # e.g. [timestamp, value] pairs: Gnocchi's words
            rest.invalid_input('unexpected measures format')
        try:
            timestamp, value = item['timestamp'], item['value']
        except (TypeError, KeyError):
            rest.invalid_input('a measure is {"timestamp": ..., "value": ...}', path + [i])
        stamps[i] = rest.parse_timestamp(timestamp)
        try:
            values[i] = float(value)
        except (TypeError, ValueError, OverflowError):
            rest.invalid_input('Invalid value %r' % (value,), path + [i, 'value'])
    return stamps, values


def find_metric(metric_id):
    """The Metric and its resource (or None), or ``(None, None)`` when there is none."""
    index = rest.store().index
    try:
        metric_id = str(uuid.UUID(metric_id))
    except ValueError:
        return None, None
    metric = index.get_metrics([metric_id]).get(metric_id)
    if metric is None:
        return None, None
    resource = (index.get_resources([metric.resource_id]).get(metric.resource_id)
                if metric.resource_id else None)
    return metric, resource


def metric_route(metric_id, remainder, resource=None):
    """The ``_lookup`` answer for a metric id: its controller, or Gnocchi's 404."""
    metric, found_resource = find_metric(metric_id)
    if metric is None:
        return rest.NotFoundController(str(errors.NoSuchMetric(metric_id))), remainder
    return MetricController(metric, resource or found_resource), remainder


def read_measures(metric):
    """GET .../measures: Gnocchi's triples for the request's query parameters."""
    rows = []
    for g, stamps, values in read_series(metric)[1]:
        rows.extend(zip(aggregates.format_timestamps(stamps), itertools.repeat(g),
                        values.tolist()))
    return rows


def read_series(metric):
    """(aggregation method, ``[(granularity, timestamps, values)]``) of a measures read.

    A ``resample`` (a duration, or a calendar period: ``Y``, ``H``, ``Q``, ``M``, ``W``)
    regroups the whole series, then ``start`` (floored to the resampled granularity) and
    ``stop`` cut it, as Gnocchi does.
    """
    params = pecan.request.GET
    method = params.get('aggregation', 'mean')
    granularity = params.get('granularity')
    if granularity is not None:
        granularity = rest.query_granularity(granularity)
    start = rest.query_timestamp(params['start'], 'start') if 'start' in params else None
    stop = rest.query_timestamp(params['stop'], 'stop') if 'stop' in params else None
    resample = params.get('resample')
    if resample is not None:
        if granularity is None:
            rest.invalid_input('A granularity must be specified to resample', ['resample'])
        resample = rest.resample_period(resample)
    try:
        policy_mod.parse_method(method)
    except errors.UnknownAggregationMethod:
        _no_such_method(metric, method)
    try:
        series = rest.store().series(metric, granularity, method, start, stop,
                                     refresh=rest.query_bool('refresh'), resample=resample)
    except errors.NoSuchAggregation as exc:
        if exc.method is not None:
            _no_such_method(metric, method)
        rest.abort(404, "Aggregation method '%s' at granularity '%s' for metric %s does not "
                        'exist' % (method, float(granularity), metric.id))
    return method, series


def _no_such_method(metric, method):
    rest.abort(404, {'cause': 'Aggregation method does not exist for this metric',
                     'detail': {'metric': metric.id, 'aggregation_method': method}})


def write_measures(metric_ids_and_measures):
    rest.store().add_measures(metric_ids_and_measures)
    pecan.response.status = 202


class MeasuresController(framework.RestController):
    def __init__(self, metric, resource):
        self.metric = metric
        self.resource = resource

    @pecan.expose('json')
    @pecan.expose(content_type=charts.PNG)
    def get_all(self):
        rest.enforce('get measures', views.metric_target(self.metric, self.resource))
        if charts.wanted():
            charts.size()  # a bad size is refused before the read
            method, series = read_series(self.metric)
            name = self.metric.name or self.metric.id
            return charts.png([('%s (%s)' % (name, method), series)], title=name,
                              unit=self.metric.unit)
        return read_measures(self.metric)

    @pecan.expose(content_type='application/json')
    def post(self):
        rest.enforce('post measures', views.metric_target(self.metric, self.resource))
        write_measures({self.metric.id: parse_measures(rest.json_body())})


class MetricController(framework.RestController):
    def __init__(self, metric, resource):
        self.metric = metric
        self.resource = resource
        self.measures = MeasuresController(metric, resource)

    @pecan.expose('json')
    def get_all(self):
        rest.enforce('get metric', views.metric_target(self.metric, self.resource))
        policy = rest.store().index.get_archive_policy(self.metric.archive_policy_name)
        return views.metric_to_dict(self.metric, policy, self.resource, with_resource=True)

    @pecan.expose(content_type='application/json')
    def delete(self):
        rest.enforce('delete metric', views.metric_target(self.metric, self.resource))
        rest.store().delete_metric(self.metric.id)
        pecan.response.status = 204


def new_metric(body, resource_id=None, name=None):
    """A Metric not created yet, from a body ``{archive_policy_name?, unit?}`` (+ ``name``);
    400 for a policy that does not exist or that no rule gives."""
    name = name if name is not None else body.get('name')
    try:
        return rest.store().new_metric(rest.context().creator, name, resource_id,
                                       body.get('archive_policy_name'), body.get('unit'))
    except (errors.NoArchivePolicyRuleMatch, errors.NoSuchArchivePolicy) as exc:
        rest.abort(400, str(exc))


def _resource_uuid(body):
    """The UUID of a new metric's ``resource_id``, or None (400 for an invalid id)."""
    if body.get('resource_id') is None:
        return None
    try:
        return resource_ids.resource_uuid(body['resource_id'], rest.context().creator)
    except ValueError as exc:
        rest.invalid_input(str(exc), ['resource_id'])


def _check_resource_of_new_metric(metric):
    """Gnocchi's checks of a new metric on a resource: a name, a resource that exists, and
    the caller's right to update it."""
    if metric.name is None:
        rest.abort(400, {'cause': 'Attribute value error', 'detail': 'name',
                         'reason': 'Name cannot be null if resource_id is not null'})
    resource = rest.store().index.get_resources([metric.resource_id]).get(metric.resource_id)
    if resource is None:
        rest.abort(404, str(errors.NoSuchResource(metric.resource_id)))
    rest.enforce('update resource', views.resource_target(resource))


class MetricsController(framework.RestController):
    @pecan.expose()
    def _lookup(self, metric_id, *remainder):
        return metric_route(metric_id, remainder)

    @pecan.expose('json')
    def post(self):
        rest.enforce('create metric')
        body = rest.json_body({vol.Optional('name'): _NAME_TEXT,
                               vol.Optional('archive_policy_name'): str,
                               vol.Optional('resource_id'): str,
                               vol.Optional('unit'): UNIT})
        if '/' in body.get('name', ''):
            rest.abort(400, NO_SLASH)  # a text, not Invalid input, as in Gnocchi
        metric = new_metric(body, _resource_uuid(body))
        if metric.resource_id is None:
            rest.store().create_metrics([metric])
        else:  # Gnocchi refuses a second metric of a name on a resource here
            _check_resource_of_new_metric(metric)
            try:
                rest.store().index.create_metrics([metric])
            except errors.NamedMetricAlreadyExists:
                rest.abort(400, {'cause': 'Named metric already exists',
                                 'detail': metric.name})
        # As Gnocchi's answer to a creation: the policy's name, not the policy.
        return rest.created(rest.url('v1', 'metric', metric.id),
                            views.new_metric_to_dict(metric))

    @pecan.expose('json')
    def get_all(self):
        params = pecan.request.GET
        filters = {k: params[k] for k in METRIC_FILTERS if k in params}
        scope = None
        if not rest.allowed('list all metric'):
            rest.enforce('list metric')  # then only what this project may see
            context = rest.context()
            scope = context.project_id
            # A gnocchi-basic caller (no project) sees what its user name created, as in
            # Gnocchi (another creator asked for matches nothing of its own).
            if scope is None and filters.setdefault('creator', context.creator) != (
                    context.creator):
                return []
        page = rest.page_parameters()
        index = rest.store().index
        metrics = index.search_metrics(filters, page['sort'], page['limit'], page['marker'],
                                       project_scope=scope)
        rest.link_next(metrics, page['limit'], index.marker_of,
                       rest.METRIC_DEFAULT_SORT)
        return [views.metric_to_dict(m, index.get_archive_policy(m.archive_policy_name))
                for m in metrics]
