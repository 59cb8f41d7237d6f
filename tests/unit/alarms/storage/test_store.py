"""The alarm store on SQLite: CRUD with history in the same transaction, the complex-query
search and its pages, the evaluator's compare-and-set, history expiry and quotas."""

import datetime
import json

import pytest
import sqlalchemy as sa

from telewatch.alarms import storage
from telewatch.alarms.storage import migration
from telewatch.alarms.storage import schema

T0 = datetime.datetime(2040, 1, 1, 12, 0, 0)  # after any creation here


@pytest.fixture
def store(tmp_path):
    store = storage.AlarmStore('sqlite:///%s' % (tmp_path / 'alarms.sqlite'))
    store.upgrade()
    yield store
    store.close()


def _alarm(name='a', project='p1', user='u1', **fields):
    alarm = {'name': name, 'type': 'gnocchi_resources_threshold', 'project_id': project,
             'user_id': user, 'rule': {'metric': 'cpu', 'threshold': 1.0},
             'alarm_actions': ['trust+http://trustid:delete@hook:80/up']}
    alarm.update(fields)
    return alarm


def test_upgrade_is_idempotent_and_has_its_own_version_table(store):
    store.upgrade()
    assert store.schema_revisions() == (migration.head(), migration.head())
    names = sa.inspect(store.engine).get_table_names()
    assert {'alarm', 'alarm_history', 'alarm_quota', 'alarms_alembic_version'} <= set(names)


