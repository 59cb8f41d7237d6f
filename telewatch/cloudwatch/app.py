"""The telewatch-cloudwatch WSGI application: one request is read (gunzipped), authenticated
(SigV4), parsed by its protocol against the model, handed to its operation and answered.

``OPERATION_MODULES`` lists the modules whose ``OPERATIONS`` dicts are merged; a module not
(yet) present is skipped.
"""

import datetime
import importlib
import logging
import uuid
import zlib

from telewatch.cloudwatch import Context
from telewatch.cloudwatch import auth
from telewatch.cloudwatch import credentials as credentials_mod
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import model
from telewatch.cloudwatch import protocols
from telewatch.cloudwatch.protocols import query

LOG = logging.getLogger(__name__)

OPERATION_MODULES = ('telewatch.cloudwatch.metrics', 'telewatch.cloudwatch.alarms',
                     'telewatch.cloudwatch.dashboards', 'telewatch.cloudwatch.tags',
                     'telewatch.cloudwatch.widget')

_STATUS = {200: '200 OK', 400: '400 Bad Request', 403: '403 Forbidden', 404: '404 Not Found',
           405: '405 Method Not Allowed', 409: '409 Conflict', 413: '413 Payload Too Large',
           429: '429 Too Many Requests', 500: '500 Internal Server Error',
           503: '503 Service Unavailable'}


def load_operations(module_names=OPERATION_MODULES):
    """{name: function} merged from the modules' ``OPERATIONS`` (absent modules skipped)."""
    operations = {}
    for name in module_names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        operations.update(module.OPERATIONS)
    return operations


class Request(auth.SignedRequest):
    """A request as received: SigV4's view plus the decoded body and the query params."""

    @classmethod
    def from_environ(cls, environ, max_size, headers=None):
        body = _read_body(environ, max_size)
        headers = dict(_http_headers(environ) if headers is None else headers)
        for key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
            if environ.get(key):
                headers[key.replace('_', '-').lower()] = environ[key]
        path = (environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')) or '/'
        return cls(environ['REQUEST_METHOD'], path, environ.get('QUERY_STRING', ''),
                   headers, body)


def _http_headers(environ):
    return {key[5:].replace('_', '-').lower(): value
            for key, value in environ.items() if key.startswith('HTTP_')}


def _too_large(size, limit):
    return errors.CloudWatchError('RequestEntityTooLarge', 'Request size %d exceeded %d bytes.'
                                  % (size, limit), status=413)


def _read_body(environ, limit):
    """The body as sent, at most ``limit`` bytes (Content-Length, or chunked: read to the
    end, which the server marks)."""
    length = environ.get('CONTENT_LENGTH')
    if not length:
        if 'chunked' not in environ.get('HTTP_TRANSFER_ENCODING', '').lower():
            return b''
        body = environ['wsgi.input'].read(limit + 1)
        if len(body) > limit:
            raise _too_large(len(body), limit)
        return body
    try:
        length = int(length)
    except ValueError:
        raise errors.MalformedInput('Content-Length is not a number.') from None
    if length > limit:
        raise _too_large(length, limit)
    return environ['wsgi.input'].read(length)


def gunzip(body, limit):
    """``body`` un-gzipped, at most ``limit`` bytes (a zip bomb is refused, not expanded)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise errors.MalformedInput('The gzip request body is corrupt.') from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise errors.CloudWatchError(
            'RequestEntityTooLarge', 'Decompressed request exceeded %d bytes.' % limit,
            status=413)
    if not inflater.eof:
        raise errors.MalformedInput('The gzip request body is truncated.')
    return data


class CloudWatchApp:
    """The WSGI application; ``store`` and ``alarms`` are shared by every request."""

    def __init__(self, conf, store, alarms, credentials=None, operations=None):
        self.conf = conf
        self.store = store
        self.alarms = alarms
        self.credentials = credentials or credentials_mod.from_conf(conf)
        self.operations = load_operations() if operations is None else operations
        model.service_model()  # loaded before the first request (and before forking)

    def reset_connections(self):
        """After a fork: the stores' database connections are the parent's."""
        for store in (self.store, self.alarms):
            if store is not None:
                store.reset_connections()

    def __call__(self, environ, start_response):
        request_id = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.timezone.utc)
        path = environ.get('PATH_INFO', '') or '/'
        headers = _http_headers(environ)
        protocol = protocols.pick(path, headers)
        try:
            response = self._handle(environ, headers, protocol, request_id, now)
        except errors.CloudWatchError as exc:
            response = protocol.error(exc, request_id, headers)
        except Exception:  # an operation's bug: the client gets AWS's 500, the log the rest
            LOG.exception('request %s failed', request_id)
            response = protocol.error(errors.InternalServiceError(
                'Internal error (request %s).' % request_id), request_id, headers)
        start_response(_STATUS.get(response.status, '%d Error' % response.status),
                       response.headers + [('Content-Length', str(len(response.body)))])
        return [response.body]

    def _handle(self, environ, headers, protocol, request_id, now):
        options = self.conf.cloudwatch
        if environ['REQUEST_METHOD'] not in ('POST', 'GET'):
            raise errors.CloudWatchError('MethodNotAllowed', 'Use POST.', status=405)
        request = Request.from_environ(environ, options.max_request_size, headers)
        credential = auth.verify(request, self.credentials, now, options.max_clock_skew)
        if request.headers.get('content-encoding', '').strip().lower() == 'gzip':
            request.body = gunzip(request.body, options.max_decompressed_size)
        if protocol is query.PROTOCOL:
            request.params = query.form_params(request)
        name = protocol.operation_name(request)
        operation_model = model.operation(name)
        if operation_model is None:
            raise protocol.unknown_operation(name)
        params = protocol.read(request, operation_model)
        function = self.operations.get(name)
        if function is None:  # in the model, not implemented here (yet)
            raise protocol.unknown_operation(name)
        ctx = Context(project_id=credential.project_id, user_id=credential.user_id,
                      access_key=credential.access, request_id=request_id, now=now,
                      conf=self.conf, store=self.store, alarms=self.alarms,
                      region=options.region)
        result = function(ctx, params)
        if isinstance(result, protocols.Response):  # a body of its own (an image/png)
            return result
        return protocol.respond(operation_model, result, request_id)


def make_app(conf, store=None, alarms=None, credentials=None, operations=None):
    """The application for ``conf``; the stores default to ``[archive]``'s and
    ``[alarms]``'s."""
    from telewatch.alarms import storage as alarm_storage
    from telewatch.archive import store as store_mod
    store = store if store is not None else store_mod.ArchiveStore.from_conf(conf)
    alarms = alarms if alarms is not None else alarm_storage.AlarmStore.from_conf(conf)
    return CloudWatchApp(conf, store, alarms, credentials, operations)
