"""Who is calling the API: the authentication middleware (Keystone tokens, or Gnocchi's noauth
headers and gnocchi-basic) and the RequestContext it leaves in the WSGI environ."""

import base64
import binascii
import dataclasses
import functools
import json
import logging

from oslo_config import cfg

LOG = logging.getLogger(__name__)
GROUP = 'api'
OPTS = [
    cfg.StrOpt('auth_strategy', default='keystone',
               choices=(('keystone', 'a Keystone token in X-Auth-Token, validated by '
                                     'keystonemiddleware.auth_token (configured in '
                                     '[keystone_authtoken])'),
                        ('noauth', 'no authentication: the caller is who the X-User-Id, '
                                   'X-Project-Id and X-Roles headers or a gnocchi-basic '
                                   'Authorization header say (all-in-one, tests)')),
               help='How the API authenticates its callers.'),
]
ENVIRON_KEY = 'telewatch.context'
# The version document needs no authentication (clients discover the API with it).
DEFAULT_EXEMPT_PATHS = ('/',)
EXEMPT_METHODS = ('GET', 'HEAD')
# How a context was established, which decides its creator string.
TOKEN = 'token'
HEADERS = 'headers'
BASIC = 'basic'


@dataclasses.dataclass(frozen=True)
class RequestContext:
    """The caller of one request.

    ``auth_method`` is how it was established: ``token`` (a Keystone token), ``headers``
    (the noauth X-User-Id/X-Project-Id/X-Roles headers) or ``basic`` (gnocchi-basic: a user
    name, no project). ``roles`` are lower-cased and de-duplicated; ``is_admin`` is whether
    they hold ``admin``.
    """

    user_id: str | None
    project_id: str | None
    roles: tuple[str, ...] = ()
    auth_method: str = TOKEN
    is_admin: bool = dataclasses.field(init=False)
    # The caller's Keystone token (auth_method token only), for what is done on its behalf
    # later (an alarm action's trust); never shown, compared or given to the policy.
    auth_token: str | None = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        roles = tuple(dict.fromkeys(r.strip().lower() for r in self.roles if r.strip()))
        object.__setattr__(self, 'roles', roles)
        object.__setattr__(self, 'is_admin', 'admin' in roles)

    @property
    def creator(self):
        """Gnocchi's creator of what this caller creates: ``"<user_id>:<project_id>"`` (an
        absent part empty), or the bare user name with gnocchi-basic."""
        if self.auth_method == BASIC:
            return self.user_id
        return '%s:%s' % (self.user_id or '', self.project_id or '')

    @property
    def created_by_user_id(self):
        """The creator's user part, as Gnocchi splits it (on the first ':')."""
        return self.creator.partition(':')[0]

    @property
    def created_by_project_id(self):
        """The creator's project part, as Gnocchi splits it: '' for a gnocchi-basic user."""
        return self.creator.partition(':')[2]

    def to_policy_creds(self):
        """The credentials oslo.policy checks: user_id, project_id, roles, user (the creator,
        as Gnocchi's ``user:%(creator)s`` checks it) and is_admin.

        Absent ids are left out rather than set to None: oslo.policy compares strings, and
        ``project_id:%(project_id)s`` would otherwise match 'None' to 'None' and let a caller
        without a project reach every project-less resource.
        """
        creds = {'user_id': self.user_id, 'project_id': self.project_id,
                 'roles': list(self.roles), 'user': self.creator, 'is_admin': self.is_admin}
        return {key: value for key, value in creds.items() if value is not None}


class Unauthorized(Exception):
    """A request without acceptable credentials; ``description`` says what was missing and
    never repeats what the caller sent."""

    def __init__(self, description):
        super().__init__(description)
        self.description = description


def context_of(environ):
    """The RequestContext of a request, or None on an exempt path (see
    make_auth_middleware)."""
    return environ.get(ENVIRON_KEY)


def _header(environ, name):
    # auth_token leaves None in the environ for what a token lacks (a project, a domain).
    value = environ.get('HTTP_' + name.upper().replace('-', '_')) or ''
    return value.strip() or None


def _split_roles(value):
    return tuple(value.split(',')) if value else ()


def _basic_context(authorization):
    """gnocchi-basic: ``basic base64("<user>:<ignored password>")``; ``admin`` is admin."""
    scheme, _, credentials = authorization.strip().partition(' ')
    if scheme.lower() != 'basic':
        raise Unauthorized('Unsupported authorization scheme: only basic is accepted')
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode('utf-8')
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized('Invalid basic authorization: not base64 of UTF-8 "user:password"')
    user, colon, _password = decoded.partition(':')
    if not colon or not user:
        raise Unauthorized('Invalid basic authorization: expected "user:password" with a '
                           'user name')
    return RequestContext(user_id=user, project_id=None,
                          roles=('admin',) if user == 'admin' else (), auth_method=BASIC)