def test_migrations_make_the_schema_module_tables(store):
    inspector = sa.inspect(store.engine)
    for table in schema.metadata.sorted_tables:
        columns = {c['name'] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name


def test_create_fills_defaults_and_records_creation(store):
    created = store.create(_alarm())
    assert created['state'] == 'insufficient data'
    assert created['enabled'] is True and created['severity'] == 'low'
    assert store.get(created['alarm_id']) == created
    entry, = store.history(created['alarm_id'])
    assert entry['type'] == 'creation' and entry['on_behalf_of'] == 'p1'
    detail = json.loads(entry['detail'])
    assert detail['name'] == 'a'
    assert detail['alarm_actions'] == ['trust+http://hook:80/up']  # scrubbed


def test_get_of_an_unknown_alarm_raises(store):
    with pytest.raises(storage.NoSuchAlarm):
        store.get('00000000-0000-0000-0000-000000000000')


def test_update_records_what_changed_and_delete_records_deletion(store):
    created = store.create(_alarm())
    updated = store.update({'alarm_id': created['alarm_id'], 'description': 'new'},
                           actor=('admin', 'padmin'))
    assert updated['description'] == 'new' and updated['name'] == 'a'
    change = store.history(created['alarm_id'])[0]
    assert change['type'] == 'rule change'
    assert json.loads(change['detail']) == {'description': 'new'}
    assert (change['user_id'], change['project_id'], change['on_behalf_of']) == (
        'admin', 'padmin', 'p1')
    gone = store.delete(created['alarm_id'])
    assert gone['alarm_id'] == created['alarm_id']
    with pytest.raises(storage.NoSuchAlarm):
        store.delete(created['alarm_id'])
    kinds = [e['type'] for e in store.history(created['alarm_id'],
                                              orderby=[{'timestamp': 'asc'}])]
    assert kinds == ['creation', 'rule change', 'deletion']


def test_a_failed_write_leaves_no_history(store):
    created = store.create(_alarm())
    with pytest.raises(sa.exc.IntegrityError):
        store.create(dict(_alarm(), alarm_id=created['alarm_id']))
    assert len(store.history(created['alarm_id'])) == 1


def test_search_compiles_complex_queries(store):
    for name, project, state in [('a', 'p1', 'ok'), ('b', 'p1', 'alarm'),
                                 ('c', 'p2', 'ok')]:
        store.create(_alarm(name, project, state=state))
    names = lambda f, **kw: [a['name'] for a in store.search(f, **kw)]  # noqa: E731
    order = [{'name': 'asc'}]
    assert names({'=': {'project': 'p1'}}, orderby=order) == ['a', 'b']
    assert names({'AND': [{'=': {'state': 'ok'}}, {'!=': {'project_id': 'p2'}}]}) == ['a']
    assert names({'or': [{'=': {'name': 'a'}}, {'in': {'name': ['c']}}]},
                 orderby=order) == ['a', 'c']
    assert names({'not': {'=': {'state': 'ok'}}}) == ['b']
    assert names({'>=': {'name': 'b'}}, orderby=[{'name': 'DESC'}]) == ['c', 'b']
    assert names({'>': {'timestamp': '2000-01-01T00:00:00Z'}}, orderby=order) == [
        'a', 'b', 'c']


@pytest.mark.parametrize('bad', [
    {'and': [{'=': {'name': 'a'}}]},
    {'=': {'rule': 'x'}},
    {'=': {'nope': 1}},
    {'like': {'name': 'a'}},
    {'in': {'name': []}},
    {'=': {'name': 'a', 'state': 'ok'}},
    {'=': {'name': {'x': 1}}},
    {'<': {'timestamp': 'yesterday'}},
    [],
])
def test_bad_filters_say_what_is_wrong(store, bad):
    with pytest.raises(storage.InvalidQuery):
        store.search(bad)


def test_bad_orders_are_refused(store):
    with pytest.raises(storage.InvalidQuery):
        store.search(orderby=[{'name': 'up'}])
    with pytest.raises(storage.InvalidQuery):
        store.search(orderby={'name': 'asc'})


@pytest.mark.parametrize('orderby', [
    [{'name': 'asc'}], [{'name': 'desc'}], [{'description': 'asc'}],
    [{'description': 'desc'}, {'name': 'asc'}], None])
def test_pages_with_a_marker_cover_everything_once(store, orderby):
    for i in range(7):
        store.create(_alarm('n%d' % (i % 3), description=None if i % 2 else 'd%d' % i))
    expected = [a['alarm_id'] for a in store.search(orderby=orderby)]
    seen, marker = [], None
    while True:
        page = store.search(orderby=orderby, limit=3, marker=marker)
        if not page:
            break
        seen += [a['alarm_id'] for a in page]
        marker = page[-1]['alarm_id']
    assert seen == expected and len(set(seen)) == 7


def test_transition_is_a_compare_and_set(store):
    created = store.create(_alarm())
    alarm_id = created['alarm_id']
    after = store.transition(alarm_id, 'insufficient data', 'alarm', 'high', {'x': 1}, T0)
    assert (after['state'], after['state_reason'], after['reason_data'],
            after['state_timestamp']) == ('alarm', 'high', {'x': 1}, T0)
    assert store.transition(alarm_id, 'insufficient data', 'ok', 'low', None, T0) is None
    assert store.get(alarm_id)['state'] == 'alarm'
    entry = store.history(alarm_id)[0]
    assert entry['type'] == 'state transition'
    assert json.loads(entry['detail']) == {'state': 'alarm', 'transition_reason': 'high'}
    assert store.transition('no-such-alarm', 'ok', 'alarm', 'r', None) is None


def test_evaluable_and_set_evaluated(store):
    one = store.create(_alarm('one'))
    store.create(_alarm('off', enabled=False))
    store.create(_alarm('event', type='event'))
    assert {a['name'] for a in store.evaluable()} == {'one', 'event'}
    assert [a['name'] for a in store.evaluable(['gnocchi_resources_threshold'])] == ['one']
    store.set_evaluated([one['alarm_id']], T0)
    store.set_evaluated([])
    assert store.get(one['alarm_id'])['evaluate_timestamp'] == T0


def test_versions_change_with_the_definition_and_the_state_alone(store):
    one = store.create(_alarm('one'))
    two = store.create(_alarm('two'))
    store.create(_alarm('off', enabled=False))
    store.create(_alarm('event', type='event'))
    versions = store.evaluable_versions(['gnocchi_resources_threshold'])
    assert set(versions) == {one['alarm_id'], two['alarm_id']}
    assert set(store.evaluable_versions()) == set(versions) | {
        a['alarm_id'] for a in store.evaluable(['event'])}
    store.set_evaluated([one['alarm_id'], two['alarm_id']], T0)
    assert store.evaluable_versions(['gnocchi_resources_threshold']) == versions
    store.update({'alarm_id': one['alarm_id'], 'description': 'changed'})
    store.transition(two['alarm_id'], 'insufficient data', 'ok', 'low', None, T0)
    after = store.evaluable_versions(['gnocchi_resources_threshold'])
    assert after[one['alarm_id']] != versions[one['alarm_id']]
    assert after[two['alarm_id']] != versions[two['alarm_id']]
    store.transition(two['alarm_id'], 'ok', 'alarm', 'high', None, T0)  # same time
    assert store.evaluable_versions()[two['alarm_id']] != after[two['alarm_id']]
    store.update({'alarm_id': one['alarm_id'], 'enabled': False})
    assert one['alarm_id'] not in store.evaluable_versions()


def test_evaluable_of_some_ids_only_the_enabled_of_those_types(store):
    ids = [store.create(_alarm('a%d' % n))['alarm_id'] for n in range(3)]
    off = store.create(_alarm('off', enabled=False))['alarm_id']
    event = store.create(_alarm('event', type='event'))['alarm_id']
    found = store.evaluable(['gnocchi_resources_threshold'], ids=ids[:2] + [off, event, 'x'])
    assert sorted(a['alarm_id'] for a in found) == sorted(ids[:2])
    assert found[0]['rule'] == {'metric': 'cpu', 'threshold': 1.0}
    assert store.evaluable(ids=[]) == []
    assert {a['alarm_id'] for a in store.evaluable(ids=ids + [event])} == set(ids + [event])
    many = ['no-such-alarm-%d' % n for n in range(1200)] + ids  # several statements
    assert {a['alarm_id'] for a in store.evaluable(ids=many)} == set(ids)
    store.set_evaluated(many, T0)
    assert {a['evaluate_timestamp'] for a in store.evaluable(ids=ids)} == {T0}


def test_record_search_and_expire_history(store):
    old = T0 - datetime.timedelta(days=31)
    store.record_history('x', 'action', {'url': 'http://h/', 'outcome': 'delivered'},
                         'u', 'p', 'p', 'low', old)
    store.record_history('x', 'action', {'url': 'http://h/', 'outcome': 'failed'},
                         'u', 'p', 'p', 'low', T0)
    with pytest.raises(ValueError):
        store.record_history('x', 'bogus', {})
    found = store.search_history({'and': [{'=': {'alarm_id': 'x'}},
                                          {'<': {'timestamp': T0.isoformat()}}]})
    assert [json.loads(e['detail'])['outcome'] for e in found] == ['delivered']
    assert store.expire_history(T0) == 1
    assert len(store.history('x')) == 1
    assert len(store.history('x', on_behalf_of='other')) == 0


def test_quotas_and_counts(store):
    assert store.quotas('p1') == {}
    assert store.set_quotas('p1', {'alarms': 2}) == {'alarms': 2}
    assert store.set_quotas('p1', {'alarms': 3}) == {'alarms': 3}
    store.delete_quotas('p1')
    assert store.quotas('p1') == {}
    store.create(_alarm('a'))
    store.create(_alarm('b', user='u2'))
    assert store.count(project_id='p1') == 2 and store.count(user_id='u2') == 1


def test_history_pages_with_a_marker_and_a_transition_detail_of_the_callers(store):
    created = store.create(_alarm())
    store.transition(created['alarm_id'], 'insufficient data', 'ok', 'Manually set via API',
                     None, T0, actor=('admin', 'padmin'),
                     detail={'state': 'ok', 'state_reason': 'Manually set via API'})
    first, second = store.history(created['alarm_id'])
    assert json.loads(first['detail']) == {'state': 'ok',
                                           'state_reason': 'Manually set via API'}
    assert (first['user_id'], first['project_id']) == ('admin', 'padmin')
    page = store.history(created['alarm_id'], limit=1, marker=first['event_id'])
    assert [e['event_id'] for e in page] == [second['event_id']]
    with pytest.raises(storage.NoSuchEvent):
        store.history(created['alarm_id'], marker='nope')
