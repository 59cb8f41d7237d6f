"""The authentication middleware with auth_strategy = noauth, and RequestContext."""

import base64
import dataclasses
import json
import logging

from oslo_config import cfg
import pytest
import webtest

from telewatch.api import auth


def echo_app(environ, start_response):
    """Answers with the request's context as JSON (null on an exempt path)."""
    context = auth.context_of(environ)
    fields = {} if context is None else dataclasses.asdict(context)
    fields.pop('auth_token', None)  # a secret, never echoed
    body = json.dumps(None if context is None else dict(
        fields, creator=context.creator,
        created_by_user_id=context.created_by_user_id,
        created_by_project_id=context.created_by_project_id)).encode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [body]


@pytest.fixture
def noauth_conf():
    conf = cfg.ConfigOpts()
    conf([])
    conf.register_opts(auth.OPTS, group='api')
    conf.set_override('auth_strategy', 'noauth', group='api')
    return conf


@pytest.fixture
def client(noauth_conf):
    return webtest.TestApp(auth.make_auth_middleware(echo_app, noauth_conf))


def basic(credentials, scheme='basic'):
    return {'Authorization': '%s %s' % (scheme, base64.b64encode(credentials).decode())}


def assert_401(response, description_part):
    assert response.status_int == 401
    assert response.content_type == 'application/json'
    assert response.json['code'] == 401
    assert response.json['title'] == 'Unauthorized'
    assert description_part in response.json['description']


def test_auth_strategy_defaults_to_keystone():
    conf = cfg.ConfigOpts()
    conf([])
    conf.register_opts(auth.OPTS, group='api')
    assert conf.api.auth_strategy == 'keystone'
    with pytest.raises(ValueError):
        conf.set_override('auth_strategy', 'basic', group='api')


def test_noauth_headers_give_user_project_and_roles(client):
    context = client.get('/v1/metric', headers={
        'X-User-Id': 'u1', 'X-Project-Id': 'p1', 'X-Roles': 'Member, reader,member'}).json
    assert context == {'user_id': 'u1', 'project_id': 'p1', 'roles': ['member', 'reader'],
                       'auth_method': 'headers', 'is_admin': False, 'creator': 'u1:p1',
                       'created_by_user_id': 'u1', 'created_by_project_id': 'p1'}


def test_noauth_header_names_are_case_insensitive_and_admin_role_is_admin(client):
    context = client.get('/v1/status', headers={
        'x-user-id': 'u1', 'x-project-id': 'p1', 'x-roles': 'ADMIN'}).json
    assert context['roles'] == ['admin']
    assert context['is_admin'] is True


def test_noauth_roles_default_to_none_as_in_gnocchi(client):
    context = client.get('/v1/metric', headers={'X-User-Id': 'u1', 'X-Project-Id': 'p1'}).json
    assert context['roles'] == []
    assert context['is_admin'] is False


def test_noauth_user_alone_or_project_alone(client):
    context = client.get('/v1/metric', headers={'X-User-Id': 'u1'}).json
    assert (context['user_id'], context['project_id'], context['creator']) == ('u1', None, 'u1:')
    context = client.get('/v1/metric', headers={'X-Project-Id': 'p1'}).json
    assert (context['user_id'], context['project_id'], context['creator']) == (None, 'p1', ':p1')
    assert context['created_by_project_id'] == 'p1'


def test_noauth_headers_win_over_authorization(client):
    headers = dict(basic(b'admin:'), **{'X-User-Id': 'u1', 'X-Project-Id': 'p1'})
    context = client.get('/v1/metric', headers=headers).json
    assert (context['user_id'], context['is_admin']) == ('u1', False)


def test_basic_admin_is_admin(client):
    context = client.get('/v1/metric', headers={'Authorization': 'basic YWRtaW46'}).json
    assert context == {'user_id': 'admin', 'project_id': None, 'roles': ['admin'],
                       'auth_method': 'basic', 'is_admin': True, 'creator': 'admin',
                       'created_by_user_id': 'admin', 'created_by_project_id': ''}


