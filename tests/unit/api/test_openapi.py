"""The OpenAPI description (telewatch/api/openapi) cannot drift from the app: a walk of the
Pecan controller tree finds every route and method the app serves, and they must be
exactly the described ones; the document is valid OpenAPI; /v1/openapi.json serves it."""

import inspect
import re

import openapi_spec_validator
import pecan
import pecan.core
import pytest
from pecan import rest as pecan_rest
from pecan import util as pecan_util

from telewatch.api import auth
from telewatch.api import openapi
from telewatch.api import policy
from telewatch.api import rest
from telewatch.api.controllers import root
from telewatch.api.controllers import subscription as subscription_api

ADMIN = {'Authorization': 'basic YWRtaW46'}
METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')
# RestController's handlers (get_one, put: none is used, but they would be routed).
REST_HANDLERS = {'get': 'GET', 'get_all': 'GET', 'get_one': 'GET', 'post': 'POST',
                 'put': 'PUT', 'patch': 'PATCH', 'delete': 'DELETE'}
ROUTING_HOOKS = ('_lookup', '_default', '_route')
# The controllers with a ``_lookup`` (by path): the path parameter the description names
# for the segment it consumes, and the key of an existing value in ``Samples``.
LOOKUPS = {
    '/v1/archive_policy': ('name', 'policy'),
    '/v1/archive_policy_rule': ('name', 'rule'),
    '/v1/resource_type': ('name', 'resource_type'),
    '/v1/resource': ('resource_type', 'resource_type'),
    '/v1/resource/{resource_type}': ('resource_id', 'resource'),
    '/v1/resource/{resource_type}/{resource_id}/metric': ('metric_name', 'metric_name'),
    '/v1/search/resource': ('resource_type', 'resource_type'),
    '/v1/aggregation/resource': ('resource_type', 'resource_type'),
    '/v1/aggregation/resource/{resource_type}/metric': ('metric_name', 'metric_name'),
    '/v1/metric': ('metric_id', 'metric'),
    '/v1/subscriptions': ('subscription_id', 'subscription'),
    '/v1/dashboards': ('name', 'dashboard'),
    '/v2/alarms': ('alarm_id', 'alarm'),
    '/v2/quotas': ('project_id', 'project'),
}


@pytest.fixture
def samples(api):
    """An existing object for every ``_lookup`` to find, created through the API."""
    api.post_json('/v1/archive_policy_rule', {'name': 'rule-1', 'metric_pattern': 'x.*',
                                              'archive_policy_name': 'low'}, headers=ADMIN)
    resource = api.post_json('/v1/resource/generic', {
        'id': 'walker-host', 'metrics': {'cpu': {'archive_policy_name': 'low'}}},
        headers=ADMIN).json
    subscription = api.post_json('/v1/subscriptions', {
        'name': 'walker', 'meters': ['cpu'], 'target': 'udp://127.0.0.1:4952'},
        headers=ADMIN).json
    alarm = api.post_json('/v2/alarms', {'name': 'walker', 'type': 'event'},
                          headers=ADMIN).json
    return {'policy': 'low', 'rule': 'rule-1', 'resource_type': 'generic',
            'resource': resource['id'], 'metric_name': 'cpu',
            'metric': resource['metrics']['cpu'], 'subscription': subscription['id'],
            'alarm': alarm['alarm_id'], 'project': 'walker-project',
            'dashboard': 'walker-dashboard'}


@pytest.fixture
def request_context(conf, store, api):
    """What the ``_lookup``s read from ``pecan.request``: an admin's request (the app
    fixture made Pecan's context-local state)."""
    pecan.core.state.request = pecan.core.Request.blank('/', environ={
        'telewatch.store': store, 'telewatch.conf': conf,
        subscription_api.ENVIRON_KEY: subscription_api.Subscriptions(conf, store.index),
        'telewatch.enforcer': policy.make_enforcer(conf),
        'telewatch.context': auth.RequestContext('admin', None, ('admin',), auth.BASIC)})
    yield
    del pecan.core.state.request


def _methods(node):
    """The HTTP methods a controller answers at its own path."""
    if isinstance(node, pecan_rest.RestController):
        return {method for name, method in REST_HANDLERS.items()
                if pecan_util.iscontroller(getattr(node, name, None))}
    index = getattr(node, 'index', None)
    if not pecan_util.iscontroller(index):
        return set()
    generic = pecan_util._cfg(index).get('generic_handlers')
    return set(METHODS) & set(generic) if generic else set(METHODS)