def noauth_context(environ, anonymous=None):
    """The caller of a request under ``auth_strategy = noauth``.

    The X-User-Id/X-Project-Id headers (gnocchi-noauth; at least one of them; X-Roles,
    comma-separated, defaults to no role as in Gnocchi) win over an Authorization header
    (gnocchi-basic). A request with neither is ``anonymous`` (a RequestContext) when given;
    otherwise, as for an unusable Authorization header, Unauthorized is raised.
    """
    user_id = _header(environ, 'X-User-Id')
    project_id = _header(environ, 'X-Project-Id')
    if user_id or project_id:
        return RequestContext(user_id=user_id, project_id=project_id,
                              roles=_split_roles(_header(environ, 'X-Roles')),
                              auth_method=HEADERS)
    authorization = _header(environ, 'Authorization')
    if authorization:
        return _basic_context(authorization)
    if anonymous is not None:
        return anonymous
    raise Unauthorized('Authentication required: send X-User-Id and X-Project-Id headers '
                       '(gnocchi-noauth) or an "Authorization: basic" header (gnocchi-basic)')


def keystone_context(environ):
    """The caller of a request that keystonemiddleware.auth_token let through: its
    X-Identity-Status, X-User-Id, X-Project-Id and X-Roles (implied roles included; the
    middleware removes any the client sent). Raises Unauthorized without a valid
    project-scoped token (auth_token lets such requests through with delay_auth_decision)."""
    if _header(environ, 'X-Identity-Status') != 'Confirmed':
        raise Unauthorized('The request you have made requires authentication.')
    user_id = _header(environ, 'X-User-Id')
    project_id = _header(environ, 'X-Project-Id')
    if not user_id or not project_id:
        raise Unauthorized('A project-scoped token is required.')
    return RequestContext(user_id=user_id, project_id=project_id,
                          roles=_split_roles(_header(environ, 'X-Roles')), auth_method=TOKEN,
                          auth_token=_header(environ, 'X-Auth-Token'))


def unauthorized(start_response, description, challenge=None):
    """A 401 with Gnocchi's JSON error body."""
    body = json.dumps({'code': 401, 'title': 'Unauthorized',
                       'description': description}).encode('utf-8')
    headers = [('Content-Type', 'application/json'), ('Content-Length', str(len(body)))]
    if challenge:
        headers.append(('WWW-Authenticate', challenge))
    start_response('401 Unauthorized', headers)
    return [body]


class ContextMiddleware:
    """Stores ``make_context(environ)`` in the environ for ``app``, or answers 401."""

    def __init__(self, app, make_context, challenge=None):
        self._app = app
        self._make_context = make_context
        #: the WWW-Authenticate header of its 401s, if any
        self.challenge = challenge

    def __call__(self, environ, start_response):
        try:
            environ[ENVIRON_KEY] = self._make_context(environ)
        except Unauthorized as exc:
            LOG.debug('401 for %s %s: %s', environ.get('REQUEST_METHOD'),
                      environ.get('PATH_INFO'), exc.description)
            return unauthorized(start_response, exc.description, self.challenge)
        return self._app(environ, start_response)


class ExemptPaths:
    """GET and HEAD of ``paths`` (a trailing slash aside) go to ``app`` as they are, with no
    context; everything else through ``protected``."""

    def __init__(self, app, protected, paths):
        self._app = app
        self._protected = protected
        self._paths = frozenset(_normalize(path) for path in paths)

    def __call__(self, environ, start_response):
        if (environ.get('REQUEST_METHOD') in EXEMPT_METHODS and
                _normalize(environ.get('PATH_INFO', '')) in self._paths):
            environ.pop(ENVIRON_KEY, None)
            return self._app(environ, start_response)
        return self._protected(environ, start_response)


def _normalize(path):
    return path.rstrip('/') or '/'


def _keystone_protected(app, conf):
    # Imported here: every telewatch process imports this module for its options, and only
    # the API with auth_strategy = keystone needs keystonemiddleware's import cost.
    from keystonemiddleware import auth_token
    # One ConfigOpts (one telewatch.conf) configures the middleware too: it registers and
    # reads [keystone_authtoken] on it.
    inner = ContextMiddleware(app, keystone_context)
    protected = auth_token.AuthProtocol(inner, {'oslo_config_config': conf})
    uri = conf.keystone_authtoken.www_authenticate_uri
    if uri:
        inner.challenge = 'Keystone uri="%s"' % uri
    return protected


def make_auth_middleware(app, conf, exempt_paths=DEFAULT_EXEMPT_PATHS, anonymous=None):
    """``app`` behind the authentication of ``conf.api.auth_strategy``.

    With ``noauth``, a request without credentials is ``anonymous`` (a RequestContext, the
    all-in-one's admin) if given, else answered 401.

    Every request but a GET or HEAD of ``exempt_paths`` reaches ``app`` with its
    RequestContext in ``environ['telewatch.context']`` (``context_of``); the others are
    answered 401 (by auth_token itself for a missing, invalid or expired Keystone token, with
    its ``{"error": ...}`` body and ``WWW-Authenticate: Keystone uri=...``; otherwise with
    Gnocchi's ``{"code", "title", "description"}`` body). Exempt requests carry no context.
    """
    conf.register_opts(OPTS, group=GROUP)
    strategy = conf[GROUP].auth_strategy
    if strategy == 'keystone':
        protected = _keystone_protected(app, conf)
    else:
        protected = ContextMiddleware(
            app, functools.partial(noauth_context, anonymous=anonymous),
            challenge='Basic realm="telewatch"')
    LOG.info('API authentication: %s%s; exempt paths: %s', strategy,
             ' (without credentials: %s)' % anonymous.creator
             if anonymous and strategy != 'keystone' else '',
             ', '.join(sorted(exempt_paths)) or 'none')
    return ExemptPaths(app, protected, exempt_paths)


def list_opts():
    return [(GROUP, OPTS)]
