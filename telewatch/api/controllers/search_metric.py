"""``POST /v1/search/metric``: the points of metrics whose value a query keeps (Gnocchi's
measure search), e.g. ``?metric_id=<id>&granularity=1s`` with ``{"and": [{">=": 10}]}``."""

import itertools
import uuid

import pecan

from telewatch.api import framework
from telewatch.api import measure_query
from telewatch.api import rest
from telewatch.api import views
from telewatch.archive import aggregates
from telewatch.archive import errors


def _metrics(ids):
    wanted = []
    for metric_id in ids:
        try:
            wanted.append(str(uuid.UUID(metric_id)))
        except ValueError:
            pass  # no such metric, as Gnocchi: left out
    index = rest.store().index
    metrics = index.get_metrics(wanted)
    for metric in metrics.values():
        rest.enforce('search metric', views.metric_target(metric))
    return [metrics[m] for m in dict.fromkeys(wanted) if m in metrics]


def _bound(params, name):
    if name not in params:
        return None
    try:
        return rest.parse_timestamp(params[name], name)
    except Exception:  # rest's 400 names the argument otherwise: Gnocchi's words here
        rest.abort(400, 'Invalid value for %s' % name)


def _query():
    if not pecan.request.body:
        rest.abort(400, 'No query specified in body')
    try:
        return measure_query.compile_query(rest.json_body())
    except measure_query.InvalidQuery as exc:
        rest.invalid_input(exc.reason, exc.path)


def _series(metric, granularities, method, start, stop):
    store = rest.store()
    out = []
    for granularity in granularities or [None]:
        try:
            out.extend(store.series(metric, granularity, method, start, stop))
        except errors.NoSuchAggregation:
            rest.abort(400, {'cause': 'Aggregation does not exist', 'detail': {
                'metric': metric.id, 'granularity': granularity,
                'aggregation_method': method}})
    return out


class SearchMetricController(framework.RestController):
    @pecan.expose('json')
    def post(self):
        params = pecan.request.GET
        metrics = _metrics(params.getall('metric_id'))
        query = _query()
        start, stop = _bound(params, 'start'), _bound(params, 'stop')
        granularities = sorted({rest.query_granularity(g)
                                for g in params.getall('granularity')}, reverse=True)
        method = params.get('aggregation', 'mean')
        found = {}
        for metric in metrics:
            rows = found[metric.id] = []
            for granularity, stamps, values in _series(metric, granularities, method,
                                                       start, stop):
                keep = measure_query.select(query, values)
                rows.extend(zip(aggregates.format_timestamps(stamps[keep]),
                                itertools.repeat(granularity), values[keep].tolist()))
        return found
