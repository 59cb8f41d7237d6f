"""The REST API's WSGI application: Pecan controllers behind authentication, with Gnocchi's
error bodies for every typed error of the archive."""

import logging
import re

import pecan
import webob
import webob.exc
from oslo_config import cfg

from telewatch.api import auth
from telewatch.api import framework
from telewatch.api import middleware
from telewatch.api import policy
from telewatch.alarms import actions as alarm_actions
from telewatch.alarms import storage as alarm_storage
from telewatch.api import rest
from telewatch.api.controllers import alarm_checks
from telewatch.api.controllers import aodh
from telewatch.api.controllers import root
from telewatch.api.controllers import subscription as subscription_api
from telewatch.archive import aggregates
from telewatch.archive import errors
from telewatch.archive import store as store_mod
from telewatch import console
from telewatch.pubsub import registry as registry_mod

LOG = logging.getLogger(__name__)

OPTS = [
    cfg.HostAddressOpt('host', default='127.0.0.1',
                       help='Address telewatch-api listens on.'),
    cfg.PortOpt('port', default=8041, help='Port telewatch-api listens on.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Worker processes of telewatch-api (gunicorn).'),
    cfg.IntOpt('max_limit', default=1000, min=1,
               help='The largest page a list or search returns (and its default size).'),
]

_SLASHES = re.compile('//+')
# The bodies the API reads; Gnocchi answers 415 to a body of any other declared type.
BODY_TYPES = ('application/json', 'application/json-patch+json')
_BODY_METHODS = ('POST', 'PUT', 'PATCH', 'DELETE')
# Paths whose bodies are not JSON (InfluxDB's line protocol, Prometheus' protobuf): any
# type but the forms Pecan's routing would read.
RAW_BODY_PATHS = ('/v1/influxdb/', '/v1/prometheus/')
FORM_TYPES = ('application/x-www-form-urlencoded', 'multipart/form-data')


def list_opts():
    return [('api', OPTS)] + middleware.list_opts()


# Seconds a client is told to wait before trying a write the storage could not take.
RETRY_AFTER = 10


# The HTTP status of each typed error the API answers with the error's own text or body,
# as Gnocchi does; any other IndexEntryError or AggregatesError is a 400.
STATUSES = {
    errors.NoSuchArchivePolicy: 404,
    errors.ArchivePolicyAlreadyExists: 409,
    errors.ArchivePolicyInUse: 400,
    errors.NoSuchArchivePolicyRule: 404,
    errors.ArchivePolicyRuleAlreadyExists: 409,
    errors.NoSuchResourceType: 404,
    errors.ResourceTypeAlreadyExists: 409,
    errors.ResourceTypeInUse: 400,
    errors.NoSuchResource: 404,
    errors.ResourceAlreadyExists: 409,
    errors.NoSuchMetric: 404,
    errors.NamedMetricAlreadyExists: 409,
    errors.NoArchivePolicyRuleMatch: 400,
    registry_mod.NoSuchSubscription: 404,
    registry_mod.SubscriptionAlreadyExists: 409,
    aggregates.NoSuchAggregationGranularity: 404,
}


def status_of(exc):
    """The HTTP status of an IndexEntryError or an AggregatesError (``STATUSES``)."""
    return next((STATUSES[kind] for kind in type(exc).__mro__ if kind in STATUSES), 400)


def _error(status, description, retry_after=None):
    title = webob.Response(status=status).status.split(' ', 1)[1]
    response = webob.Response(
        status=status, content_type='application/json', charset='utf-8',
        body=framework.error_json({'code': status, 'title': title,
                                   'description': description}).encode())
    if retry_after is not None:
        response.headers['Retry-After'] = str(retry_after)
    return response


def _server_error(exc):
    """Errors of the server's own storage: retryable (507, 503) or damage (500), each
    with Gnocchi's JSON body and, for damage, a log that says what is broken."""
    if isinstance(exc, errors.InsufficientStorage):
        LOG.warning('Storage full, write refused (nothing acknowledged): %s', exc)
        return _error(507, {'cause': 'Insufficient storage', 'detail': str(exc)},
                      RETRY_AFTER)
    if isinstance(exc, errors.StorageUnavailable):
        LOG.warning('Storage unavailable: %s', exc)
        return _error(503, 'The archive is unavailable, try again later.', RETRY_AFTER)
    if isinstance(exc, (errors.InvalidState, errors.InvalidIncoming)):
        LOG.error('Damaged archive data: %s: %s', type(exc).__name__, exc)
        return _error(500, exc.to_dict())
    return None


