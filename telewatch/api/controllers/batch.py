"""``/v1/batch``: measures of many metrics in one call, by metric id or by resource and
metric name (creating the metrics with ``create_metrics=true``, as Ceilometer's gnocchi
publisher uses it)."""

import uuid

import pecan
import voluptuous as vol

from telewatch.api import framework
from telewatch.api import rest
from telewatch.api import views
from telewatch.api.controllers import metric as metric_api
from telewatch.archive import resource_ids

_METRIC_MEASURES = vol.Any(list, {vol.Required('measures'): list,
                                  vol.Optional('archive_policy_name'): str,
                                  vol.Optional('unit'): metric_api.UNIT})


class MetricsMeasuresController(framework.RestController):
    @pecan.expose(content_type='application/json')
    def post(self):
        body = rest.json_body({str: list})
        index = rest.store().index
        wanted = {}
        for key in body:
            try:
                wanted[key] = str(uuid.UUID(key))
            except ValueError:
                wanted[key] = None
        found = index.get_metrics([m for m in wanted.values() if m])
        unknown = sorted(m or k for k, m in wanted.items() if m not in found)
        if unknown:
            rest.abort(400, 'Unknown metrics: %s' % ', '.join(unknown))
        measures = {}
        for key, metric_id in wanted.items():
            rest.enforce('post measures', views.metric_target(found[metric_id]))
            measures[metric_id] = metric_api.parse_measures(body[key], [key])
        metric_api.write_measures(measures)


class ResourcesMetricsMeasuresController(framework.RestController):
    @pecan.expose(content_type='application/json')
    def post(self):
        create = rest.query_bool('create_metrics')
        body = rest.json_body({str: {metric_api.METRIC_NAME: _METRIC_MEASURES}})
        ids, resources = _resources(body, create)
        new_metrics, unknown, measures = [], [], {}
        for key, by_name in body.items():
            resource = resources.get(key)
            for name, given in by_name.items():
                options = given if isinstance(given, dict) else {'measures': given}
                metric_id = resource and resource.metrics.get(name)
                if metric_id is None:
                    if not create:
                        unknown.append('%s/%s' % (ids[key], name))
                        continue
                    rest.enforce('update resource', views.resource_target(resource))
                    metric = metric_api.new_metric(options, resource.id, name)
                    new_metrics.append(metric)
                    metric_id = metric.id
                measures[metric_id] = (resource, metric_api.parse_measures(
                    options['measures'], [key, name]))
        if unknown:
            rest.abort(400, 'Unknown metrics: %s' % ', '.join(sorted(unknown)))
        store = rest.store()
        for metric in store.index.get_metrics(measures).values():
            rest.enforce('post measures', views.metric_target(
                metric, measures[metric.id][0]))
        created = store.create_metrics(new_metrics)
        # Where another writer created a metric of the same name first, its measures go
        # to that metric.
        ids = {m.id: created[m.resource_id][m.name] for m in new_metrics}
        metric_api.write_measures({ids.get(m, m): series
                                   for m, (_, series) in measures.items()})


def _resources(body, must_exist):
    """``{key: resource id}`` of a body's resource ids, and ``{key: Resource}`` of those
    that exist; 400 for those that do not when ``must_exist`` (Gnocchi's: without
    ``create_metrics``, the metrics of a missing resource are only unknown metrics)."""
    creator = rest.context().creator
    ids = {}
    for key in body:
        try:
            ids[key] = resource_ids.resource_uuid(key, creator)
        except ValueError as exc:
            rest.invalid_input(str(exc), [key])
    resources = rest.store().index.get_resources(ids.values())
    missing = [{'resource_id': rid, 'original_resource_id': key}
               for key, rid in ids.items() if rid not in resources]
    if missing and must_exist:
        rest.abort(400, {'cause': 'Unknown resources', 'detail': missing})
    return ids, {key: resources[rid] for key, rid in ids.items() if rid in resources}


class _Measures:
    def __init__(self, controller):
        self.measures = controller


class _ResourcesMetrics:
    metrics = _Measures(ResourcesMetricsMeasuresController())


class BatchController:
    metrics = _Measures(MetricsMeasuresController())
    resources = _ResourcesMetrics()
