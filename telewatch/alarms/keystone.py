"""Keystone trusts for the alarms' trust+http(s) actions: created from the caller to the alarm
service user (``[service_credentials]``), deleted when unused, and turned into tokens to send.

As Aodh does: the API creates the trust with the caller's own token when an alarm gets a
``trust+`` action; the notifier authenticates as the service user scoped to that trust
(impersonating the trustor, with the trustor's roles in its project) and sends the token as
X-Auth-Token, which is what Heat's signal URLs accept.
"""

import collections
import threading

from keystoneauth1 import exceptions as ka_exc
from keystoneauth1.identity import v3 as ka_v3
from keystoneauth1 import loading as ka_loading
from oslo_config import cfg

from telewatch import keystoneauth_options

GROUP = 'service_credentials'
OPTS = [
    cfg.StrOpt('region_name',
               help='Region of the identity endpoint in the catalog.'),
    cfg.StrOpt('interface', default='public', choices=('public', 'internal', 'admin'),
               help='Interface of the identity endpoint in the catalog.'),
]
# Trust-scoped sessions kept (each holds a token until it nears its expiry).
MAX_TRUST_SESSIONS = 1000
# The scope of the service user's own credentials, dropped when scoping to a trust
# (Keystone refuses a token request scoped to a project and a trust at once).
_SCOPE = ('project_id', 'project_name', 'project_domain_id', 'project_domain_name',
          'domain_id', 'domain_name', 'system_scope')


class TrustError(Exception):
    """Keystone refused or could not be reached; ``retryable`` when asking again later may
    pass (connection errors, timeouts, 5xx)."""

    def __init__(self, message, retryable=False):
        super().__init__(message)
        self.retryable = retryable


def register_opts(conf):
    """The [service_credentials] options, with keystoneauth's session and auth options."""
    keystoneauth_options.register(conf, GROUP, OPTS)


def list_opts():
    return keystoneauth_options.list_opts(GROUP, OPTS)


def list_auth_opts():
    """The password plugin's options, for the sample configuration only."""
    return keystoneauth_options.list_auth_opts(GROUP)


def _error(what, exc):
    retryable = isinstance(exc, (ka_exc.ConnectFailure, ka_exc.ConnectTimeout,
                                 ka_exc.DiscoveryFailure)) or (
        isinstance(exc, ka_exc.HttpError) and (exc.http_status or 0) >= 500)
    return TrustError('%s: %s: %s' % (what, type(exc).__name__, exc), retryable)


class Trusts:
    """Trusts to the alarm service user, and the tokens they give. Thread-safe."""

    def __init__(self, conf):
        register_opts(conf)
        self._conf = conf
        self._lock = threading.Lock()
        self._service = None
        self._trustee = None
        self._trusted = collections.OrderedDict()

    def _identity(self):
        group = self._conf[GROUP]
        return {'service_type': 'identity', 'interface': group.interface,
                'region_name': group.region_name, 'version': (3, 0)}

    def _session(self, auth):
        return ka_loading.load_session_from_conf_options(self._conf, GROUP, auth=auth)

    def service_session(self):
        """The session of the alarm service user (its own credentials)."""
        with self._lock:
            if self._service is None:
                auth = ka_loading.load_auth_from_conf_options(self._conf, GROUP)
                if auth is None:
                    raise TrustError('[%s] names no auth_type: trust+ actions need the '
                                     'alarm service user\'s credentials' % GROUP)
                self._service = self._session(auth)
            return self._service

    def trustee_id(self):
        """The id of the alarm service user, who receives the trusts."""
        if self._trustee is None:
            try:
                self._trustee = self.service_session().get_user_id()
            except ka_exc.ClientException as exc:
                raise _error('cannot authenticate the alarm service user', exc) from exc
        return self._trustee

    def _auth_url(self):
        return self.service_session().auth.auth_url

    def caller_session(self, token, project_id):
        """A session acting as the caller, from the token it sent."""
        return self._session(ka_v3.Token(auth_url=self._auth_url(), token=token,
                                         project_id=project_id))

    def create(self, token, user_id, project_id, roles):
        """A new trust from the caller (its ``token``, ``user_id``, ``project_id``) to the
        alarm service user, delegating ``roles`` with impersonation; its id."""
        body = {'trust': {'trustor_user_id': user_id, 'trustee_user_id': self.trustee_id(),
                          'project_id': project_id, 'impersonation': True,
                          'roles': [{'name': role} for role in roles]}}
        try:
            response = self.caller_session(token, project_id).post(
                '/OS-TRUST/trusts', json=body, endpoint_filter=self._identity())
        except ka_exc.ClientException as exc:
            raise _error('Keystone did not create the trust', exc) from exc
        return response.json()['trust']['id']

    def delete(self, trust_id, token=None, project_id=None):
        """Delete a trust, as the caller when its ``token`` is given (the trustor may),
        else as the alarm service user (Keystone lets an admin). A trust already gone is
        no error."""
        self.forget(trust_id)
        session = (self.caller_session(token, project_id) if token
                   else self.service_session())
        try:
            session.delete('/OS-TRUST/trusts/%s' % trust_id,
                           endpoint_filter=self._identity())
        except ka_exc.NotFound:
            pass
        except ka_exc.ClientException as exc:
            raise _error('Keystone did not delete the trust', exc) from exc

    def forget(self, trust_id):
        """Drop the token of a trust (the next ``auth_headers`` asks Keystone again)."""
        with self._lock:
            self._trusted.pop(trust_id, None)

    def auth_headers(self, trust_id):
        """The headers (X-Auth-Token) of a token of the service user scoped to the trust."""
        session = self._trust_session(trust_id)
        try:
            return session.get_auth_headers()
        except ka_exc.ClientException as exc:
            raise _error('no token for trust %s' % trust_id, exc) from exc

    def _trust_session(self, trust_id):
        with self._lock:
            session = self._trusted.get(trust_id)
            if session is not None:
                self._trusted.move_to_end(trust_id)
                return session
        overrides = dict.fromkeys(_SCOPE)
        auth = ka_loading.load_auth_from_conf_options(self._conf, GROUP, trust_id=trust_id,
                                                      **overrides)
        session = self._session(auth)
        with self._lock:
            self._trusted[trust_id] = session
            while len(self._trusted) > MAX_TRUST_SESSIONS:
                self._trusted.popitem(last=False)
        return session
