"""Who sees and changes what through a running ``telewatch-api`` behind a real Keystone
(``auth_strategy = keystone``, gunicorn, embedded store, a processor running), with real
tokens: alice (project-a) owns what she creates (subscriptions too), bob (project-b)
neither sees nor changes it, and neither subscribes to the other's samples; admin sees
everything; missing, forged and expired tokens are 401 from the API itself.

The statuses are Gnocchi's: an object the policy refuses is 403 ("Access was denied to this
resource."); a resource named by another creator's original id is 404 (the id maps to
another UUID); listings and searches are filtered to the caller's project.

The test Keystone's catalog sends the ``metric`` service to $TELEWATCH_API_URL (default
http://127.0.0.1:8041, the all-in-one's port, which other tests may hold): this API listens
on a free port instead, and the gnocchi CLI is given it with ``--endpoint`` (it still
authenticates with ``--os-auth-type password`` against Keystone); the catalog entry itself
is checked through keystoneauth, as the CLI reads it.
"""

import json
import os
import subprocess

import pytest
import requests

from tests.functional import api_helpers

ACCESS_DENIED = 'Access was denied to this resource.'
MEASURES = [{'timestamp': '2024-01-01T00:00:00', 'value': 1.0},
            {'timestamp': '2024-01-01T00:01:00', 'value': 3.0},
            {'timestamp': '2024-01-01T00:05:00', 'value': 10.0}]
# The archive policy 'low' (5 minutes): the mean of each 5-minute bucket.
AGGREGATED = [['2024-01-01T00:00:00+00:00', 300.0, 2.0],
              ['2024-01-01T00:05:00+00:00', 300.0, 10.0]]


@pytest.fixture(scope='module')
def api(keystone, tmp_path_factory):
    """The root URL of a telewatch-api (keystone strategy: the later [api] section of the
    configuration file wins over running_api's noauth) and its processor."""
    authtoken = ''.join('%s = %s\n' % option for option in keystone.authtoken_options().items())
    with api_helpers.running_api(tmp_path_factory.mktemp('api-keystone-access'),
                                 '[api]\nauth_strategy = keystone\n[keystone_authtoken]\n'
                                 + authtoken) as url:
        yield url


@pytest.fixture(scope='module')
def tokens(keystone):
    return {name: keystone.token(getattr(keystone, name))
            for name in ('alice', 'bob', 'admin')}


class Caller:
    """Requests to the API with one user's token."""

    def __init__(self, url, token):
        self.url = url
        self.token = token

    def __call__(self, method, path, expect=None, **kwargs):
        headers = {'X-Auth-Token': self.token.id} if self.token else {}
        response = requests.request(method, self.url + path, headers=headers, timeout=60,
                                    **kwargs)
        if expect is not None:
            assert response.status_code == expect, (method, path, response.text)
        return response


@pytest.fixture(scope='module')
def alice(api, tokens):
    return Caller(api, tokens['alice'])


@pytest.fixture(scope='module')
def bob(api, tokens):
    return Caller(api, tokens['bob'])


@pytest.fixture(scope='module')
def admin(api, tokens):
    return Caller(api, tokens['admin'])


@pytest.fixture(scope='module')
def owned(alice, admin, tokens):
    """What alice created (a resource of her project with a metric, a metric of no
    resource, measures on both) and a resource the admin created for project-a (as
    Ceilometer's publisher creates an instance's resource for the instance's project)."""
    project_a = tokens['alice'].project_id
    resource = alice('POST', '/v1/resource/generic', expect=201, json={
        'id': 'alice-server', 'project_id': project_a, 'user_id': tokens['alice'].user_id,
        'metrics': {'cpu': {'archive_policy_name': 'low'}}}).json()
    metric = alice('POST', '/v1/metric', expect=201,
                   json={'name': 'alice-load', 'archive_policy_name': 'low'}).json()
    cpu = resource['metrics']['cpu']
    alice('POST', '/v1/metric/%s/measures' % metric['id'], expect=202, json=MEASURES)
    alice('POST', '/v1/resource/generic/alice-server/metric/cpu/measures', expect=202,
          json=MEASURES)
    for_a = admin('POST', '/v1/resource/generic', expect=201, json={
        'id': 'instance-of-a', 'project_id': project_a,
        'metrics': {'disk': {'archive_policy_name': 'low'}}}).json()
    return {'resource': resource['id'], 'cpu': cpu, 'metric': metric['id'],
            'for_a': for_a['id'], 'disk': for_a['metrics']['disk']}


def ids(response):
    return {item['id'] for item in response.json()}


# -- authentication ------------------------------------------------------------------------

