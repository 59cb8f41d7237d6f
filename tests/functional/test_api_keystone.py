"""The API's authentication against a real Keystone: make_auth_middleware with
auth_strategy = keystone (keystonemiddleware.auth_token configured from telewatch.conf) in
front of an app that answers with the request's context.

Expired tokens are real: Keystone caps a token's life at its application credential's, so
the test issues one through a credential that expires a few seconds later.
"""

import dataclasses
import json
import logging

from oslo_config import cfg
import pytest
import requests
import webtest

from telewatch.api import auth
from telewatch import service


def context_app(environ, start_response):
    context = auth.context_of(environ)
    body = json.dumps(None if context is None else dict(
        dataclasses.asdict(context), creator=context.creator)).encode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [body]


def write_config(keystone, directory):
    """A telewatch.conf with the keystone strategy against ``keystone``; its path."""
    config = directory / 'telewatch.conf'
    config.write_text('[api]\nauth_strategy = keystone\n\n[keystone_authtoken]\n' + ''.join(
        '%s = %s\n' % option for option in keystone.authtoken_options().items()))
    return str(config)


@pytest.fixture(scope='module')
def client(keystone, tmp_path_factory):
    conf = service.prepare_service(
        ['--config-file', write_config(keystone, tmp_path_factory.mktemp('api-keystone'))])
    return webtest.TestApp(auth.make_auth_middleware(context_app, conf))


def get(client, token=None, status=200, headers=None):
    headers = dict(headers or {})
    if token is not None:
        headers['X-Auth-Token'] = token
    return client.get('/v1/metric', headers=headers, status=status)


def assert_refused_by_auth_token(response, keystone):
    assert response.status_int == 401
    assert response.headers['WWW-Authenticate'] == 'Keystone uri="%s"' % keystone.auth_url
    assert response.json['error']['code'] == 401


def test_a_valid_token_gives_its_user_project_and_roles(client, keystone):
    token = keystone.token(keystone.alice)
    context = get(client, token.id).json
    assert context['user_id'] == token.user_id
    assert context['project_id'] == token.project_id
    assert context['creator'] == '%s:%s' % (token.user_id, token.project_id)
    # X-Roles carries the implied roles too: member implies reader.
    assert {'member', 'reader'} <= set(context['roles'])
    assert context['is_admin'] is False
    assert context['auth_method'] == 'token'


def test_alice_and_bob_are_in_their_own_projects(client, keystone):
    alice = get(client, keystone.token(keystone.alice).id).json
    bob = get(client, keystone.token(keystone.bob).id).json
    projects = {project['name']: project['id'] for project in _projects(keystone)}
    assert alice['project_id'] == projects['project-a']
    assert bob['project_id'] == projects['project-b']


def test_the_admin_token_is_admin(client, keystone):
    context = get(client, keystone.token(keystone.admin).id).json
    assert context['is_admin'] is True


def test_the_service_user_passes_with_the_service_role(client, keystone):
    context = get(client, keystone.token(keystone.service).id).json
    assert 'service' in context['roles']


def test_identity_headers_sent_by_the_client_are_replaced(client, keystone):
    alice = keystone.token(keystone.alice)
    bob = keystone.token(keystone.bob)
    context = get(client, alice.id, headers={
        'X-User-Id': bob.user_id, 'X-Project-Id': bob.project_id, 'X-Roles': 'admin'}).json
    assert (context['user_id'], context['project_id']) == (alice.user_id, alice.project_id)
    assert context['is_admin'] is False


def test_a_missing_token_is_401(client, keystone):
    assert_refused_by_auth_token(get(client, status=401), keystone)
    # Not even with the noauth headers.
    response = get(client, status=401, headers={'X-User-Id': 'u', 'X-Project-Id': 'p'})
    assert_refused_by_auth_token(response, keystone)


def test_a_forged_token_is_401(client, keystone):
    assert_refused_by_auth_token(get(client, 'gAAAAABforged-token-value', status=401), keystone)
    genuine = keystone.token(keystone.alice).id
    tampered = genuine[:40] + ('A' if genuine[40] != 'A' else 'B') + genuine[41:]
    assert_refused_by_auth_token(get(client, tampered, status=401), keystone)


def test_a_revoked_token_is_401(client, keystone):
    token = keystone.token(keystone.bob)
    keystone.revoke(token.id)
    assert_refused_by_auth_token(get(client, token.id, status=401), keystone)


def test_an_expired_token_is_401_even_after_it_was_cached(client, keystone):
    token = keystone.expiring_token(keystone.alice, seconds=3)
    assert get(client, token.id).json['user_id'] == token.user_id
    keystone.wait_until_expired(token)
    assert_refused_by_auth_token(get(client, token.id, status=401), keystone)


def test_a_token_without_a_project_is_401_with_gnocchis_body(client, keystone):
    token = keystone.system_token(keystone.admin)
    response = get(client, token.id, status=401)
    assert response.json == {'code': 401, 'title': 'Unauthorized',
                             'description': 'A project-scoped token is required.'}
    assert response.headers['WWW-Authenticate'] == 'Keystone uri="%s"' % keystone.auth_url


def test_the_version_document_needs_no_token(client):
    assert client.get('/').json is None


def _projects(keystone):
    response = requests.get(keystone.auth_url + '/projects', timeout=30,
                            headers={'X-Auth-Token': keystone.token(keystone.admin).id})
    response.raise_for_status()
    return response.json()['projects']


def test_tokens_and_the_service_password_stay_out_of_the_logs(keystone, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    # Everything auth_token says (oslo.log's set-up in another test sets it to WARN).
    caplog.set_level(logging.DEBUG, logger='keystonemiddleware')
    # Not prepare_service: oslo.log's set-up would take the root logger from caplog.
    conf = cfg.ConfigOpts()
    conf(['--config-file', write_config(keystone, tmp_path)])
    client = webtest.TestApp(auth.make_auth_middleware(context_app, conf))
    conf.log_opt_values(logging.getLogger(__name__), logging.DEBUG)
    valid = keystone.token(keystone.alice)
    revoked = keystone.token(keystone.bob)
    keystone.revoke(revoked.id)
    get(client, valid.id)
    get(client, revoked.id, status=401)
    get(client, 'gAAAAABforged-s3cret', status=401)
    assert 'keystone_authtoken.password' in caplog.text
    assert 'Authorization failed for token' in caplog.text  # auth_token's logs are captured
    for secret in (valid.id, revoked.id, 's3cret', keystone.service.password):
        assert secret not in caplog.text
