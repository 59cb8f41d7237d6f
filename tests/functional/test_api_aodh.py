"""The real ``aodh`` CLI (python-aodhclient, unchanged; its quota commands through its
``openstack`` plugin) against a running ``telewatch-api`` (gunicorn, noauth, embedded store):
every command family with the values it prints checked; a Heat-shaped creation; and, behind
the real Keystone, alice and bob not seeing each other's alarms, and a trust+http action
getting a trust from alice's token."""

import json
import subprocess
import uuid

import pytest
import requests

from tests.functional import api_helpers

BIN = api_helpers.BIN
ADMIN = {'Authorization': 'basic YWRtaW46'}  # gnocchi-basic admin
SERVER = 'c7f1a5c2-1c3e-4c39-9d4e-3b8f8f2f6a10'
STACK = '0b8d6a1e-5c2f-4a8e-9d11-7f3c2b1a9e00'


@pytest.fixture(scope='module')
def endpoint(telewatch_api):
    """The API with an instance type (server_group, as Heat's metadata sets it) and an
    instance of project p1 with a cpu metric."""
    requests.post(telewatch_api + '/v1/resource_type', headers=ADMIN, timeout=30, json={
        'name': 'instance', 'attributes': {
            'server_group': {'type': 'string', 'required': False}}}).raise_for_status()
    requests.post(telewatch_api + '/v1/resource/instance', timeout=30, headers={
        'X-User-Id': 'u1', 'X-Project-Id': 'p1'}, json={
        'id': SERVER, 'server_group': STACK, 'project_id': 'p1',
        'metrics': {'cpu': {'archive_policy_name': 'low'}}}).raise_for_status()
    return telewatch_api


def _run(command, expect_ok):
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if not expect_ok:
        assert result.returncode != 0, result.stdout
        return result.stderr
    assert result.returncode == 0, result.stderr
    try:
        return json.loads(result.stdout)
    except ValueError:
        return result.stdout


def aodh(endpoint, *args, project='p1', user='u1', roles='member', expect_ok=True):
    """The aodh CLI's parsed JSON output (``-f json`` when it has one), or its stderr."""
    return _run([str(BIN / 'aodh'), '--os-auth-type', 'aodh-noauth', '--aodh-endpoint',
                 endpoint, '--user-id', user, '--project-id', project, '--roles', roles,
                 *args], expect_ok)


def openstack(endpoint, *args, project='p1', roles='member', expect_ok=True):
    """aodhclient's ``openstack alarm ...`` commands (the quota ones live there only)."""
    return _run([str(BIN / 'openstack'), '--os-auth-type', 'aodh-noauth', '--os-user-id',
                 'u1', '--os-project-id', project, '--os-roles', roles,
                 '--os-aodh-endpoint', endpoint, *args], expect_ok)


def test_an_alarm_through_every_command_family(endpoint):
    name = 'cli_%s' % uuid.uuid4().hex[:8]  # a word: the CLI's --query grammar's
    created = aodh(endpoint, 'alarm', 'create', '--name', name, '-t',
                   'gnocchi_resources_threshold', '--metric', 'cpu', '--resource-id', SERVER,
                   '--resource-type', 'instance', '--threshold', '70',
                   '--aggregation-method', 'rate:mean', '--comparison-operator', 'gt',
                   '--granularity', '300', '--evaluation-periods', '2',
                   '--alarm-action', 'http://hooks.example.org:8080/up',
                   '--time-constraint', 'name=night;start=0 23 * * *;duration=3600',
                   '-f', 'json')
    alarm_id = created['alarm_id']
    assert {k: created[k] for k in ('name', 'type', 'state', 'state_reason', 'severity',
                                    'enabled', 'project_id', 'user_id', 'metric',
                                    'resource_id', 'threshold', 'aggregation_method',
                                    'comparison_operator', 'granularity',
                                    'evaluation_periods', 'alarm_actions')} == {
        'name': name, 'type': 'gnocchi_resources_threshold', 'state': 'insufficient data',
        'state_reason': 'Not evaluated yet', 'severity': 'low', 'enabled': True,
        'project_id': 'p1', 'user_id': 'u1', 'metric': 'cpu', 'resource_id': SERVER,
        'threshold': 70.0, 'aggregation_method': 'rate:mean', 'comparison_operator': 'gt',
        'granularity': 300, 'evaluation_periods': 2,
        'alarm_actions': ['http://hooks.example.org:8080/up']}
    assert json.loads(created['time_constraints']) == [{
        'name': 'night', 'start': '0 23 * * *', 'duration': 3600, 'timezone': '',
        'description': 'Time constraint at 0 23 * * * lasting for 3600 seconds'}]

    listed = aodh(endpoint, 'alarm', 'list', '--filter', 'name=%s' % name, '-f', 'json')
    assert listed == [{'alarm_id': alarm_id, 'type': 'gnocchi_resources_threshold',
                       'name': name, 'state': 'insufficient data', 'severity': 'low',
                       'enabled': True}]
    searched = aodh(endpoint, 'alarm', 'list', '--query', 'name=%s' % name, '-f', 'json')
    assert [a['alarm_id'] for a in searched] == [alarm_id]
    assert aodh(endpoint, 'alarm', 'show', '--name', name, '-f', 'json')['alarm_id'] == (
        alarm_id)

    updated = aodh(endpoint, 'alarm', 'update', '--name', name, '--severity', 'critical',
                   '--threshold', '90', '-f', 'json')
    assert (updated['severity'], updated['threshold'], updated['granularity']) == (
        'critical', 90.0, 300)
    assert aodh(endpoint, 'alarm', 'state', 'set', alarm_id, '--state', 'alarm',
                '-f', 'json') == {'state': 'alarm'}
    assert aodh(endpoint, 'alarm', 'state', 'get', '--name', name, '-f', 'json') == {
        'state': 'alarm'}
    shown = aodh(endpoint, 'alarm', 'show', alarm_id, '-f', 'json')
    assert (shown['state'], shown['state_reason']) == ('alarm', 'Manually set via API')

    history = aodh(endpoint, 'alarm-history', 'show', alarm_id, '-f', 'json')
    assert [h['type'] for h in history] == ['state transition', 'rule change', 'creation']
    assert json.loads(history[1]['detail']) == {
        'severity': 'critical', 'rule': json.loads(history[1]['detail'])['rule']}
    assert json.loads(history[1]['detail'])['rule']['threshold'] == 90.0
    found = aodh(endpoint, 'alarm-history', 'search', '--query',
                 'alarm_id=%s' % alarm_id, '-f', 'json')
    assert sorted(h['type'] for h in found) == [
        'creation', 'rule change', 'state transition']

    caps = aodh(endpoint, 'capabilities', 'list', '-f', 'json')
    assert caps['api']['alarms:query:complex'] is True

    aodh(endpoint, 'alarm', 'delete', '--name', name)
    assert 'not found' in aodh(endpoint, 'alarm', 'show', alarm_id, expect_ok=False)
    after = aodh(endpoint, 'alarm-history', 'search', '--query', 'alarm_id=%s' % alarm_id,
                 '-f', 'json')
    assert 'deletion' in {h['type'] for h in after}


