"""``/v1/aggregates`` (the operations language over metrics, or over the metrics of the
resources a search finds) and the legacy ``/v1/aggregation/metric``."""

import fnmatch
import uuid

import pecan
import pytimeparse
import voluptuous as vol

from telewatch.api import charts
from telewatch.api import framework
from telewatch.api import rest
from telewatch.api import views
from telewatch.api.controllers import resource as resource_api
from telewatch.archive import aggregates
from telewatch.archive import errors

# Any operations: the parser says what is wrong, in Gnocchi's words.
_BODY = {vol.Required('operations'): object,
         vol.Optional('search'): vol.Any(str, dict),
         vol.Optional('resource_type', default='generic'): str}


def _parameters():
    """The query's arguments of an aggregation (checked first, as Gnocchi does)."""
    params = pecan.request.GET
    out = {}
    if 'granularity' in params:
        out['granularity'] = int(rest.query_granularity(params['granularity']) * 1e9)
    for name in ('start', 'stop'):
        if name in params:
            out[name] = rest.query_timestamp(params[name], name)
    if 'needed_overlap' in params:
        out['needed_overlap'] = rest.query_overlap(params['needed_overlap'])
    if 'fill' in params:
        out['fill'] = rest.query_fill(params['fill'])
    return out


def _has_method(metric, method):
    policy = rest.store().index.get_archive_policy(metric.archive_policy_name)
    return method in policy.methods


def _metric_series(refs, refresh):
    index = rest.store().index
    ids = {}
    for ref, _ in refs:
        try:
            ids[ref] = str(uuid.UUID(ref))
        except ValueError:
            ids[ref] = None
    found = index.get_metrics([m for m in ids.values() if m])
    unknown = sorted({ref for ref, m in ids.items() if m not in found})
    if unknown:
        rest.abort(404, {'cause': 'Unknown metrics', 'detail': unknown})
    resources = index.get_resources({m.resource_id for m in found.values() if m.resource_id})
    for ref, _ in refs:
        metric = found[ids[ref]]
        rest.enforce('get measures', views.metric_target(metric, resources.get(
            metric.resource_id)))
    missing = [[ref, method] for ref, method in refs if not _has_method(found[ids[ref]], method)]
    if missing:
        rest.abort(404, {'cause': 'Metrics with unknown aggregation', 'detail': missing})
    return rest.store().every_granularity(
        {(ref, method): (found[ids[ref]], method) for ref, method in refs}, refresh)


class _NoMetricFound(Exception):
    """No reference of the operations names a metric of the resources."""


def _no_metric(refs):
    rest.abort(404, 'Metric %s does not exist' % sorted({ref for ref, _ in refs}))


def _search_series(refs, resources, refresh):
    index = rest.store().index
    metrics = index.get_metrics([m for r in resources for m in r.metrics.values()])
    found = {}  # (ref, method) -> [(resource id, metric name, Metric)]
    for ref, method in refs:
        found[(ref, method)] = [
            (resource.id, name, metrics[metric_id]) for resource in resources
            for name, metric_id in sorted(resource.metrics.items())
            if fnmatch.fnmatch(name, ref) and metric_id in metrics
            and _has_method(metrics[metric_id], method)]
    lacking = [ref for (ref, _), matches in found.items() if not matches]
    if len(lacking) == len(found):
        raise _NoMetricFound()
    if lacking:
        rest.abort(404, 'Metric %s does not exist' % [lacking[0]])
    series = rest.store().every_granularity(
        {(ref, method, resource_id, name): (metric, method)
         for (ref, method), matches in found.items() for resource_id, name, metric in matches},
        refresh)
    return {(ref, method): [
        aggregates.Match(resource_id, name, series[(ref, method, resource_id, name)])
        for resource_id, name, _ in matches] for (ref, method), matches in found.items()}


def _search(body, groupby=()):
    """The resources of the search, sorted by the ``groupby`` attributes as Gnocchi's (so
    an attribute the type lacks is a 400 "Invalid pagination")."""
    text = body.get('search')
    query = rest.store().index.parse_filter(text) if isinstance(text, str) else text
    return _resources(body['resource_type'], query or None, groupby)


def _resources(resource_type, query, sort=(), history=False):
    """Every resource of ``resource_type`` the query finds that the caller may search (with
    ``history``, every revision of them that it finds)."""
    index = rest.store().index
    return index.search_resources(
        resource_type, query, sort=sort, history=history,
        attribute_filter=resource_api.project_filter('search'), creator=rest.context().creator,
        max_limit=index.MAX_LIMIT * 1000, limit=index.MAX_LIMIT * 1000)