def assert_401_from_auth_token(response, keystone):
    assert response.status_code == 401, response.text
    assert response.headers['WWW-Authenticate'] == 'Keystone uri="%s"' % keystone.auth_url
    assert response.json()['error']['code'] == 401


def test_the_version_document_needs_no_token(api):
    response = requests.get(api + '/', timeout=30)
    assert response.status_code == 200
    assert response.json()['versions'][0]['id'] == 'v1.0'


@pytest.mark.parametrize('path', ['/v1', '/v1/metric', '/v1/resource/generic',
                                  '/v1/archive_policy', '/v1/capabilities'])
def test_a_missing_token_is_401(api, keystone, path):
    assert_401_from_auth_token(requests.get(api + path, timeout=30), keystone)


def test_the_noauth_headers_are_not_credentials(api, keystone):
    response = requests.get(api + '/v1/metric', timeout=30, headers={
        'X-User-Id': 'alice', 'X-Project-Id': 'project-a', 'X-Roles': 'admin',
        'Authorization': 'basic YWRtaW46'})
    assert_401_from_auth_token(response, keystone)


def test_forged_and_tampered_tokens_are_401(api, keystone, tokens):
    genuine = tokens['alice'].id
    tampered = genuine[:40] + ('A' if genuine[40] != 'A' else 'B') + genuine[41:]
    for token in ('gAAAAABforged-token-value', tampered):
        response = requests.post(api + '/v1/metric', timeout=30, json={'name': 'x'},
                                 headers={'X-Auth-Token': token})
        assert_401_from_auth_token(response, keystone)


def test_an_expired_token_is_401_even_after_it_was_cached(api, keystone):
    token = keystone.expiring_token(keystone.alice, seconds=3)
    Caller(api, token)('GET', '/v1/metric', expect=200)
    keystone.wait_until_expired(token)
    assert_401_from_auth_token(Caller(api, token)('GET', '/v1/metric'), keystone)


def test_a_revoked_token_is_401(api, keystone):
    token = keystone.token(keystone.bob)
    keystone.revoke(token.id)
    assert_401_from_auth_token(Caller(api, token)('GET', '/v1/metric'), keystone)


# -- alice's own ---------------------------------------------------------------------------

def test_alice_reads_what_she_created(alice, owned, tokens):
    resource = alice('GET', '/v1/resource/generic/%s' % owned['resource'], expect=200).json()
    assert resource['original_resource_id'] == 'alice-server'
    assert resource['created_by_project_id'] == tokens['alice'].project_id
    token = tokens['alice']
    assert resource['creator'] == '%s:%s' % (token.user_id, token.project_id)
    for metric in (owned['metric'], owned['cpu']):
        rows = alice('GET', '/v1/metric/%s/measures?refresh=true' % metric, expect=200)
        assert rows.json() == AGGREGATED
    rows = alice('GET', '/v1/resource/generic/alice-server/metric/cpu/measures', expect=200)
    assert rows.json() == AGGREGATED


def test_a_project_reads_but_cannot_change_what_was_created_for_it(alice, owned):
    assert alice('GET', '/v1/resource/generic/%s' % owned['for_a'], expect=200)
    alice('GET', '/v1/metric/%s/measures' % owned['disk'], expect=200)
    assert owned['for_a'] in ids(alice('GET', '/v1/resource/generic', expect=200))
    assert owned['disk'] in ids(alice('GET', '/v1/metric', expect=200))
    for method, path, body in [
            ('POST', '/v1/metric/%s/measures' % owned['disk'], MEASURES),
            ('PATCH', '/v1/resource/generic/%s' % owned['for_a'], {'user_id': 'me'}),
            ('DELETE', '/v1/metric/%s' % owned['disk'], None),
            ('DELETE', '/v1/resource/generic/%s' % owned['for_a'], None)]:
        response = alice(method, path, expect=403, json=body)
        assert response.json()['description'] == ACCESS_DENIED


def test_a_batch_delete_reaches_only_what_the_project_created(alice, owned):
    mine = alice('POST', '/v1/resource/generic', expect=201, json={
        'id': 'alice-scratch', 'metrics': {'x': {'archive_policy_name': 'low'}}}).json()
    # Also matched: the resource the admin created for project-a, which alice only reads.
    response = alice('DELETE', '/v1/resource/generic', expect=200,
                     json={'in': {'id': [mine['id'], owned['for_a']]}})
    assert response.json() == {'deleted': 1}
    alice('GET', '/v1/resource/generic/%s' % mine['id'], expect=404)
    alice('GET', '/v1/metric/%s' % mine['metrics']['x'], expect=404)
    alice('GET', '/v1/resource/generic/%s' % owned['for_a'], expect=200)