def test_quota_show_and_set(endpoint):
    project = 'quota-%s' % uuid.uuid4().hex[:8]
    assert openstack(endpoint, 'alarm', 'quota', 'show', '--project', project, '-f', 'json',
                     roles='admin') == {'alarms': -1}
    assert openstack(endpoint, 'alarm', 'quota', 'set', project, '--alarm', '1', '-f',
                     'json', roles='admin') == {'alarms': 1}
    assert openstack(endpoint, 'alarm', 'quota', 'show', '-f', 'json', project=project) == {
        'alarms': 1}
    assert 'Not Authorized to access project p1' in openstack(
        endpoint, 'alarm', 'quota', 'show', '--project', 'p1', project=project,
        expect_ok=False)
    assert 'RBAC Authorization Failed' in openstack(
        endpoint, 'alarm', 'quota', 'set', project, '--alarm', '5', project=project,
        expect_ok=False)
    event = ('alarm', 'create', '-t', 'event', '--event-type', 'compute.instance.*', '-f',
             'json')
    aodh(endpoint, *event, '--name', 'first', project=project)
    assert 'Alarm quota exceeded for user u1 on project %s' % project in aodh(
        endpoint, *event, '--name', 'second', project=project, expect_ok=False)


def test_every_type_through_the_cli(endpoint):
    metric = requests.get(endpoint + '/v1/resource/instance/' + SERVER, timeout=30,
                          headers={'X-User-Id': 'u1', 'X-Project-Id': 'p1'}).json()[
        'metrics']['cpu']
    by_metrics = aodh(endpoint, 'alarm', 'create', '--name', 'm', '-t',
                      'gnocchi_aggregation_by_metrics_threshold', '--metric', metric,
                      '--threshold', '1', '--aggregation-method', 'max', '-f', 'json')
    assert by_metrics['metrics'] == [metric]
    by_resources = aodh(endpoint, 'alarm', 'create', '--name', 'r', '-t',
                        'gnocchi_aggregation_by_resources_threshold', '--metric', 'cpu',
                        '--threshold', '1', '--aggregation-method', 'rate:mean',
                        '--resource-type', 'instance',
                        '--query', '{"=": {"server_group": "%s"}}' % STACK, '-f', 'json')
    assert json.loads(by_resources['query'])['and'][1] == {'=': {'server_group': STACK}}
    leaf = {'type': 'gnocchi_resources_threshold', 'metric': 'cpu', 'resource_id': SERVER,
            'resource_type': 'instance', 'threshold': 5, 'aggregation_method': 'mean'}
    composite = aodh(endpoint, 'alarm', 'create', '--name', 'c', '-t', 'composite',
                     '--composite-rule', json.dumps({'or': [leaf, dict(leaf, threshold=9)]}),
                     '-f', 'json')
    rule = json.loads(composite['composite_rule'])
    assert [r['threshold'] for r in rule['or']] == [5.0, 9.0]
    event = aodh(endpoint, 'alarm', 'create', '--name', 'e', '-t', 'event', '--event-type',
                 'compute.instance.update', '--query', 'traits.state=string::error', '-f',
                 'json')
    assert (event['event_type'], event['query']) == (
        'compute.instance.update', 'traits.state = error')
    error = aodh(endpoint, 'alarm', 'create', '--name', 'bad', '-t',
                 'gnocchi_resources_threshold', '--metric', 'memory', '--resource-id', SERVER,
                 '--resource-type', 'instance', '--threshold', '1', '--aggregation-method',
                 'mean', expect_ok=False)
    assert 'Metric memory does not exist on resource %s' % SERVER in error


