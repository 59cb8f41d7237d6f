import uuid

import pytest
from alembic import autogenerate
from alembic import migration as alembic_migration
from sqlalchemy import event as sa_event

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive.index import compiler
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.index import migration
from telewatch.archive.index import schema


def test_the_migrations_make_exactly_the_schema(indexer):
    assert migration.current(indexer.engine) == migration.head()
    with indexer.engine.connect() as conn:
        context = alembic_migration.MigrationContext.configure(conn)
        assert autogenerate.compare_metadata(context, schema.metadata) == []


def test_upgrading_twice_is_harmless(indexer):
    indexer.upgrade()
    assert [t['name'] for t in indexer.list_resource_types()] == ['generic']


def test_archive_policies_round_trip_and_are_unique(indexer):
    assert indexer.get_archive_policy('medium') == policy_mod.builtin_policies()['medium']
    with pytest.raises(errors.ArchivePolicyAlreadyExists, match='Archive policy low already'):
        indexer.create_archive_policy(policy_mod.builtin_policies()['low'])
    with pytest.raises(errors.NoSuchArchivePolicy, match='Archive policy nope does not'):
        indexer.get_archive_policy('nope')


def test_rules_are_tried_as_gnocchi_tries_them(indexer):
    indexer.create_archive_policy_rule('all', '*', 'low')
    indexer.create_archive_policy_rule('disks', 'disk.*', 'medium')
    indexer.create_archive_policy_rule('disk-io', 'disk.io.*', 'high')
    assert indexer.archive_policy_for('disk.io.read') == 'high'
    assert indexer.archive_policy_for('disk.size') == 'medium'
    assert indexer.archive_policy_for('cpu') == 'low'
    indexer.delete_archive_policy_rule('all')
    with pytest.raises(errors.NoArchivePolicyRuleMatch, match='matching the metric name cpu'):
        indexer.archive_policy_for('cpu')


def test_a_policy_in_use_cannot_be_deleted(indexer):
    indexer.create_archive_policy_rule('all', '*', 'low')
    with pytest.raises(errors.ArchivePolicyInUse):
        indexer.delete_archive_policy('low')
    indexer.delete_archive_policy('medium')
    with pytest.raises(errors.NoSuchArchivePolicy):
        indexer.delete_archive_policy('medium')


def test_resources_keep_their_metrics_and_attribute_history(indexer):
    indexer.create_resource_type('instance', {'host': {'type': 'string', 'required': False}})
    rid, mid = str(uuid.uuid4()), str(uuid.uuid4())
    metric = indexer_mod.Metric(mid, 'low', 'u:p', rid, 'cpu', 'ns')
    indexer.create_resource('instance', rid, 'vm-1', 'u:p', 'u', 'p', {'host': 'a'},
                            metrics={'cpu': metric})
    with pytest.raises(errors.ResourceAlreadyExists):
        indexer.create_resource('instance', rid, 'vm-1', 'u:p')
    indexer.update_resource(rid, attributes={'host': 'a'})  # unchanged: no revision
    indexer.update_resource(rid, attributes={'host': 'b'})
    history = indexer.resource_history(rid)
    assert [r.attributes for r in history] == [{'host': 'a'}, {'host': 'b'}]
    assert history[0].revision_end == history[1].revision_start
    assert indexer.get_resource(rid).metrics == {'cpu': mid}
    assert indexer.archive_policies_of([mid, str(uuid.uuid4())]) == {
        mid: policy_mod.builtin_policies()['low']}


def test_a_resource_name_holds_one_metric(indexer):
    rid = str(uuid.uuid4())
    indexer.create_resource('generic', rid, rid, None)
    indexer.create_metrics([indexer_mod.Metric(str(uuid.uuid4()), 'low', None, rid, 'm', '')])
    with pytest.raises(errors.NamedMetricAlreadyExists, match='Named metric m already'):
        indexer.create_metrics([indexer_mod.Metric(str(uuid.uuid4()), 'low', None, rid,
                                                   'm', '')])


def test_unknown_resource_types_and_ids_are_named(indexer):
    with pytest.raises(errors.NoSuchResourceType, match='Resource type nope does not'):
        indexer.create_resource('nope', str(uuid.uuid4()), 'x', None)
    with pytest.raises(errors.NoSuchResource):
        indexer.get_resource(str(uuid.uuid4()))