# -- bob, from another project -------------------------------------------------------------

def test_bob_cannot_see_alices_resource_metrics_or_measures(bob, owned):
    resource = '/v1/resource/generic/%s' % owned['resource']
    for path in (resource, resource + '/history', resource + '/metric',
                 resource + '/metric/cpu', resource + '/metric/cpu/measures',
                 '/v1/metric/%s' % owned['metric'], '/v1/metric/%s/measures' % owned['metric'],
                 '/v1/metric/%s/measures' % owned['cpu'],
                 '/v1/resource/generic/%s' % owned['for_a'],
                 '/v1/metric/%s/measures' % owned['disk']):
        response = bob('GET', path, expect=403)
        assert response.json()['description'] == ACCESS_DENIED
    # Her original id is another resource for bob (the UUID depends on the creator).
    bob('GET', '/v1/resource/generic/alice-server', expect=404)
    # Identity headers beside a valid token are replaced by the token's.
    response = requests.get(bob.url + resource, timeout=60, headers={
        'X-Auth-Token': bob.token.id, 'X-Roles': 'admin', 'X-Project-Id': 'project-a',
        'X-User-Id': 'alice'})
    assert response.status_code == 403, response.text


def test_bob_lists_and_searches_only_his_project(bob, owned):
    mine = bob('POST', '/v1/resource/generic', expect=201, json={'id': 'bob-server'}).json()
    theirs = {owned['resource'], owned['for_a']}
    for params in ({}, {'details': 'true'}, {'history': 'true'}):
        listed = ids(bob('GET', '/v1/resource/generic', params=params, expect=200))
        assert mine['id'] in listed and not listed & theirs
    found = ids(bob('POST', '/v1/search/resource/generic', expect=200,
                    json={'in': {'id': sorted(theirs)}}))
    assert found == set()
    found = ids(bob('POST', '/v1/search/resource/generic', expect=200,
                    params={'filter': 'original_resource_id="alice-server"'}))
    assert found == set()
    metrics = ids(bob('GET', '/v1/metric', expect=200))
    assert not metrics & {owned['metric'], owned['cpu'], owned['disk']}
    assert ids(bob('GET', '/v1/metric', params={'name': 'alice-load'}, expect=200)) == set()


def test_bob_cannot_aggregate_alices_metrics(bob, owned):
    response = bob('POST', '/v1/aggregates', expect=403, json={
        'operations': ['metric', owned['metric'], 'mean']})
    assert response.json()['description'] == ACCESS_DENIED
    bob('GET', '/v1/aggregation/metric', params={'metric': owned['cpu']}, expect=403)
    # Over a search, alice's resources are not among those searched.
    response = bob('POST', '/v1/aggregates', json={
        'operations': '(metric cpu mean)', 'search': {'=': {'id': owned['resource']}}})
    assert response.status_code == 404, response.text


def test_bob_cannot_post_measures_to_alices_metrics(bob, alice, owned):
    for path in ('/v1/metric/%s/measures' % owned['metric'],
                 '/v1/resource/generic/%s/metric/cpu/measures' % owned['resource']):
        bob('POST', path, expect=403, json=[{'timestamp': '2024-01-01T00:02:00', 'value': 99}])
    bob('POST', '/v1/batch/metrics/measures', expect=403, json={
        owned['metric']: [{'timestamp': '2024-01-01T00:02:00', 'value': 99}]})
    for name in ('cpu', 'new-metric'):
        bob('POST', '/v1/batch/resources/metrics/measures', params={'create_metrics': 'true'},
            expect=403, json={owned['resource']: {name: {
                'archive_policy_name': 'low',
                'measures': [{'timestamp': '2024-01-01T00:02:00', 'value': 99}]}}})
    bob('POST', '/v1/resource/generic/%s/metric' % owned['resource'], expect=403,
        json={'new-metric': {'archive_policy_name': 'low'}})
    for metric in (owned['metric'], owned['cpu']):
        rows = alice('GET', '/v1/metric/%s/measures?refresh=true' % metric, expect=200)
        assert rows.json() == AGGREGATED
    resource = alice('GET', '/v1/resource/generic/%s' % owned['resource'], expect=200).json()
    assert set(resource['metrics']) == {'cpu'}


def test_bob_cannot_take_alices_metrics_onto_his_resources(bob, owned):
    for name in ('metric', 'cpu'):
        response = bob('POST', '/v1/resource/generic', expect=400, json={
            'id': 'bob-thief-' + name, 'project_id': bob.token.project_id,
            'metrics': {'taken': owned[name]}})
        assert response.json()['description'] == 'Metric %s does not exist' % owned[name]
        bob('GET', '/v1/metric/%s/measures' % owned[name], expect=403)