def _revisions(body, groupby, params):
    """The revisions of the searched resources that overlap [start, stop] (every one
    without both), as ``aggregates.history.Revision``s keyed by their groupby values."""
    text = body.get('search')
    query = rest.store().index.parse_filter(text) if isinstance(text, str) else text
    bounds = [aggregates.format_timestamps([params[n]])[0] if n in params else None
              for n in ('start', 'stop')]
    period = aggregates.history.revision_filter(*bounds)
    if period is not None:
        query = {'and': [period, query]} if query else period
    revisions = []
    for revision in _resources(body['resource_type'], query or None, groupby, history=True):
        shown = resource_api.show(revision)
        revisions.append(aggregates.history.Revision(
            revision.id, revision.revision_start, revision.revision_end,
            tuple((attr, shown.get(attr)) for attr in groupby), revision))
    return revisions


def _history_groups(tree, refs, revisions, refresh, params, details):
    """Gnocchi's ``use_history`` groups (``aggregates.history.grouped``); 404 when no group
    has any row."""
    unique = {r.resource_id: r.item for r in revisions}
    try:
        series = _search_series(refs, list(unique.values()), refresh)
    except _NoMetricFound:
        _no_metric(refs)
    results = []
    for group in aggregates.history.grouped(tree, revisions, series, **params):
        measures = {'measures': {'aggregated': group.rows}}
        if details:
            measures['references'] = [resource_api.show(group.last)]
        results.append({'group': dict(group.key), 'measures': measures})
    return results or _no_metric(refs)


def _groups(resources, groupby):
    groups = {}
    for resource in resources:
        shown = resource_api.show(resource)
        key = tuple((attr, shown.get(attr)) for attr in groupby)
        groups.setdefault(key, []).append(resource)
    return [(dict(key), members) for key, members in sorted(
        groups.items(), key=lambda item: [str(v) for _, v in item[0]])]


class AggregatesController(framework.RestController):
    @pecan.expose('json')
    @pecan.expose(content_type=charts.PNG)
    def post(self):
        if charts.wanted():
            charts.size()  # a bad size is refused before the read
            result = self._answer()
            return charts.png([(' '.join(label) or 'aggregated', charts.rows_series(rows))
                               for label, rows in charts.measures_tree(result)])
        return self._answer()

    def _answer(self):
        params = _parameters()
        body = rest.json_body(_BODY)
        tree = aggregates.parse_operations(body['operations'], pytimeparse.parse)
        refs = aggregates.references(tree)
        refresh = rest.query_bool('refresh')
        details = rest.query_bool('details')
        use_history = rest.query_bool('use_history')
        if 'search' not in body:
            series = _metric_series(refs, refresh)
            result = {'measures': aggregates.evaluate(tree, series, **params)}
            if details:
                index = rest.store().index
                result['references'] = [
                    views.metric_to_dict(m, index.get_archive_policy(m.archive_policy_name))
                    for m in index.get_metrics({r for r, _ in refs}).values()]
            return result
        groupby = pecan.request.GET.getall('groupby')
        if groupby and use_history:
            groupby = sorted(set(groupby))
            return _history_groups(tree, refs, _revisions(body, groupby, params), refresh,
                                   params, details)
        resources = _search(body, groupby)
        if not groupby:
            try:
                return self._evaluate(tree, refs, resources, refresh, params, details)
            except _NoMetricFound:
                _no_metric(refs)
        results = []
        for group, members in _groups(resources, groupby):
            try:  # as Gnocchi, a group with none of the metrics is left out
                results.append({'group': group, 'measures': self._evaluate(
                    tree, refs, members, refresh, params, details)})
            except _NoMetricFound:
                pass
        return results or _no_metric(refs)

    @staticmethod
    def _evaluate(tree, refs, resources, refresh, params, details):
        series = _search_series(refs, resources, refresh)
        result = {'measures': aggregates.evaluate(tree, series, **params)}
        if details:
            result['references'] = [resource_api.show(r) for r in resources]
        return result


def _check_single_metric(ref, method):
    """Gnocchi's 404 when the one metric of a legacy aggregation lacks the method."""
    try:
        metric_id = str(uuid.UUID(ref))
    except ValueError:
        return  # _metric_series answers for what is no metric
    metric = rest.store().index.get_metrics([metric_id]).get(metric_id)
    if metric is not None and not _has_method(metric, method):
        rest.abort(404, {'cause': 'Aggregation method does not exist for this metric',
                         'detail': {'metric': metric.id, 'aggregation_method': method}})


