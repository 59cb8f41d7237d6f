"""Attaching an existing metric to a resource by id (``metrics: {name: <metric id>}`` in a
resource's POST or PATCH), through the in-process API (noauth): only a metric with the
resource's creator may be, as in Gnocchi; another creator's is "does not exist", since
attaching it would hand its measures to the resource's project."""

import pytest


ALICE = {'X-User-Id': 'alice', 'X-Project-Id': 'pa'}
BOB = {'X-User-Id': 'bob', 'X-Project-Id': 'pb'}
ADMIN = {'Authorization': 'basic YWRtaW46'}


@pytest.fixture
def alices(api):
    """Alice's resource with a metric cpu, and a metric of no resource."""
    resource = api.post_json('/v1/resource/generic', {
        'id': 'alice-vm', 'project_id': 'pa',
        'metrics': {'cpu': {'archive_policy_name': 'low'}}}, headers=ALICE).json
    load = api.post_json('/v1/metric', {'name': 'load', 'archive_policy_name': 'low'},
                         headers=ALICE).json
    return {'resource': resource['id'], 'cpu': resource['metrics']['cpu'],
            'load': load['id']}


def test_another_creators_metric_cannot_be_attached(api, alices):
    for name in ('cpu', 'load'):
        response = api.post_json('/v1/resource/generic', {
            'id': 'bob-vm-' + name, 'project_id': 'pb', 'metrics': {'x': alices[name]}},
            headers=BOB, status=400)
        assert response.json['description'] == 'Metric %s does not exist' % alices[name]
    bobs = api.post_json('/v1/resource/generic', {'id': 'bob-vm', 'project_id': 'pb'},
                         headers=BOB).json
    api.patch_json('/v1/resource/generic/%s' % bobs['id'], {'metrics': {'x': alices['load']}},
                   headers=BOB, status=400)
    # Nothing moved: bob still cannot read them, alice's resource keeps its metric.
    for name in ('cpu', 'load'):
        api.get('/v1/metric/%s' % alices[name], headers=BOB, status=403)
    shown = api.get('/v1/resource/generic/%s' % alices['resource'], headers=ALICE).json
    assert shown['metrics'] == {'cpu': alices['cpu']}


def test_the_creator_attaches_its_own_metrics(api, alices):
    created = api.post_json('/v1/resource/generic', {
        'id': 'alice-vm2', 'metrics': {'load': alices['load']}}, headers=ALICE).json
    assert created['metrics'] == {'load': alices['load']}
    patched = api.patch_json('/v1/resource/generic/%s' % created['id'],
                             {'metrics': {'load': alices['load'], 'cpu': alices['cpu']}},
                             headers=ALICE).json
    assert patched['metrics'] == {'load': alices['load'], 'cpu': alices['cpu']}


def test_the_admin_patching_a_resource_attaches_its_creators_metrics_only(api, alices):
    other = api.post_json('/v1/resource/generic', {'id': 'alice-vm3'}, headers=ALICE).json
    api.patch_json('/v1/resource/generic/%s' % other['id'], {'metrics': {
        'load': alices['load']}}, headers=ADMIN, status=200)
    admins = api.post_json('/v1/metric', {'archive_policy_name': 'low'}, headers=ADMIN).json
    api.patch_json('/v1/resource/generic/%s' % other['id'], {'metrics': {
        'mine': admins['id']}}, headers=ADMIN, status=400)