def _is_controller(value):
    """Whether Pecan may route into ``value``: any object of the API's controller modules
    (one holding only sub-controllers too, like ``/v1/batch``), not the archive's objects
    that controllers keep (a Metric, a Resource)."""
    if inspect.isroutine(value) or inspect.isclass(value):
        return False
    return (isinstance(value, pecan_rest.RestController)
            or type(value).__module__.startswith('telewatch.api.controllers.'))


def _exposed_leaves(node, path):
    """Exposed methods a plain controller routes by name (they answer every method)."""
    if isinstance(node, pecan_rest.RestController):
        return set()
    routes = set()
    for name, value in inspect.getmembers(node, pecan_util.iscontroller):
        cfg = pecan_util._cfg(value)
        if name in ('index',) + ROUTING_HOOKS or cfg.get('generic_handler'):
            continue
        routes |= {(m, '%s/%s' % (path, getattr(value, 'custom_route', None) or name))
                   for m in METHODS}
    return routes


def served_routes(node, samples, path=''):
    """``{(method, path template)}`` of everything ``node`` serves under ``path``."""
    routes = {(m, path or '/') for m in _methods(node)} | _exposed_leaves(node, path)
    assert not pecan_util.iscontroller(getattr(node, '_default', None)), (
        '%s (%s) answers any path below it' % (path, type(node).__name__))
    for action, methods in getattr(node, '_custom_actions', {}).items():
        routes |= {(m.upper(), '%s/%s' % (path, action)) for m in methods}
    for name in dir(node):
        value = getattr(node, name)
        if not name.startswith('_') and _is_controller(value):
            routes |= served_routes(value, samples, '%s/%s' % (path, name))
    if pecan_util.iscontroller(getattr(node, '_lookup', None)):
        assert path in LOOKUPS, 'a _lookup at %s: add its path parameter to LOOKUPS' % path
        parameter, sample = LOOKUPS[path]
        child, remainder = node._lookup(samples[sample])
        assert not isinstance(child, rest.NotFoundController) and not remainder, path
        routes |= served_routes(child, samples, '%s/{%s}' % (path, parameter))
    return routes


def described_routes(document):
    return {(method.upper(), path) for path, item in document['paths'].items()
            for method in item if method.upper() in METHODS}


def test_every_served_route_is_described_and_every_described_one_served(
        samples, request_context):
    served = served_routes(root.RootController(), samples)
    described = described_routes(openapi.document())
    assert not served - described, 'served, not described: %s' % sorted(served - described)
    assert not described - served, 'described, not served: %s' % sorted(described - served)


def test_methods_not_described_are_refused(api, samples):
    """The walk's reading of Pecan's routing, checked over HTTP: a method a path does not
    describe is refused there (405; 404 where Pecan finds no handler at all)."""
    values = {parameter: samples[key] for parameter, key in LOOKUPS.values()}
    for path, item in openapi.document()['paths'].items():
        url = re.sub(r'\{(\w+)\}', lambda m: str(values[m.group(1)]), path)
        for method in set(METHODS) - {m.upper() for m in item}:
            response = api.request(url, method=method, headers=ADMIN, expect_errors=True)
            assert response.status_int in (404, 405), '%s %s: %s' % (method, url, response.status)


def test_the_document_is_valid_openapi():
    openapi_spec_validator.validate(openapi.document())


def test_every_operation_is_named_and_says_how_it_fails():
    ids = []
    for path, item in openapi.document()['paths'].items():
        for method, operation in item.items():
            if method.upper() not in METHODS:
                continue
            ids.append(operation['operationId'])
            codes = set(operation['responses'])
            assert any(c.startswith('2') for c in codes), (method, path)
            if operation.get('security') != []:
                assert '401' in codes, (method, path)
            if 'requestBody' in operation:
                assert {'400', '415'} <= codes, (method, path)
    assert len(ids) == len(set(ids))


def test_served_with_the_build_behind_authentication(api):
    assert api.get('/v1/openapi.json', expect_errors=True).status_int == 401
    response = api.get('/v1/openapi.json', headers=ADMIN)
    assert response.content_type == 'application/json'
    assert response.json == openapi.document(root.build_version())
    assert response.json['info']['version'] == root.build_version()


def test_a_piece_may_not_redefine_what_another_defines():
    document = {'paths': {'/a': {}}, 'components': {'schemas': {'A': {}}}}
    with pytest.raises(ValueError, match='x.yaml: paths /a is defined twice'):
        openapi._merge(document, {'paths': {'/a': {}}}, 'x.yaml')
    with pytest.raises(ValueError, match='components.schemas A is defined twice'):
        openapi._merge(document, {'components': {'schemas': {'A': {}}}}, 'x.yaml')
    with pytest.raises(ValueError, match='unexpected keys info'):
        openapi._merge(document, {'info': {}}, 'x.yaml')
