"""``/`` and ``/v1``: the version documents (``gnocchi server version`` prints ``build``),
and ``/v1/openapi.json``, the API's description; ``/v2`` is Aodh's (alarm_query)."""

import re

import pecan

import telewatch
from telewatch.api import framework
from telewatch.api import openapi
from telewatch.api import rest
from telewatch.api.controllers import aggregates as aggregates_api
from telewatch.api.controllers import alarm_query
from telewatch.api.controllers import archive_policy as archive_policy_api
from telewatch.api.controllers import batch as batch_api
from telewatch.api.controllers import dashboards as dashboards_api
from telewatch.api.controllers import influxdb as influxdb_api
from telewatch.api.controllers import metric as metric_api
from telewatch.api.controllers import prometheus as prometheus_api
from telewatch.api.controllers import resource as resource_api
from telewatch.api.controllers import resource_type as resource_type_api
from telewatch.api.controllers import status as status_api
from telewatch.api.controllers import subscription as subscription_api

# Gnocchi's links, in its order (clients and its tests index them); telewatch's own
# /v1/subscriptions is served without one.
V1_LINKS = ('aggregates', 'aggregation', 'archive_policy', 'archive_policy_rule', 'batch',
            'capabilities', 'influxdb', 'metric', 'resource', 'resource_type', 'search',
            'status')


def build_version():
    try:
        from pbr import version
        return version.VersionInfo('telewatch').version_string()
    except Exception:  # not installed as a distribution (a bare checkout on sys.path)
        return getattr(telewatch, '__version__', '0')


# The Gnocchi release whose API /v1 speaks (its functional suite runs against it).
GNOCCHI_API_VERSION = '4.7.1'


def gnocchi_build():
    """``build`` of the root document: Gnocchi's version, telewatch's as its local part.

    Gnocchi's clients read it as Gnocchi's: ceilometer-upgrade refuses a major other than 4
    or anything below 4.2.0 (oslo.utils is_compatible, PEP 440, which allows the local part).
    """
    return '%s+telewatch.%s' % (GNOCCHI_API_VERSION,
                                re.sub('[^0-9A-Za-z]+', '.', build_version()).strip('.'))


def _get_only():
    """405 for any method but GET and HEAD (the default handler of a generic ``index``)."""
    rest.abort(405, 'Method not allowed', headers={'Allow': 'GET, HEAD'})


class OpenAPIController(framework.RestController):
    @pecan.expose(content_type='application/json')
    def get_all(self):
        return openapi.as_json(build_version())


class V1Controller:
    aggregates = aggregates_api.AggregatesController()
    aggregation = aggregates_api.AggregationController()
    archive_policy = archive_policy_api.ArchivePoliciesController()
    archive_policy_rule = archive_policy_api.ArchivePolicyRulesController()
    resource_type = resource_type_api.ResourceTypesController()
    resource = resource_api.ResourceTypeRoutes()
    search = resource_api.SearchController()
    metric = metric_api.MetricsController()
    batch = batch_api.BatchController()
    status = status_api.StatusController()
    capabilities = status_api.CapabilitiesController()
    subscriptions = subscription_api.SubscriptionsController()
    dashboards = dashboards_api.DashboardsController()
    influxdb = influxdb_api.InfluxDBController()
    prometheus = prometheus_api.PrometheusController()

    @pecan.expose(generic=True)
    def index(self):
        _get_only()

    @index.when(method='HEAD', template='json')
    @index.when(method='GET', template='json')
    def index_get(self):
        base = rest.url('v1')
        return {'version': '1.0', 'links': [{'rel': 'self', 'href': base}] + [
            {'rel': name, 'href': '%s/%s' % (base, name)} for name in V1_LINKS]}


class RootController:
    v1 = V1Controller()
    v2 = alarm_query.V2Controller()

    @pecan.expose(generic=True)
    def index(self):
        _get_only()

    @index.when(method='HEAD', template='json')
    @index.when(method='GET', template='json')
    def index_get(self):
        # Gnocchi's document (its clients read ``build``), Aodh's v2 listed beside v1.
        return {'build': gnocchi_build(), 'versions': [{
            'id': 'v1.0', 'status': 'CURRENT', 'updated': '2015-03-19',
            'links': [{'rel': 'self', 'href': rest.url('v1') + '/'}]}, {
            'id': 'v2', 'status': 'stable', 'updated': '2013-02-13T00:00:00Z',
            'links': [{'rel': 'self', 'href': rest.url('v2')}]}]}


# Not a Python name: Pecan routes the path segment to the controller.
pecan.route(V1Controller, 'openapi.json', OpenAPIController())