def _check_legacy_metrics(ids, method):
    """Gnocchi's answers of the legacy aggregation: 400 for what is no UUID, 404 naming
    the first metric that does not exist or lacks the method."""
    index = rest.store().index
    for ref in ids:
        try:
            metric_id = str(uuid.UUID(ref))
        except ValueError:
            rest.invalid_input('%s is not a metric id' % ref, ['metric'])
        metric = index.get_metrics([metric_id]).get(metric_id)
        if metric is None:
            rest.abort(404, 'Metric %s does not exist' % ref)
        if not _has_method(metric, method):
            policy = index.get_archive_policy(metric.archive_policy_name)
            rest.abort(404, "Aggregation method '%s' at granularity '%s' for metric %s does "
                       'not exist' % (method, min(policy.granularities) / 1e9, metric.id))


def _legacy_aggregation(ids):
    """The legacy aggregation of the metrics ``ids`` (the query's options); [] for none."""
    params = pecan.request.GET
    method = params.get('aggregation', 'mean')
    if not ids:
        return []
    if len(ids) == 1:
        _check_single_metric(ids[0], method)
    _check_legacy_metrics(ids, method)
    series = _metric_series([(m, method) for m in ids], rest.query_bool('refresh'))
    options = _parameters()
    if 'resample' in params:
        resample = rest.resample_period(params['resample'])
        options['resample'] = resample if isinstance(resample, str) else int(resample * 1e9)
    options.setdefault('needed_overlap', 100.0)
    return aggregates.legacy_aggregation(
        [(m, series[(m, method)]) for m in ids], method,
        params.get('reaggregation'), **options)


class AggregationMetricController(framework.RestController):
    """The legacy ``GET /v1/aggregation/metric?metric=ID&metric=ID...``."""

    @pecan.expose('json')
    def get_all(self):
        ids = pecan.request.GET.getall('metric')
        if not ids:
            rest.invalid_input('at least one metric is needed', ['metric'])
        return _legacy_aggregation(ids)

    @pecan.expose('json')
    def post(self):
        """The same, the metric ids in the body (a list)."""
        ids = rest.json_body([str])
        if not ids:
            rest.invalid_input('at least one metric is needed', [])
        return _legacy_aggregation(ids)


class AggregationResourceController(framework.RestController):
    """The legacy ``POST /v1/aggregation/resource/<type>/metric/<name>``: the metric of
    that name of each resource a query (``filter`` or the body) finds, aggregated, by
    ``groupby`` groups when given."""

    def __init__(self, resource_type, metric_name):
        self.resource_type = resource_type
        self.metric_name = metric_name

    @pecan.expose('json')
    def post(self):
        query = resource_api.request_query()
        groupby = sorted(set(pecan.request.GET.getall('groupby')))
        try:  # sorted by the groups, as Gnocchi's: so a group the type lacks is refused
            resources = _resources(self.resource_type, query, groupby)
        except errors.IndexEntryError as exc:
            if getattr(exc, 'cause', None) != 'Invalid pagination':
                raise
            rest.abort(400, 'Invalid groupby attribute')
        if not groupby:
            return self._measures(resources)
        return [{'group': group, 'measures': self._measures(members)}
                for group, members in _groups(resources, groupby)]

    def _measures(self, resources):
        return _legacy_aggregation([r.metrics[self.metric_name] for r in resources
                                    if self.metric_name in r.metrics])


class _AggregationMetricNames(framework.RestController):
    """``/v1/aggregation/resource/<type>/metric/<name>`` (without a name: a 405, as
    Gnocchi's)."""

    def __init__(self, resource_type):
        self.resource_type = resource_type

    @pecan.expose()
    def _lookup(self, metric_name, *remainder):
        return AggregationResourceController(self.resource_type, metric_name), remainder


class _AggregationOfType:
    def __init__(self, resource_type):
        self.metric = _AggregationMetricNames(resource_type)


class _AggregationResourceTypes:
    """``/v1/aggregation/resource/<type>``: 404 for a type that does not exist."""

    @pecan.expose()
    def _lookup(self, resource_type, *remainder):
        rest.store().index.get_resource_type(resource_type)  # NoSuchResourceType: 404
        return _AggregationOfType(resource_type), remainder


class AggregationController:
    metric = AggregationMetricController()
    resource = _AggregationResourceTypes()
