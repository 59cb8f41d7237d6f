"""The WSGI middleware around the API's Pecan application, as Gnocchi's: oslo.middleware's
proxy headers (``Forwarded``), CORS, ``/healthcheck`` and limit on the size of a request's
body; Gnocchi's JSON body on every error answer; and the memory of a large request handed
back to the system once it is answered."""

import ctypes
import ctypes.util
import urllib.parse

import webob.exc
from oslo_config import cfg
from oslo_middleware import cors
from oslo_middleware import healthcheck
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import sizelimit

from telewatch import text as text_mod
from telewatch.api import framework

# oslo.middleware's 112 KiB would refuse ordinary batches of measures (Ceilometer's
# publisher, the gnocchi CLI's batch); a body of this size takes ~250 MB to decode.
DEFAULT_MAX_REQUEST_BODY_SIZE = 32 * 2 ** 20
# Once a request or response of at least this size is answered, the C allocator hands its
# free memory back to the system (it keeps it otherwise: a worker stayed at 800 MB).
TRIM_THRESHOLD = 2 ** 20
# What holds a request's body and decoded value (framework.Request), and the cycle
# between Pecan's request and the environ, which kept both until the next full garbage
# collection.
_REQUEST_KEYS = (framework.BODY_KEY, 'pecan.locals', 'webob.adhoc_attrs',
                 'pecan.original_exception')

# The headers a browser may send across origins: Keystone's token and the noauth headers
# (Gnocchi's and Aodh's), as Gnocchi allows them.
CORS_ALLOW_HEADERS = ['X-Auth-Token', 'X-Subject-Token', 'X-User-Id', 'X-Domain-Id',
                      'X-Project-Id', 'X-Roles', 'Content-Type']
CORS_EXPOSE_HEADERS = ['X-Subject-Token', 'Location', 'Link']

cfg.set_defaults(sizelimit.OPTS, max_request_body_size=DEFAULT_MAX_REQUEST_BODY_SIZE)
cors.set_defaults(allow_headers=CORS_ALLOW_HEADERS, expose_headers=CORS_EXPOSE_HEADERS,
                  allow_methods=['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD'])


def list_opts():
    return [('oslo_middleware', sizelimit.OPTS + http_proxy_to_wsgi.OPTS),
            ('cors', cors.CORS_OPTS), ('healthcheck', healthcheck.opts.HEALTHCHECK_OPTS)]


def wrap(app, conf):
    """``app`` (authenticated) behind what needs no credentials: the ``Forwarded`` and
    ``X-Forwarded-*`` headers of a trusted proxy read into the request's URL
    (``[oslo_middleware] enable_proxy_headers_parsing``), CORS (``[cors]``), and
    ``/healthcheck`` (``[healthcheck]``: 200 while the process serves); then the body size
    limit (``[oslo_middleware] max_request_body_size``); its errors in Gnocchi's JSON body,
    its large requests' memory released."""
    limited = sizelimit.RequestBodySizeLimiter(UrlText(app), conf)
    limit = conf.oslo_middleware.max_request_body_size
    served = ReleaseMemory(JsonErrors(limited, {
        413: 'Request is too large. Larger than %d.' % limit}))
    checked = HealthcheckPath(served, healthcheck.Healthcheck(None, conf))
    return http_proxy_to_wsgi.HTTPProxyToWSGI(cors.CORS(checked, conf), conf)


class HealthcheckPath:
    """``/healthcheck`` to oslo.middleware's healthcheck application (mounted there as
    Gnocchi's api-paste.ini mounts it), anything else to ``app``."""

    PATH = '/healthcheck'

    def __init__(self, app, check):
        self.app = app
        self.check = check

    def __call__(self, environ, start_response):
        if environ.get('PATH_INFO', '').rstrip('/') == self.PATH:
            return self.check(environ, start_response)
        return self.app(environ, start_response)


def error_body(status, description):
    """Gnocchi's error body: ``{"code", "title", "description"}``, as bytes."""
    title = webob.exc.status_map[status].title if status in webob.exc.status_map else ''
    return framework.error_json({'code': status, 'title': title,
                                 'description': description}).encode('utf-8')


