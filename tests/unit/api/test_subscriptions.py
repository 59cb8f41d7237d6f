"""/v1/subscriptions beyond the HTTP cases (tests/cases/api/subscriptions.yaml): the
counters of telewatch-pubsub, the meters a warning knows, another project's resources by
UUID, what is stored for whom, and the app's one registry."""

import pytest
import webtest
from oslo_policy import opts as policy_opts

from telewatch.api import app as app_mod
from telewatch.api.controllers import subscription as subscription_api
from telewatch.archive.index import indexer as indexer_mod

ADMIN = {'Authorization': 'basic YWRtaW46'}
PA = {'X-User-Id': 'ua', 'X-Project-Id': 'pa'}
PB = {'X-User-Id': 'ub', 'X-Project-Id': 'pb'}
TARGET = 'udp://127.0.0.1:4952'


def subscribe(api, headers=PA, status=201, **fields):
    body = dict({'name': 'feed', 'meters': ['cpu'], 'target': TARGET}, **fields)
    return api.post_json('/v1/subscriptions', body, headers=headers, status=status).json


def shared(api):
    return api.app.values[subscription_api.ENVIRON_KEY]


def test_the_app_has_one_registry_on_the_archive_index(api, store):
    assert shared(api).registry.engine is store.index.engine


def test_a_malformed_allow_list_stops_the_app(conf, store):
    conf.set_override('allowed_targets', ['10.0.0.1'], group='pubsub')
    with pytest.raises(ValueError, match=r"\[pubsub\] allowed_targets: '10.0.0.1' is not "
                                         r'HOST:PORT'):
        app_mod.make_app(conf, store)


def test_show_and_list_give_what_the_workers_reported(api):
    first = subscribe(api)
    second = subscribe(api, name='other')
    registry = shared(api).registry
    registry.add_counters('host-1:10', {first['id']: {'delivered': 5, 'dropped': 1}},
                          {first['id']: 7})
    registry.add_counters('host-2:11', {first['id']: {'delivered': 2, 'failed': 3,
                                                      'skipped': 4}}, {})
    shown = api.get('/v1/subscriptions/%s' % first['id'], headers=PA).json
    assert shown['counters'] == {'delivered': 7, 'dropped': 1, 'failed': 3, 'skipped': 4,
                                 'queue_length': 7, 'workers': 2}
    assert 'warnings' not in shown
    listed = {s['id']: s['counters'] for s in api.get('/v1/subscriptions', headers=PA).json}
    assert listed[first['id']] == shown['counters']
    assert listed[second['id']]['delivered'] == 0


def test_a_page_reads_its_counters_in_one_query(api, monkeypatch):
    for name in ('a', 'b', 'c'):
        subscribe(api, name=name)
    registry = shared(api).registry
    calls = []
    counters = registry.counters
    monkeypatch.setattr(registry, 'counters', lambda ids: calls.append(ids) or counters(ids))
    assert len(api.get('/v1/subscriptions', headers=PA).json) == 3
    assert len(calls) == 1 and len(calls[0]) == 3


def test_warnings_know_the_meter_definitions_and_the_archive(api, conf, store, tmp_path):
    (tmp_path / 'meters.yaml').write_text(
        'metric:\n- {name: image.size, event_type: image.upload, type: gauge, unit: B,\n'
        '   volume: $.payload.size, resource_id: $.payload.id}\n')
    conf.set_override('meters_cfg_file', str(tmp_path / 'meters.yaml'), group='notification')
    store.index.create_metrics([indexer_mod.Metric(
        '9f7b1b4e-1d67-4c53-9e0b-3d1b7d1f0a11', 'low', 'ua:pa', None, 'app.requests', '')])
    created = subscribe(api, meters=['image.*', 'app.requests', 'cpu', 'nothing.*'])
    assert created['warnings'] == ["meter pattern 'nothing.*' matches no known meter yet"]


def test_an_update_warns_about_the_meters_it_leaves(api):
    created = subscribe(api)
    url = '/v1/subscriptions/%s' % created['id']
    changed = api.patch_json(url, {'meters': ['later.*']}, headers=PA).json
    assert changed['warnings'] == ["meter pattern 'later.*' matches no known meter yet"]
    renamed = api.patch_json(url, {'name': 'renamed'}, headers=PA).json
    assert renamed['warnings'] == changed['warnings']
    assert renamed['updated_at'] > created['updated_at']


def test_an_empty_update_changes_nothing(api):
    created = subscribe(api)
    same = api.patch_json('/v1/subscriptions/%s' % created['id'], {}, headers=PA).json
    assert same['updated_at'] == created['updated_at']


def test_a_member_always_receives_its_own_project_only(api):
    assert subscribe(api, name='a')['projects'] == ['pa']
    assert subscribe(api, name='b', projects=None)['projects'] == ['pa']
    assert subscribe(api, name='c', projects=['pa', 'pa'])['projects'] == ['pa']
    stored = shared(api).registry.list('pa')
    assert [s['projects'] for s in stored] == [['pa']] * 3