def test_only_points_and_timespans_of_a_policy_change(indexer):
    policy = indexer.update_archive_policy('low', [{'granularity': 300, 'points': 10}], 2)
    assert (policy.points_of(300 * 10**9), policy.back_window) == (10, 2)
    assert indexer.get_archive_policy('low') == policy
    with pytest.raises(errors.UnsupportedArchivePolicyChange) as caught:
        indexer.update_archive_policy('low', [{'granularity': 60, 'points': 10}])
    assert caught.value.reason == \
        'Archive policy low does not support change: 300.0 granularity interval was changed'
    with pytest.raises(errors.UnsupportedArchivePolicyChange) as caught:
        indexer.update_archive_policy('low', [{'granularity': 300}, {'granularity': 60}])
    assert caught.value.reason == \
        'Archive policy low does not support change: Cannot add or drop granularities'


def test_an_item_without_points_is_stored_and_updated(indexer):
    policy = policy_mod.ArchivePolicy('forever', 0, None, [{'granularity': 1, 'points': 5},
                                                           {'granularity': 60}])
    indexer.create_archive_policy(policy)
    assert indexer.get_archive_policy('forever', fresh=True) == policy
    assert indexer.get_archive_policy('forever').points_of(60 * 10**9) is None
    bounded = indexer.update_archive_policy('forever', [{'granularity': 1, 'points': 5},
                                                        {'granularity': 60, 'points': 3}])
    assert indexer.get_archive_policy('forever', fresh=True).points_of(60 * 10**9) == 3
    unbounded = indexer.update_archive_policy('forever', [{'granularity': 1},
                                                          {'granularity': 60}])
    assert bounded != unbounded
    assert [p for p in indexer.list_archive_policies() if p.name == 'forever'] == [unbounded]
    assert [i.points for i in unbounded.definition] == [None, None]


def test_other_processes_see_a_policy_change_within_their_cache_time(indexer):
    url = indexer.engine.url.render_as_string(hide_password=False)
    patient = indexer_mod.Indexer(url, policy_cache_seconds=3600)
    eager = indexer_mod.Indexer(url, policy_cache_seconds=0)
    try:
        before = patient.get_archive_policy('low')
        eager.get_archive_policy('low')
        changed = indexer.update_archive_policy('low', [{'granularity': 300, 'points': 10}])
        assert changed != before
        assert patient.get_archive_policy('low') == before  # within its hour
        assert eager.get_archive_policy('low') == changed
        assert patient.get_archive_policy('low', fresh=True) == changed
        assert patient.get_archive_policy('low') == changed  # and kept from then on
        indexer.create_archive_policy(policy_mod.ArchivePolicy('gone', 0, ['mean'], [
            {'granularity': 60, 'points': 5}]))
        patient.get_archive_policy('gone')
        indexer.delete_archive_policy('gone')
        with pytest.raises(errors.NoSuchArchivePolicy):
            patient.get_archive_policy('gone', fresh=True)
        with pytest.raises(errors.NoSuchArchivePolicy):
            patient.get_archive_policy('gone')  # forgotten once found missing
    finally:
        patient.close()
        eager.close()


def test_rules_are_renamed(indexer):
    indexer.create_archive_policy_rule('a', 'x.*', 'low')
    indexer.create_archive_policy_rule('b', 'y.*', 'low')
    assert indexer.rename_archive_policy_rule('a', 'c')['metric_pattern'] == 'x.*'
    with pytest.raises(errors.ArchivePolicyRuleAlreadyExists):
        indexer.rename_archive_policy_rule('c', 'b')
    with pytest.raises(errors.NoSuchArchivePolicyRule):
        indexer.get_archive_policy_rule('a')


def test_resource_types_change_and_go_when_unused(indexer):
    indexer.create_resource_type('vm', {'a': {'type': 'string', 'required': False}})
    updated = indexer.update_resource_type('vm', {'b': {'type': 'bool', 'required': False}})
    assert list(updated['attributes']) == ['b']
    rid = str(uuid.uuid4())
    indexer.create_resource('vm', rid, rid, None)
    with pytest.raises(errors.ResourceTypeInUse):
        indexer.delete_resource_type('vm')
    indexer.delete_resource(rid)
    indexer.delete_resource_type('vm')
    with pytest.raises(errors.NoSuchResourceType):
        indexer.get_resource_type('vm')


def test_a_fill_reaches_every_revision_of_a_resource(indexer):
    indexer.create_resource_type('vm', {'a': {'type': 'string', 'required': False}})
    rid = str(uuid.uuid4())
    indexer.create_resource('vm', rid, rid, None, user_id='u1')
    indexer.update_resource(rid, user_id='u2')
    indexer.update_resource_type('vm', {'a': {'type': 'string', 'required': False},
                                        'b': {'type': 'number', 'required': True}},
                                 fill={'b': 15})
    revisions = indexer.search_resources('vm', attribute_filter={'=': {'id': rid}},
                                         history=True)
    assert [(r.user_id, r.attributes.get('b')) for r in revisions] == [('u1', 15), ('u2', 15)]