def test_bob_cannot_change_or_delete_alices_things(bob, alice, owned):
    bob('PATCH', '/v1/resource/generic/%s' % owned['resource'], expect=403,
        json={'project_id': 'project-b'})
    for path in ('/v1/metric/%s' % owned['metric'],
                 '/v1/resource/generic/%s/metric/cpu' % owned['resource'],
                 '/v1/resource/generic/%s' % owned['resource']):
        bob('DELETE', path, expect=403)
    # A batch delete reaches only what bob's project created.
    response = bob('DELETE', '/v1/resource/generic', expect=200,
                   json={'in': {'id': [owned['resource'], owned['for_a']]}})
    assert response.json() == {'deleted': 0}
    alice('GET', '/v1/resource/generic/%s' % owned['resource'], expect=200)
    alice('GET', '/v1/metric/%s' % owned['metric'], expect=200)
    alice('GET', '/v1/metric/%s' % owned['cpu'], expect=200)


def test_only_admin_manages_policies_types_and_reads_the_status(bob, admin):
    for method, path, body in [
            ('POST', '/v1/archive_policy', {'name': 'bob-policy', 'definition': [
                {'granularity': '1m', 'points': 10}]}),
            ('DELETE', '/v1/archive_policy/low', None),
            ('POST', '/v1/archive_policy_rule', {'name': 'bob-rule', 'metric_pattern': '*',
                                                 'archive_policy_name': 'low'}),
            ('POST', '/v1/resource_type', {'name': 'bob_type'}),
            ('GET', '/v1/status', None)]:
        bob(method, path, expect=403, json=body)
    bob('GET', '/v1/archive_policy/low', expect=200)
    admin('GET', '/v1/status', expect=200)


# -- subscriptions -------------------------------------------------------------------------

def subscription(name, **fields):
    return dict({'name': name, 'meters': ['cpu'], 'target': 'udp://127.0.0.1:4952'}, **fields)


@pytest.fixture(scope='module')
def bobs_subscription(bob, tokens):
    created = bob('POST', '/v1/subscriptions', expect=201, json=subscription('bob-feed')).json()
    assert created['projects'] == [tokens['bob'].project_id]
    return created


def test_alice_cannot_see_change_or_delete_bobs_subscription(
        alice, bob, tokens, bobs_subscription):
    path = '/v1/subscriptions/%s' % bobs_subscription['id']
    for method, body in (('GET', None), ('PATCH', {'projects': None}),
                         ('PATCH', {'target': 'udp://127.0.0.1:9999'}), ('DELETE', None)):
        response = alice(method, path, expect=403, json=body)
        assert response.json()['description'] == ACCESS_DENIED
    assert bobs_subscription['id'] not in ids(alice('GET', '/v1/subscriptions', expect=200))
    alice('GET', '/v1/subscriptions', params={'project_id': tokens['bob'].project_id},
          expect=403)
    unchanged = bob('GET', path, expect=200).json()
    assert (unchanged['target'], unchanged['updated_at']) == (
        bobs_subscription['target'], bobs_subscription['updated_at'])


def test_alice_cannot_subscribe_to_project_bs_data(alice, bob, tokens):
    project_b = tokens['bob'].project_id
    resource = bob('POST', '/v1/resource/generic', expect=201,
                   json={'id': 'bob-instance', 'project_id': project_b}).json()
    for fields, field in (({'projects': [project_b]}, 'projects'),
                          ({'resources': ['bob-instance']}, 'resources[0]'),
                          ({'resources': [resource['id']]}, 'resources[0]')):
        response = alice('POST', '/v1/subscriptions', expect=403,
                         json=subscription('alice-spy', **fields))
        assert response.json()['description']['detail'] == [field]
    mine = alice('POST', '/v1/subscriptions', expect=201,
                 json=subscription('alice-feed', projects=None)).json()
    assert mine['projects'] == [tokens['alice'].project_id]
    alice('PATCH', '/v1/subscriptions/%s' % mine['id'], expect=403,
          json={'projects': [project_b]})
    alice('DELETE', '/v1/subscriptions/%s' % mine['id'], expect=204)


def test_admin_sees_every_projects_subscriptions(admin, bobs_subscription):
    assert bobs_subscription['id'] in ids(admin('GET', '/v1/subscriptions', expect=200))
    admin('GET', '/v1/subscriptions/%s' % bobs_subscription['id'], expect=200)