class UrlText:
    """A 400 for a request whose path or query is no UTF-8 text or holds a text no backend
    can store (``telewatch.text``), naming the query parameter, before anything hands it
    to the index (a body is checked as it is decoded: ``framework.decode_json``)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        problem = url_problem(environ)
        if problem is None:
            return self.app(environ, start_response)
        reason, detail = problem
        data = error_body(400, {'cause': 'Invalid input', 'reason': reason,
                                'detail': detail})
        start_response('400 Bad Request', [('Content-Type', 'application/json'),
                                           ('Content-Length', str(len(data)))])
        return [data]


def url_problem(environ):
    """``(reason, detail)`` of what is wrong with the text of a request's URL, or None."""
    try:
        path = environ.get('PATH_INFO', '').encode('latin-1').decode('utf-8')
        query = urllib.parse.parse_qsl(environ.get('QUERY_STRING', ''),
                                       keep_blank_values=True, errors='strict')
    except UnicodeError:  # Pecan answered a 400 that says nothing, and logged a traceback
        return 'The URL is not UTF-8 text', []
    reason = text_mod.unstorable_reason(path)
    if reason is not None:
        return 'The path: %s' % reason, []
    for name, value in query:
        reason = text_mod.unstorable_reason(name) or text_mod.unstorable_reason(value)
        if reason is not None:
            return reason, [name]
    return None


class JsonErrors:
    """Gnocchi's JSON error body for an error answer that has another: oslo.middleware's
    413 for a declared Content-Length over the limit, any page a library writes. The
    application must call ``start_response`` before it returns (webob's responses do)."""

    def __init__(self, app, descriptions=None):
        self.app = app
        self.descriptions = descriptions or {}

    def __call__(self, environ, start_response):
        refused = []

        def start(status, headers, exc_info=None):
            code = int(status.split(None, 1)[0])
            content_type = next((v for k, v in headers if k.lower() == 'content-type'), '')
            if code < 400 or content_type.startswith('application/json'):
                return start_response(status, headers, exc_info)
            refused.append((status, code, headers))
            return lambda data: None

        body = self.app(environ, start)
        if not refused:
            return body
        if hasattr(body, 'close'):
            body.close()
        status, code, headers = refused[0]
        data = error_body(code, self.descriptions.get(code) or _explanation(code))
        headers = [(k, v) for k, v in headers
                   if k.lower() not in ('content-type', 'content-length')]
        start_response(status, headers + [('Content-Type', 'application/json'),
                                          ('Content-Length', str(len(data)))])
        return [data]


def _explanation(code):
    error = webob.exc.status_map.get(code)
    return error.explanation if error is not None else ''


class ReleaseMemory:
    """Once a request is answered, drops what holds its body from the environ (the server
    keeps the environ a little longer, and Pecan's request refers to it in a cycle), and
    after a large one has the C allocator hand its free memory back to the system."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        sizes = [_request_size(environ)]

        def start(status, headers, exc_info=None):
            sizes.extend(_size(v) for k, v in headers if k.lower() == 'content-length')
            return start_response(status, headers, exc_info)

        body = self.app(environ, start)
        return _Released(body, environ, sizes)


def _request_size(environ):
    """The size of a request's body; a chunked one (its size unsaid) counts as large."""
    if 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower():
        return TRIM_THRESHOLD
    return _size(environ.get('CONTENT_LENGTH'))


def _size(content_length):
    try:
        return int(content_length)
    except (TypeError, ValueError):
        return 0


class _Released:
    """A response body whose ``close`` releases its request (see ReleaseMemory)."""

    def __init__(self, body, environ, sizes):
        self._body = body
        self._environ = environ
        self._sizes = sizes

    def __iter__(self):
        return iter(self._body)

    def close(self):
        try:
            if hasattr(self._body, 'close'):
                self._body.close()
        finally:
            for key in _REQUEST_KEYS:
                self._environ.pop(key, None)
            self._environ['wsgi.input'] = _EMPTY_INPUT
            self._body = None
            if max(self._sizes) >= TRIM_THRESHOLD:
                trim_memory()


class _EmptyInput:
    def read(self, size=-1):
        return b''

    def readline(self, size=-1):
        return b''

    def __iter__(self):
        return iter(())


_EMPTY_INPUT = _EmptyInput()


def _malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6').malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def trim_memory():
    """Has the C allocator hand the free memory at the top of its heaps and in their free
    pages back to the system."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