@pytest.mark.parametrize('scheme', ['basic', 'Basic', 'BASIC'])
def test_basic_other_user_is_plain_and_password_ignored(client, scheme):
    context = client.get('/v1/metric', headers=basic(b'carol:secret', scheme)).json
    assert (context['user_id'], context['project_id'], context['roles']) == ('carol', None, [])
    assert context['creator'] == 'carol'
    assert 'secret' not in json.dumps(context)


def test_basic_user_name_may_be_utf8(client):
    context = client.get('/v1/metric', headers=basic('zoë:'.encode())).json
    assert context['user_id'] == 'zoë'


@pytest.mark.parametrize('value, description', [
    ('basic !!!not-base64!!!', 'not base64'),
    ('basic ' + base64.b64encode(b'\xff\xfe:').decode(), 'not base64 of UTF-8'),
    ('basic ' + base64.b64encode(b'no-colon').decode(), 'expected "user:password"'),
    ('basic ' + base64.b64encode(b':password').decode(), 'with a user name'),
    ('basic', 'expected "user:password"'),
    ('Bearer abc.def', 'only basic is accepted'),
])
def test_bad_authorization_is_401_without_echoing_it(client, value, description):
    response = client.get('/v1/metric', headers={'Authorization': value}, status=401)
    assert_401(response, description)
    assert response.headers['WWW-Authenticate'] == 'Basic realm="telewatch"'
    secret = value.partition(' ')[2]
    assert not secret or secret not in response.text


def test_no_credentials_is_401_json(client):
    assert_401(client.get('/v1/metric', status=401), 'X-User-Id')
    assert_401(client.post('/v1/metric', status=401), 'Authentication required')
    assert_401(client.get('/v1/metric', headers={'X-Roles': 'admin'}, status=401),
               'Authentication required')
    assert_401(client.get('/v1/metric', headers={'X-User-Id': ' '}, status=401),
               'Authentication required')


def test_an_anonymous_context_is_who_a_request_without_credentials_is(noauth_conf):
    anonymous = auth.RequestContext('admin', 'admin', ('admin',), auth.HEADERS)
    client = webtest.TestApp(auth.make_auth_middleware(echo_app, noauth_conf,
                                                       anonymous=anonymous))
    for method in (client.get, client.post, client.delete):
        context = method('/v1/metric').json
        assert (context['user_id'], context['project_id'], context['roles'],
                context['is_admin']) == ('admin', 'admin', ['admin'], True)
    # Credentials that are sent still decide, and bad ones are still refused.
    assert client.get('/v1/metric', headers={'X-User-Id': 'u1', 'X-Project-Id': 'p1'}
                      ).json['creator'] == 'u1:p1'
    assert client.get('/v1/metric', headers=basic(b'bob:')).json['is_admin'] is False
    assert_401(client.get('/v1/metric', headers={'Authorization': 'Bearer x'}, status=401),
               'only basic is accepted')


def test_exempt_paths_need_no_credentials_and_carry_no_context(client):
    assert client.get('/').json is None
    assert client.get('/', headers={'X-User-Id': 'u1'}).json is None
    assert client.head('/').status_int == 200
    # Only GET and HEAD are exempt.
    assert_401(client.post('/', status=401), 'Authentication required')


def test_exempt_paths_are_a_parameter(noauth_conf):
    client = webtest.TestApp(auth.make_auth_middleware(
        echo_app, noauth_conf, exempt_paths=('/healthcheck', '/v1/')))
    assert client.get('/healthcheck').json is None
    assert client.get('/healthcheck/').json is None
    assert client.get('/v1').json is None
    assert_401(client.get('/', status=401), 'Authentication required')
    assert_401(client.get('/v1/metric', status=401), 'Authentication required')


def test_context_of_a_request_without_middleware_is_none():
    assert auth.context_of({}) is None


def test_context_is_frozen_and_normalizes_roles():
    context = auth.RequestContext('u', 'p', ['Admin', ' member ', '', 'admin'])
    assert context.roles == ('admin', 'member')
    assert context.is_admin is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.project_id = 'other'


def test_is_admin_cannot_be_passed():
    with pytest.raises(TypeError):
        auth.RequestContext('u', 'p', (), is_admin=True)