def test_deleting_a_resource_deletes_its_metrics(indexer):
    rid, mid = str(uuid.uuid4()), str(uuid.uuid4())
    indexer.create_resource('generic', rid, rid, None, metrics={
        'm': indexer_mod.Metric(mid, 'low', None, rid, 'm', '')})
    assert indexer.delete_resource(rid) == [mid]
    assert indexer.get_metrics([mid]) == {}
    with pytest.raises(errors.NoSuchResource):
        indexer.delete_resource(rid)


def test_metric_names_are_the_distinct_names_of_the_metrics(indexer):
    assert indexer.metric_names() == set()
    for name in ('cpu', 'memory'):
        rid = str(uuid.uuid4())
        indexer.create_resource('generic', rid, rid, None, metrics={
            n: indexer_mod.Metric(str(uuid.uuid4()), 'low', None, rid, n, '')
            for n in ('cpu', name)})
    indexer.create_metrics([indexer_mod.Metric(str(uuid.uuid4()), 'low', None, None, None, '')])
    assert indexer.metric_names() == {'cpu', 'memory'}


def _new_resource(indexer, rid, names=('cpu', 'memory'), resource_type='generic'):
    metrics = {n: indexer_mod.Metric(str(uuid.uuid4()), 'low', 'c', rid, n, None)
               for n in names}
    return indexer_mod.NewResource(resource_type, rid, rid, 'c', 'u', 'p', {}, metrics)


def test_many_resources_are_created_with_their_metrics_at_once(indexer):
    new = [_new_resource(indexer, str(uuid.uuid4())) for _ in range(3)]
    created = indexer.create_resources(new)
    assert [r.id for r in created] == [n.resource_id for n in new]
    found = indexer.get_resources([n.resource_id for n in new])
    for item in new:
        assert found[item.resource_id].metrics == {
            name: m.id for name, m in item.metrics.items()}
    again = [_new_resource(indexer, str(uuid.uuid4())), new[0]]
    with pytest.raises(errors.ResourceAlreadyExists):
        indexer.create_resources(again)
    assert indexer.get_resources([again[0].resource_id]) == {}  # none of them
    assert indexer.create_resources([]) == []


def _index_names(indexer):
    with indexer.engine.connect() as conn:
        if conn.dialect.name == 'sqlite':
            query = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            query = 'SELECT indexname FROM pg_indexes'
        return {row[0] for row in conn.exec_driver_sql(query)}


def _plan(indexer, search):
    """The query plan of the resource query ``search()`` runs (its first SELECT)."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))
    sa_event.listen(indexer.engine, 'before_cursor_execute', capture)
    try:
        search()
    finally:
        sa_event.remove(indexer.engine, 'before_cursor_execute', capture)
    statement, parameters = next(s for s in statements if 'FROM (SELECT' in s[0])
    with indexer.engine.connect() as conn:
        if conn.dialect.name == 'sqlite':
            rows = conn.exec_driver_sql('EXPLAIN QUERY PLAN ' + statement, parameters)
            return ' '.join(row[-1] for row in rows)
        conn.exec_driver_sql('SET enable_seqscan = off')  # small tables: as at size
        rows = conn.exec_driver_sql('EXPLAIN ' + statement, parameters)
        return ' '.join(row[0] for row in rows)


def test_searches_by_a_custom_attribute_read_its_index(indexer):
    indexer.create_resource_type('vm', {'host': {'type': 'string', 'required': False},
                                        'size': {'type': 'number', 'required': False}})
    rids = [str(uuid.uuid4()) for _ in range(6)]
    for number, rid in enumerate(rids):
        indexer.create_resource('vm', rid, rid, 'c', attributes={
            'host': 'h%d' % (number % 2), 'size': float(number)})
    names = {name: compiler.attribute_index('vm', name, kind, indexer.engine.dialect.name)
             .name for name, kind in (('host', 'string'), ('size', 'number'))}
    assert set(names.values()) <= _index_names(indexer)
    found = indexer.search_resources('vm', {'=': {'host': 'h1'}})
    assert sorted(r.id for r in found) == sorted(rids[1::2])
    assert [r.id for r in indexer.search_resources('vm', {'>=': {'size': 4}},
                                                   sort='size:desc')] == rids[:3:-1]
    assert names['host'] in _plan(indexer, lambda: indexer.search_resources(
        'vm', {'=': {'host': 'h1'}}))
    assert 'ix_resource_type_revision_start_started_at_id' in _plan(
        indexer, lambda: indexer.search_resources('vm', limit=2))
    indexer.update_resource_type('vm', {'size': {'type': 'number', 'required': False}})
    assert names['host'] not in _index_names(indexer)
    for rid in rids:
        indexer.delete_resource(rid)
    indexer.delete_resource_type('vm')
    assert names['size'] not in _index_names(indexer)
