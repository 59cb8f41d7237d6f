"""What listings and searches show, through the in-process API (noauth) with an operator's
policy file: listings obey ``list all resource``/``list resource``, searches (and the
aggregates over a search) ``search all resource``/``search resource``; a gnocchi-basic
user, who has no project, lists what its user name created."""

import base64

import pytest
import webtest

from telewatch import service
from telewatch.api import app as app_mod
from telewatch.archive import store as store_mod

POLICY = '''
"search all resource": "role:admin or role:auditor"
"list all resource": "role:admin or role:lister"
"search resource": "not role:nosearch"
'''
MEASURE = [{'timestamp': '2024-01-01T00:00:00', 'value': 2.0}]


def basic(user):
    return {'Authorization': 'basic ' + base64.b64encode(user.encode() + b':').decode()}


def caller(project, *roles):
    return {'X-User-Id': 'user-' + project, 'X-Project-Id': project,
            'X-Roles': ','.join(roles)}


@pytest.fixture
def api(tmp_path):
    (tmp_path / 'policy.yaml').write_text(POLICY)
    config = tmp_path / 'telewatch.conf'
    config.write_text('[oslo_policy]\npolicy_file = %s\n' % (tmp_path / 'policy.yaml'))
    conf = service.prepare_service(['--config-file', str(config)])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('auth_strategy', 'noauth', group='api')
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    api = webtest.TestApp(app_mod.make_app(conf, store))
    for project in ('pa', 'pb'):
        created = api.post_json('/v1/resource/generic', {
            'id': 'r-' + project, 'metrics': {'cpu': {'archive_policy_name': 'low'}}},
            headers=caller(project)).json
        api.post_json('/v1/metric/%s/measures' % created['metrics']['cpu'], MEASURE,
                      headers=caller(project), status=202)
    yield api
    store.close()


def names(response):
    return sorted(r['original_resource_id'] for r in response.json)


def search(api, headers, status=200):
    return api.post_json('/v1/search/resource/generic', {}, headers=headers, status=status)


def aggregate(api, headers, status=200):
    return api.post_json('/v1/aggregates?refresh=true', {
        'operations': '(aggregate sum (metric cpu mean))', 'search': {}},
        headers=headers, status=status)


def test_search_all_resource_decides_who_searches_everything(api):
    assert names(search(api, caller('pc', 'auditor'))) == ['r-pa', 'r-pb']
    assert names(search(api, caller('pa'))) == ['r-pa']
    # The listing rule does not open searches, nor the search rule listings.
    assert names(search(api, caller('pc', 'lister'))) == []
    assert names(api.get('/v1/resource/generic', headers=caller('pc', 'auditor'))) == []
    assert names(api.get('/v1/resource/generic', headers=caller('pc', 'lister'))) == [
        'r-pa', 'r-pb']


def test_aggregates_over_a_search_follow_the_search_rules(api):
    rows = aggregate(api, caller('pc', 'auditor')).json['measures']['aggregated']
    assert [row[2] for row in rows] == [4.0]
    rows = aggregate(api, caller('pa')).json['measures']['aggregated']
    assert [row[2] for row in rows] == [2.0]
    aggregate(api, caller('pc', 'lister'), status=404)  # no metric cpu among its own


def test_search_resource_refuses_a_search_but_not_a_listing(api):
    assert search(api, caller('pa', 'nosearch'), status=403).json['description'] == (
        'Access was denied to this resource.')
    aggregate(api, caller('pa', 'nosearch'), status=403)
    assert names(api.get('/v1/resource/generic', headers=caller('pa', 'nosearch'))) == [
        'r-pa']


def test_a_basic_user_lists_and_searches_what_its_name_created(api):
    # Project-less things of others: a project's resource without project_id, a metric.
    api.post_json('/v1/resource/generic', {'id': 'no-project'}, headers=caller('pa'))
    api.post_json('/v1/metric', {'name': 'of-pa', 'archive_policy_name': 'low'},
                  headers=caller('pa'))
    for user in ('carol', 'dave'):
        api.post_json('/v1/resource/generic', {'id': 'r-' + user}, headers=basic(user))
        api.post_json('/v1/metric', {'name': 'of-' + user, 'archive_policy_name': 'low'},
                      headers=basic(user))
    assert names(api.get('/v1/resource/generic', headers=basic('carol'))) == ['r-carol']
    assert names(search(api, basic('carol'))) == ['r-carol']
    metrics = api.get('/v1/metric', headers=basic('carol')).json
    assert [m['name'] for m in metrics] == ['of-carol']
    assert api.get('/v1/metric?creator=dave', headers=basic('carol')).json == []
    everything = api.get('/v1/metric', headers=basic('admin')).json
    assert len(everything) == 5  # the cpu metrics of r-pa and r-pb too
