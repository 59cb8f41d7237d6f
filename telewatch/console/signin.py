"""The console's sign-in: a user's name, password and project exchanged for a Keystone
token (keystoneauth1) at the Keystone of ``[keystone_authtoken] www_authenticate_uri``."""

import json
import logging

import webob
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic

LOG = logging.getLogger(__name__)
# Seconds Keystone has to answer a sign-in.
TIMEOUT = 30
FIELDS = ('user', 'password', 'project')


def _error(status, description):
    return webob.Response(status=status, cache_control='no-store', json_body={
        'code': status, 'title': webob.Response(status=status).status.split(' ', 1)[1],
        'description': description})


def _credentials(request):
    """The sign-in's fields from its JSON body, or a 400 response."""
    try:
        body = json.loads(request.body or b'null')
    except ValueError:
        return None, _error(400, 'The body is not JSON.')
    if not isinstance(body, dict):
        return None, _error(400, 'Send {"user", "password", "project"} (and "domain").')
    missing = [name for name in FIELDS if not isinstance(body.get(name), str)
               or not body[name]]
    if missing:
        return None, _error(400, 'Missing or empty: %s.' % ', '.join(missing))
    domain = body.get('domain') or 'Default'
    return dict(body, domain=domain if isinstance(domain, str) else 'Default'), None


def respond(request, conf):
    """``POST /console/signin``: ``{user, password, project, domain}`` (domain: Default) ->
    ``{token, expires_at, user_id, project_id, project, roles}``; 401 when Keystone refuses,
    503 when it cannot be reached, 404 when the API does not use Keystone."""
    if request.method != 'POST':
        response = _error(405, 'Sign in with POST.')
        response.allow = ('POST',)
        return response
    if conf.api.auth_strategy != 'keystone':
        return _error(404, 'The API does not use Keystone (auth_strategy = %s): no sign-in.'
                      % conf.api.auth_strategy)
    credentials, refused = _credentials(request)
    if refused is not None:
        return refused
    url = conf.keystone_authtoken.www_authenticate_uri
    if not url:
        return _error(503, 'Set [keystone_authtoken] www_authenticate_uri to sign in.')
    auth = generic.Password(
        auth_url=url, username=credentials['user'], password=credentials['password'],
        project_name=credentials['project'], user_domain_name=credentials['domain'],
        project_domain_name=credentials['domain'])
    try:
        access = auth.get_access(ks_session.Session(timeout=TIMEOUT))
    except ks_exceptions.Unauthorized:
        return _error(401, 'Keystone refused this user, password or project.')
    except (ks_exceptions.ConnectFailure, ks_exceptions.ConnectTimeout,
            ks_exceptions.DiscoveryFailure) as exc:
        LOG.warning('Sign-in: Keystone at %s did not answer: %s', url, exc)
        return _error(503, 'Keystone (%s) did not answer; try again later.' % url)
    except ks_exceptions.ClientException as exc:
        LOG.warning('Sign-in: Keystone at %s: %s', url, exc)
        return _error(502, 'Keystone answered: %s' % exc)
    return webob.Response(cache_control='no-store', json_body={
        'token': access.auth_token, 'expires_at': access.expires.isoformat(),
        'user_id': access.user_id, 'user': access.username,
        'project_id': access.project_id, 'project': access.project_name,
        'roles': sorted(access.role_names)})