def heat_body(url):
    """What Heat's OS::Aodh::GnocchiAggregationByResourcesAlarm sends for a scaling policy
    of a stack's server group."""
    return {
        'name': 'stack-cpu_alarm_high-%s' % uuid.uuid4().hex[:12],
        'description': 'Scale up if CPU > 80%', 'type':
        'gnocchi_aggregation_by_resources_threshold', 'enabled': True,
        'repeat_actions': True, 'alarm_actions': [url], 'ok_actions': [],
        'insufficient_data_actions': [], 'severity': 'low', 'time_constraints': [],
        'gnocchi_aggregation_by_resources_threshold_rule': {
            'metric': 'cpu', 'aggregation_method': 'rate:mean', 'granularity': 600,
            'evaluation_periods': 1, 'threshold': 800000000.0, 'comparison_operator': 'gt',
            'resource_type': 'instance',
            'query': json.dumps({'and': [{'=': {'server_group': STACK}},
                                         {'=': {'ended_at': None}}]})}}


def test_a_heat_shaped_creation(endpoint):
    headers = {'X-User-Id': 'heat-user', 'X-Project-Id': 'p1', 'X-Roles': 'member'}
    body = heat_body('http://heat.example.org:8000/v1/signal/arn%3Aopenstack%3Aheat')
    response = requests.post(endpoint + '/v2/alarms', json=body, headers=headers, timeout=30)
    assert response.status_code == 201, response.text
    alarm = response.json()
    rule = alarm['gnocchi_aggregation_by_resources_threshold_rule']
    assert json.loads(rule['query'])['and'][1] == json.loads(
        body['gnocchi_aggregation_by_resources_threshold_rule']['query'])
    assert (alarm['alarm_actions'], alarm['repeat_actions'], alarm['project_id']) == (
        body['alarm_actions'], True, 'p1')
    # Heat deletes it with the stack.
    assert requests.delete(endpoint + '/v2/alarms/' + alarm['alarm_id'], headers=headers,
                           timeout=30).status_code == 204


def test_another_project_neither_sees_nor_changes_an_alarm(endpoint):
    alarm = aodh(endpoint, 'alarm', 'create', '--name', 'mine', '-t', 'event', '-f', 'json')
    assert aodh(endpoint, 'alarm', 'list', '-f', 'json', project='p2') == []
    # The CLI looks a 404's id up as a name too, then says it found none.
    assert 'not found' in aodh(endpoint, 'alarm', 'show', alarm['alarm_id'], project='p2',
                               expect_ok=False)
    assert 'not found' in aodh(endpoint, 'alarm', 'delete', alarm['alarm_id'], project='p2',
                               expect_ok=False)
    response = requests.put(endpoint + '/v2/alarms/%s/state' % alarm['alarm_id'],
                            json='alarm', timeout=30,
                            headers={'X-User-Id': 'u2', 'X-Project-Id': 'p2'})
    assert (response.status_code, response.json()['error_message']['faultstring']) == (
        404, 'Alarm %s not found in project p2' % alarm['alarm_id'])
    assert aodh(endpoint, 'alarm', 'state', 'get', alarm['alarm_id'], '-f', 'json') == {
        'state': 'insufficient data'}
    everyone = aodh(endpoint, 'alarm', 'list', '--filter', 'all_projects=true', '-f', 'json',
                    project='p2', roles='admin')
    assert alarm['alarm_id'] in {a['alarm_id'] for a in everyone}


def test_the_all_in_one_serves_v2_on_its_port(tmp_path):
    """Its start-up creates the alarm tables; the aodh CLI works against its one port."""
    from tests.functional.test_allinone import AllInOne
    chain = AllInOne(tmp_path, '--no-polling')
    try:
        assert chain.wait_for(chain.started), chain.stderr.read_text()
        created = aodh(chain.api, 'alarm', 'create', '--name', 'aio', '-t', 'event',
                       '--event-type', 'compute.instance.delete.end', '-f', 'json')
        assert aodh(chain.api, 'alarm', 'list', '-f', 'json') == [{
            'alarm_id': created['alarm_id'], 'type': 'event', 'name': 'aio',
            'state': 'insufficient data', 'severity': 'low', 'enabled': True}]
        assert chain.stop() == 0, chain.stderr.read_text()
    finally:
        chain.kill()