def error_response(exc):
    """The response of a typed error raised by a controller; None for other exceptions."""
    server = _server_error(exc)
    if server is not None:
        return server
    if getattr(exc, 'invalid_input', None) is not None:  # a query's, in voluptuous' words
        reason, keys = exc.invalid_input
        return _error(400, {'cause': 'Invalid input', 'reason': reason, 'detail': keys})
    if isinstance(exc, errors.IndexEntryError):
        return _error(status_of(exc), exc.description)
    if isinstance(exc, aggregates.AggregatesError):
        return _error(status_of(exc), getattr(exc, 'description', None) or exc.to_dict())
    if isinstance(exc, errors.InvalidArchivePolicy):  # and its attribute/type kin
        return _error(400, {'cause': 'Invalid input', 'reason': '%s: %s' % (
            exc.field, exc.reason), 'detail': [exc.field]})
    if isinstance(exc, errors.ArchiveError):
        return _error(400, exc.to_dict())
    if isinstance(exc, errors.MetricLocked):
        return _error(503, str(exc))
    return None


class ErrorHook(pecan.hooks.PecanHook):
    def on_error(self, state, exc):
        if state.request.path.startswith('/v2'):  # Aodh's API, Aodh's error bodies
            return aodh.fault_response(exc, error_response)
        if isinstance(exc, webob.exc.HTTPException):  # rest.abort's, or Pecan's (404, 405)
            return rest.gnocchi_error(exc)
        response = error_response(exc)
        if response is None:
            LOG.exception('Unexpected error on %s %s', state.request.method,
                          state.request.path)
            response = _error(500, 'Unexpected error.')
        return response


class BodyTypeHook(pecan.hooks.PecanHook):
    """415 for a request that declares a body of another type than JSON, before Pecan's
    routing reads it as a form (``_method``), which raised on a malformed multipart one.
    A request without a Content-Type is read as JSON."""

    def on_route(self, state):
        content_type = state.request.content_type
        if state.request.path_info.startswith(RAW_BODY_PATHS) and content_type not in FORM_TYPES:
            return
        if (state.request.method in _BODY_METHODS and content_type
                and content_type not in BODY_TYPES):
            rest.abort(415, 'Content-Type %s is not supported: send application/json'
                       % content_type)


class _Environ:
    """Puts the store, the policy enforcer, the status counters and what the subscriptions
    share into every request."""

    def __init__(self, app, values):
        self.app = app
        self.values = values

    def __call__(self, environ, start_response):
        environ.update(self.values)
        # PATCH v1/archive_policy//<name>: the gnocchi CLI's double slash (Gnocchi too).
        environ['PATH_INFO'] = _SLASHES.sub('/', environ.get('PATH_INFO', ''))
        return self.app(environ, start_response)


def make_app(conf, store=None, counters=None, anonymous=None, alarms=None):
    """The API for ``conf``; ``store`` (default: from ``[archive]``) and ``alarms`` (the
    AlarmStore of /v2; default: from ``[alarms]``) are shared by all requests;
    ``counters()`` adds to ``/v1/status`` (the all-in-one's processor); ``anonymous``: who a
    request without credentials is under noauth (the all-in-one's admin; default: none,
    401). ValueError for a malformed ``[pubsub] allowed_targets``."""
    store = store if store is not None else store_mod.ArchiveStore.from_conf(conf)
    alarms = alarms if alarms is not None else alarm_storage.AlarmStore.from_conf(conf)
    app = framework.make_pecan_app(
        root.RootController(), hooks=[BodyTypeHook(), ErrorHook()], debug=False,
        force_canonical=False, guess_content_type_from_ext=False)
    app = middleware.wrap(auth.make_auth_middleware(app, conf, anonymous=anonymous), conf)
    app = console.mount(app, conf, anonymous)  # /console/: the browser console
    return _Environ(app, {'telewatch.store': store,
                          'telewatch.enforcer': policy.make_enforcer(conf),
                          'telewatch.counters': counters, 'telewatch.conf': conf,
                          subscription_api.ENVIRON_KEY: subscription_api.Subscriptions(
                              conf, store.index),
                          aodh.ENVIRON_KEY: alarms,
                          alarm_checks.ACTIONS_KEY: alarm_actions.Actions(conf)})