def test_an_admin_names_any_projects_and_resources(api):
    api.post_json('/v1/resource/generic', {'id': 'server-b', 'project_id': 'pb'}, headers=PB)
    created = subscribe(api, headers=ADMIN, projects=['pb', 'pa', 'pb'],
                        resources=['server-b', 'server-b'])
    assert created['projects'] == ['pb', 'pa']
    assert created['resources'] == ['server-b']


def test_another_projects_resource_by_its_uuid(api):
    resource = api.post_json('/v1/resource/generic', {'id': 'server-b', 'project_id': 'pb'},
                             headers=PB).json
    error = subscribe(api, status=403, resources=[resource['id'].upper()]).get('description')
    assert error['detail'] == ['resources[0]']


def test_resources_of_no_project_and_of_the_callers_own_by_uuid_are_allowed(api):
    host = api.post_json('/v1/resource/generic', {'id': 'compute-1'}, headers=ADMIN).json
    assert host['project_id'] is None
    own = api.post_json('/v1/resource/generic', {'id': 'mine', 'project_id': 'pa'},
                        headers=PB).json  # made for pa by another project
    created = subscribe(api, resources=['compute-1', own['id'], 'a/b'])
    assert created['resources'] == ['compute-1', own['id'], 'a/b']


def test_a_resource_known_in_the_callers_project_too_is_allowed(api):
    for headers, project in ((PB, 'pb'), (PA, 'pa')):
        api.post_json('/v1/resource/generic', {'id': 'shared-name', 'project_id': project},
                      headers=headers)
    subscribe(api, resources=['shared-name'])


def test_resources_are_looked_up_a_page_at_a_time(api, store, monkeypatch):
    for index in range(3):
        api.post_json('/v1/resource/generic', {'id': 'r-%d' % index, 'project_id': 'pa'},
                      headers=PA)
    api.post_json('/v1/resource/generic', {'id': 'r-b', 'project_id': 'pb'}, headers=PB)
    monkeypatch.setattr(store.index, 'MAX_LIMIT', 2)
    error = subscribe(api, status=403, resources=['r-0', 'r-1', 'r-2', 'r-b'])['description']
    assert error['detail'] == ['resources[3]']


@pytest.mark.parametrize('body, field', [
    ([], 'body'),
    ({'name': '', 'meters': ['cpu'], 'target': TARGET}, 'name'),
    ({'name': 'x' * 256, 'meters': ['cpu'], 'target': TARGET}, 'name'),
    ({'name': 'n', 'meters': 'cpu', 'target': TARGET}, 'meters'),
    ({'name': 'n', 'meters': ['cpu', 7], 'target': TARGET}, 'meters[1]'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'interval': True}, 'interval'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'interval': 'soon'}, 'interval'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'interval': 0}, 'interval'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'resources': []}, 'resources'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'resources': ['']}, 'resources[0]'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'resources': 'r1'}, 'resources'),
    ({'name': 'n', 'meters': ['cpu'], 'target': TARGET, 'projects': []}, 'projects'),
    ({'name': 'n', 'meters': ['cpu'] * 1001, 'target': TARGET}, 'meters'),
    ({'name': 'n', 'meters': ['cpu'], 'target': 'udp://h:1?' + 'x' * 2048}, 'target'),
])
def test_a_malformed_body_is_a_400_naming_the_field(api, body, field):
    response = api.post_json('/v1/subscriptions', body, headers=ADMIN, status=400)
    assert response.json['description']['detail'] == [field]
    assert response.json['description']['reason'].startswith(
        field if field != 'interval' else 'Unable to parse `interval`')


def test_null_is_refused_where_a_field_cannot_be_empty(api):
    url = '/v1/subscriptions/%s' % subscribe(api)['id']
    for field in ('name', 'meters', 'target'):
        response = api.patch_json(url, {field: None}, headers=PA, status=400)
        assert response.json['description']['detail'] == [field]


def test_a_deleted_subscription_and_its_counters_are_gone(api):
    created = subscribe(api)
    registry = shared(api).registry
    registry.add_counters('host-1:10', {created['id']: {'delivered': 1}}, {})
    api.delete('/v1/subscriptions/%s' % created['id'], headers=PA, status=204)
    api.get('/v1/subscriptions/%s' % created['id'], headers=PA, status=404)
    assert registry.counters([created['id']])[created['id']]['workers'] == 0
    subscribe(api)  # the name is free again


def test_a_policy_file_may_let_others_subscribe_across_projects(tmp_path, conf, store):
    (tmp_path / 'policy.yaml').write_text('"subscribe other projects": "role:operator"\n')
    policy_opts.set_defaults(conf)  # registers [oslo_policy]
    conf.set_override('policy_file', str(tmp_path / 'policy.yaml'), group='oslo_policy')
    api = webtest.TestApp(app_mod.make_app(conf, store))
    operator = dict(PA, **{'X-Roles': 'operator'})
    assert subscribe(api, headers=operator, projects=None)['projects'] is None
    subscribe(api, name='spy', projects=['pb'], status=403)
