"""The Aodh v2 API of a running ``telewatch-api`` behind the real Keystone
(``auth_strategy = keystone``), with the aodh CLI logging in as alice (project-a) and bob
(project-b): neither sees, finds nor changes the other's alarms or their history; admin
sees both with all_projects; a trust+http action gets a Keystone trust from alice's own
token (``[service_credentials]`` is the trustee), hidden from what the API shows, and
deleted with the alarm."""

import json
import subprocess

import pytest
import requests

from tests.functional import api_helpers

BIN = api_helpers.BIN


@pytest.fixture(scope='module')
def api(keystone, tmp_path_factory):
    authtoken = keystone.authtoken_options()
    service = {k: v for k, v in authtoken.items() if k != 'www_authenticate_uri'}
    config = ('[api]\nauth_strategy = keystone\n[keystone_authtoken]\n'
              + ''.join('%s = %s\n' % item for item in authtoken.items())
              + '[service_credentials]\n'
              + ''.join('%s = %s\n' % item for item in service.items()))
    with api_helpers.running_api(tmp_path_factory.mktemp('api-aodh-keystone'),
                                 config) as url:
        yield url


def aodh(keystone, api, user, *args, expect_ok=True):
    """The aodh CLI as ``user`` (a keystone_helpers.User), password login against Keystone,
    talking to this API."""
    result = subprocess.run([
        str(BIN / 'aodh'), '--os-auth-type', 'password', '--os-auth-url', keystone.auth_url,
        '--os-username', user.name, '--os-password', user.password, '--os-project-name',
        user.project, '--os-user-domain-name', 'Default', '--os-project-domain-name',
        'Default', '--aodh-endpoint', api, *args], capture_output=True, text=True,
        timeout=120)
    if not expect_ok:
        assert result.returncode != 0, result.stdout
        return result.stderr
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_alice_and_bob_do_not_see_each_others_alarms(keystone, api):
    alice, bob = keystone.alice, keystone.bob
    mine = aodh(keystone, api, alice, 'alarm', 'create', '--name', 'alice_alarm', '-t',
                'event', '--event-type', 'compute.instance.*', '-f', 'json')
    theirs = aodh(keystone, api, bob, 'alarm', 'create', '--name', 'bob_alarm', '-t',
                  'event', '-f', 'json')
    alice_token, bob_token = keystone.token(alice), keystone.token(bob)
    assert (mine['project_id'], mine['user_id']) == (alice_token.project_id,
                                                     alice_token.user_id)
    assert [a['name'] for a in aodh(keystone, api, alice, 'alarm', 'list', '-f', 'json')] == [
        'alice_alarm']
    assert [a['name'] for a in aodh(keystone, api, bob, 'alarm', 'list', '-f', 'json')] == [
        'bob_alarm']
    assert aodh(keystone, api, bob, 'alarm', 'list', '--query', 'name=alice_alarm',
                '-f', 'json') == []
    assert 'not found' in aodh(keystone, api, bob, 'alarm', 'show', mine['alarm_id'],
                               expect_ok=False)
    assert 'not found' in aodh(keystone, api, bob, 'alarm', 'delete', mine['alarm_id'],
                               expect_ok=False)
    assert aodh(keystone, api, bob, 'alarm-history', 'search', '--query',
                'alarm_id=%s' % mine['alarm_id'], '-f', 'json') == []
    response = requests.get('%s/v2/alarms/%s/history' % (api, mine['alarm_id']),
                            headers={'X-Auth-Token': bob_token.id}, timeout=30)
    assert response.status_code == 404
    assert response.json()['error_message']['faultstring'] == (
        'Alarm %s not found in project %s' % (mine['alarm_id'], bob_token.project_id))
    everyone = aodh(keystone, api, keystone.admin, 'alarm', 'list', '--filter',
                    'all_projects=true', '-f', 'json')
    assert {mine['alarm_id'], theirs['alarm_id']} <= {a['alarm_id'] for a in everyone}
    for user, alarm in ((alice, mine), (bob, theirs)):
        aodh(keystone, api, user, 'alarm', 'delete', alarm['alarm_id'])


def _trusts(keystone, token):
    response = requests.get(keystone.auth_url + '/OS-TRUST/trusts', timeout=30,
                            params={'trustor_user_id': token.user_id},
                            headers={'X-Auth-Token': token.id})
    response.raise_for_status()
    return {trust['id'] for trust in response.json()['trusts']}


def test_a_trust_action_gets_a_trust_of_alices_own(keystone, api):
    token = keystone.token(keystone.alice)
    before = _trusts(keystone, token)
    url = 'trust+http://127.0.0.1:9/v1/signal/scale-up'
    response = requests.post(api + '/v2/alarms', headers={'X-Auth-Token': token.id},
                             timeout=60, json={'name': 'heat_trust', 'type': 'event',
                                               'alarm_actions': [url]})
    assert response.status_code == 201, response.text
    alarm = response.json()
    assert alarm['alarm_actions'] == [url]  # its trust id never shown
    created = _trusts(keystone, token) - before
    assert len(created) == 1
    # The aodh CLI's update sends back what it read: the same trust is kept.
    aodh(keystone, api, keystone.alice, 'alarm', 'update', alarm['alarm_id'], '--severity',
         'critical', '-f', 'json')
    assert _trusts(keystone, token) - before == created
    aodh(keystone, api, keystone.alice, 'alarm', 'delete', alarm['alarm_id'])
    assert _trusts(keystone, token) - before == set()
