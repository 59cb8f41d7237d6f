"""The browser console on telewatch-api: the files tools/build-console writes to
``telewatch/console/static`` served under ``/console/``, its settings and its sign-in."""

import hashlib
import logging
import mimetypes
import os
import pathlib
import threading

import webob

from telewatch.console import signin

LOG = logging.getLogger(__name__)

PREFIX = '/console'
STATIC_DIR = pathlib.Path(__file__).parent / 'static'
INDEX = 'index.html'
# Every other built file has its content's hash in its name: it never changes.
IMMUTABLE = 'public, max-age=31536000, immutable'
NOT_BUILT = ('The console is not built: run tools/build-console (tools/install runs it), '
             'then reload this page.')


def mount(app, conf, anonymous=None, static_dir=STATIC_DIR):
    """``app`` with the console answering ``/console`` and below (no authentication: its
    files hold no data, and every figure it shows is read through the authenticated API)."""
    return Console(app, conf, anonymous is not None, static_dir)


class Console:
    def __init__(self, app, conf, anonymous, static_dir=STATIC_DIR):
        self.app = app
        self.conf = conf
        self.anonymous = anonymous
        self.files = StaticFiles(static_dir)

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        if path != PREFIX and not path.startswith(PREFIX + '/'):
            return self.app(environ, start_response)
        response = self.respond(webob.Request(environ), path[len(PREFIX) + 1:])
        return response(environ, start_response)

    def respond(self, request, name):
        if not request.path_info.startswith(PREFIX + '/'):
            # Relative: right behind a proxy that mounts the API under a path of its own.
            return webob.Response(status=301, location='console/', cache_control='no-cache')
        if name == 'signin':
            return signin.respond(request, self.conf)
        if request.method not in ('GET', 'HEAD'):
            return _text(405, 'Method not allowed', allow='GET, HEAD')
        if name == 'config.json':
            return self.settings()
        return self.files.respond(request, name or INDEX)

    def settings(self):
        """What the sign-in page needs: how the API authenticates, and whether a request
        without credentials is let in (the all-in-one's admin)."""
        strategy = self.conf.api.auth_strategy
        body = {'auth_strategy': strategy,
                'anonymous': strategy == 'noauth' and self.anonymous}
        return webob.Response(json_body=body, cache_control='no-cache')


def _text(status, text, **headers):
    """An error with the API's body (Gnocchi's ``{code, title, description}``)."""
    response = webob.Response(status=status, json_body={
        'code': status, 'title': webob.Response(status=status).status.split(' ', 1)[1],
        'description': text})
    response.headers.update(headers)
    return response


def _takes_gzip(request):
    # webob's Accept-Encoding without the header accepts anything: a client that says
    # nothing gets the plain file.
    return ('Accept-Encoding' in request.headers
            and bool(request.accept_encoding.acceptable_offers(['gzip'])))


class StaticFiles:
    """The built files, read once each (until their file changes), gzip'ed ones chosen when
    the client takes them; nothing outside the directory's own files is ever served."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)
        self._cache = {}
        self._lock = threading.Lock()

    def respond(self, request, name):
        try:
            names = set(os.listdir(self.directory))
        except FileNotFoundError:
            names = set()
        if INDEX not in names:
            LOG.warning('GET %s%s: %s', PREFIX, request.path_info, NOT_BUILT)
            return _text(503, NOT_BUILT, cache_control='no-cache')
        if name not in names or name.endswith('.gz'):
            return _text(404, 'No such file: %s/%s' % (PREFIX, name))
        gzipped = name + '.gz' in names and _takes_gzip(request)
        data, etag = self._read(name + '.gz' if gzipped else name)
        content_type, _ = mimetypes.guess_type(name)
        response = webob.Response(
            body=data, content_type=content_type or 'application/octet-stream',
            cache_control='no-cache' if name == INDEX else IMMUTABLE,
            conditional_response=True)
        if content_type and content_type.startswith('text/'):
            response.charset = 'utf-8'
        response.etag = etag
        response.vary = ('Accept-Encoding',)
        if gzipped:
            response.content_encoding = 'gzip'
        return response

    def _read(self, name):
        path = self.directory / name
        mtime = path.stat().st_mtime_ns
        with self._lock:
            cached = self._cache.get(name)
        if cached is None or cached[0] != mtime:
            data = path.read_bytes()
            cached = (mtime, data, hashlib.sha256(data).hexdigest()[:20])
            with self._lock:
                self._cache[name] = cached
        return cached[1], cached[2]
