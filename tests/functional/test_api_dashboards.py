"""``/v1/dashboards`` of a running telewatch-api behind the real Keystone, over the store a
telewatch-cloudwatch on the same data directory writes: a dashboard alice puts with boto3
(her EC2 credential) is read back by her token, and bob's token neither lists nor reads it."""

import contextlib
import json
import subprocess

import boto3
import pytest
import requests

from tests.functional import api_helpers
from tests.functional import cloudwatch_clients

BODY = {'widgets': [
    {'type': 'metric', 'x': 0, 'y': 0, 'width': 12, 'height': 6, 'properties': {
        'metrics': [['App', 'Latency', 'Host', 'web-1'], ['.', '.', '.', 'web-2']],
        'period': 60, 'stat': 'Average', 'region': 'RegionOne', 'title': 'Latency'}},
    {'type': 'text', 'x': 12, 'y': 0, 'width': 6, 'height': 3,
     'properties': {'markdown': '# Runbook'}}]}


@contextlib.contextmanager
def api_and_cloudwatch(keystone, data):
    """(API URL, CloudWatch URL) of a telewatch-api and a telewatch-cloudwatch on one data
    directory, both on the real Keystone."""
    api_port, cw_port = api_helpers.free_port(), api_helpers.free_port()
    config = data / 'telewatch.conf'
    config.write_text(
        '[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = keystone\nport = %d\n'
        '[keystone_authtoken]\n%s[cloudwatch]\nhost = 127.0.0.1\nport = %d\n%s' % (
            data, api_port, ''.join('%s = %s\n' % item
                                    for item in keystone.authtoken_options().items()),
            cw_port, cloudwatch_clients.keystone_config(keystone)))
    subprocess.run([str(api_helpers.BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                   check=True, capture_output=True, timeout=120)
    log_path = data / 'servers.log'
    with open(log_path, 'w') as log:
        servers = [subprocess.Popen([str(api_helpers.BIN / name), '--config-file', str(config)],
                                    stdout=log, stderr=log)
                   for name in ('telewatch-api', 'telewatch-cloudwatch')]
        try:
            urls = ['http://127.0.0.1:%d' % port for port in (api_port, cw_port)]
            for url, server in zip(urls, servers):
                api_helpers._wait_until_up(url, server, log_path)
            yield urls
        finally:
            for server in servers:
                server.terminate()
                server.wait(30)


@pytest.fixture(scope='module')
def servers(keystone, tmp_path_factory):
    keystone.ensure_system_reader(cloudwatch_clients.READER)
    with cloudwatch_clients.ec2_keys(keystone) as keys:
        with api_and_cloudwatch(keystone, tmp_path_factory.mktemp('dashboards')) as urls:
            yield urls, keys


def put_dashboard(url, key, name, body):
    client = boto3.client('cloudwatch', endpoint_url=url, region_name=cloudwatch_clients.REGION,
                          aws_access_key_id=key.access, aws_secret_access_key=key.secret)
    client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))


def get(api, path, token, status=200):
    response = requests.get(api + path, headers={'X-Auth-Token': token.id}, timeout=30)
    assert response.status_code == status, response.text
    return response.json()


def test_a_dashboard_is_its_projects_only(servers, keystone):
    (api, cloudwatch), (alice_key, bob_key) = servers
    put_dashboard(cloudwatch, alice_key, 'alice-ops', BODY)
    put_dashboard(cloudwatch, bob_key, 'bob-ops', {'widgets': []})
    alice, bob = keystone.token(keystone.alice), keystone.token(keystone.bob)
    assert [entry['name'] for entry in get(api, '/v1/dashboards', alice)] == ['alice-ops']
    shown = get(api, '/v1/dashboards/alice-ops', alice)
    assert (shown['body'], shown['project_id']) == (BODY, alice.project_id)
    assert [entry['name'] for entry in get(api, '/v1/dashboards', bob)] == ['bob-ops']
    get(api, '/v1/dashboards/alice-ops', bob, status=404)
    assert requests.get(api + '/v1/dashboards', timeout=30).status_code == 401