# -- admin ---------------------------------------------------------------------------------

def test_admin_sees_and_changes_everything(admin, owned):
    everything = {owned['resource'], owned['for_a']}
    assert everything <= ids(admin('GET', '/v1/resource/generic', expect=200))
    assert everything <= ids(admin('POST', '/v1/search/resource/generic', expect=200,
                                   json={'in': {'id': sorted(everything)}}))
    assert {owned['metric'], owned['cpu']} <= ids(admin('GET', '/v1/metric', expect=200))
    admin('GET', '/v1/resource/generic/%s' % owned['resource'], expect=200)
    rows = admin('GET', '/v1/metric/%s/measures?refresh=true' % owned['metric'], expect=200)
    assert rows.json() == AGGREGATED
    aggregated = admin('POST', '/v1/aggregates', expect=200, json={
        'operations': '(aggregate sum (metric (%s mean) (%s mean)))' % (
            owned['metric'], owned['cpu'])}).json()
    assert [row[2] for row in aggregated['measures']['aggregated']] == [4.0, 20.0]
    admin('POST', '/v1/metric/%s/measures' % owned['disk'], expect=202, json=MEASURES)
    admin('DELETE', '/v1/resource/generic/%s' % owned['for_a'], expect=204)
    admin('GET', '/v1/metric/%s' % owned['disk'], expect=404)


# -- the gnocchi CLI with Keystone ---------------------------------------------------------

def gnocchi(api, keystone, user, *args, expect_ok=True):
    """The gnocchi CLI as ``user`` (password auth from OS_* variables), JSON output parsed."""
    env = dict(os.environ, OS_AUTH_TYPE='password', OS_AUTH_URL=keystone.auth_url,
               OS_USERNAME=user.name, OS_PASSWORD=user.password, OS_PROJECT_NAME=user.project,
               OS_USER_DOMAIN_NAME='Default', OS_PROJECT_DOMAIN_NAME='Default')
    env.pop('GNOCCHI_ENDPOINT', None)
    result = subprocess.run([str(api_helpers.BIN / 'gnocchi'), '--endpoint', api, *args], env=env,
                            capture_output=True, text=True, timeout=120)
    if not expect_ok:
        assert result.returncode != 0, result.stdout
        return result.stderr
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_the_catalog_has_the_metric_service(keystone):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    user = keystone.alice
    auth = v3.Password(auth_url=keystone.auth_url, username=user.name,
                       password=user.password, project_name=user.project,
                       user_domain_name='Default', project_domain_name='Default')
    endpoint = session.Session(auth=auth).get_endpoint(service_type='metric',
                                                       interface='public')
    assert endpoint == os.environ.get('TELEWATCH_API_URL', 'http://127.0.0.1:8041')


def test_the_gnocchi_cli_with_keystone_passwords(api, keystone, owned):
    alice, bob = keystone.alice, keystone.bob
    created = gnocchi(api, keystone, alice, 'resource', 'create', 'cli-alice-vm',
                      '-n', 'load:low', '-f', 'json')
    assert created['original_resource_id'] == 'cli-alice-vm'
    gnocchi(api, keystone, alice, 'measures', 'add', '-r', 'cli-alice-vm', 'load',
            '-m', '2024-01-01T00:00:00@4', '-m', '2024-01-01T00:01:00@6')
    rows = gnocchi(api, keystone, alice, 'measures', 'show', '-r', 'cli-alice-vm', 'load',
                   '--refresh', '--utc', '-f', 'json')
    assert [(r['timestamp'][:19], r['value']) for r in rows] == [('2024-01-01T00:00:00', 5.0)]
    listed = {r['id'] for r in gnocchi(api, keystone, alice, 'resource', 'list', '-f', 'json')}
    assert {created['id'], owned['resource']} <= listed
    listed = {r['id'] for r in gnocchi(api, keystone, bob, 'resource', 'list', '-f', 'json')}
    assert not listed & {created['id'], owned['resource']}
    error = gnocchi(api, keystone, bob, 'resource', 'show', created['id'], expect_ok=False)
    assert '%s (HTTP 403)' % ACCESS_DENIED in error
    error = gnocchi(api, keystone, bob, 'measures', 'add', created['metrics']['load'],
                    '-m', '2024-01-01T00:02:00@99', expect_ok=False)
    assert '(HTTP 403)' in error
    error = gnocchi(api, keystone, bob, 'resource', 'delete', created['id'], expect_ok=False)
    assert '(HTTP 403)' in error
    gnocchi(api, keystone, alice, 'resource', 'delete', 'cli-alice-vm')