def test_creator_strings():
    assert auth.RequestContext('u', 'p').creator == 'u:p'
    assert auth.RequestContext('u', 'p', auth_method=auth.HEADERS).creator == 'u:p'
    basic_user = auth.RequestContext('carol', None, auth_method=auth.BASIC)
    assert basic_user.creator == 'carol'
    assert (basic_user.created_by_user_id, basic_user.created_by_project_id) == ('carol', '')


def test_policy_creds_leave_out_absent_ids():
    assert auth.RequestContext('u', 'p', ('member',)).to_policy_creds() == {
        'user_id': 'u', 'project_id': 'p', 'roles': ['member'], 'user': 'u:p',
        'is_admin': False}
    assert auth.RequestContext('carol', None, auth_method=auth.BASIC).to_policy_creds() == {
        'user_id': 'carol', 'roles': [], 'user': 'carol', 'is_admin': False}


def test_keystone_context_needs_a_confirmed_project_scoped_identity():
    environ = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_ID': 'u',
               'HTTP_X_PROJECT_ID': 'p', 'HTTP_X_ROLES': 'member,reader'}
    context = auth.keystone_context(environ)
    assert (context.user_id, context.project_id, context.roles, context.creator) == (
        'u', 'p', ('member', 'reader'), 'u:p')
    with pytest.raises(auth.Unauthorized, match='requires authentication'):
        auth.keystone_context(dict(environ, HTTP_X_IDENTITY_STATUS='Invalid'))
    with pytest.raises(auth.Unauthorized, match='project-scoped'):
        auth.keystone_context({k: v for k, v in environ.items() if k != 'HTTP_X_PROJECT_ID'})
    # auth_token sets what a (system- or domain-scoped) token lacks to None.
    with pytest.raises(auth.Unauthorized, match='project-scoped'):
        auth.keystone_context(dict(environ, HTTP_X_PROJECT_ID=None))


def test_a_keystone_context_carries_the_token_and_never_shows_it():
    environ = {'HTTP_X_IDENTITY_STATUS': 'Confirmed', 'HTTP_X_USER_ID': 'u',
               'HTTP_X_PROJECT_ID': 'p', 'HTTP_X_AUTH_TOKEN': 'secret-token'}
    context = auth.keystone_context(environ)
    assert context.auth_token == 'secret-token'  # for the trusts of alarm actions
    assert 'secret-token' not in repr(context)
    assert 'secret-token' not in repr(context.to_policy_creds())
    assert context == auth.RequestContext('u', 'p')  # not part of who the caller is
    assert auth.noauth_context(dict(environ, HTTP_X_PROJECT_ID='p')).auth_token is None


def test_keystone_strategy_wraps_auth_token_configured_from_the_same_file(tmp_path):
    config = tmp_path / 'telewatch.conf'
    config.write_text('[api]\nauth_strategy = keystone\n'
                      '[keystone_authtoken]\nwww_authenticate_uri = http://keystone.test/v3\n')
    conf = cfg.ConfigOpts()
    conf(['--config-file', str(config)])
    client = webtest.TestApp(auth.make_auth_middleware(echo_app, conf))
    assert client.get('/').json is None
    # No token: auth_token refuses it before any call to Keystone, whatever the identity
    # headers the client sent.
    response = client.get('/v1/metric', headers={'X-User-Id': 'u', 'X-Project-Id': 'p',
                                                 'X-Identity-Status': 'Confirmed'},
                          status=401)
    assert response.headers['WWW-Authenticate'] == 'Keystone uri="http://keystone.test/v3"'
    assert response.json['error']['code'] == 401


def test_credentials_stay_out_of_the_logs(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.get('/v1/metric', headers=basic(b'carol:s3cret-password'))
    client.get('/v1/metric', headers=basic(b'no-colon-s3cret'), status=401)
    client.get('/v1/metric', headers={'Authorization': 'Bearer s3cret-token'}, status=401)
    assert 's3cret' not in caplog.text
    assert base64.b64encode(b'carol:s3cret-password').decode() not in caplog.text
