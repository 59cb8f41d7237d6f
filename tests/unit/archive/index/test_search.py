"""Resource and metric searches over the archive index (SQLite here; the same tests run on
PostgreSQL in tests/functional/test_archive_search.py): every operator, sorts with nulls,
pages that neither skip nor repeat, history, deletion by query."""

import datetime
import itertools
import uuid

import pytest
import sqlalchemy as sa

from telewatch.archive import errors
from telewatch.archive import resource_ids
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.index import query
from telewatch.archive.index import search

T0 = datetime.datetime(2024, 1, 1)
HOUR = datetime.timedelta(hours=1)
IMAGE_A, IMAGE_B = str(uuid.uuid4()), str(uuid.uuid4())
SERVER = {name: {'type': kind, 'required': False} for name, kind in (
    ('host', 'string'), ('memory', 'number'), ('enabled', 'bool'), ('image', 'uuid'),
    ('booted_at', 'datetime'))}
# name: creator, project_id, custom attributes, started_at, lifespan (s) or None
FLEET = {
    'web-1': ('alice:p1', 'p1', {'host': 'Compute-1', 'memory': 8, 'enabled': True,
                                 'image': IMAGE_A, 'booted_at': '2024-01-01T00:00:00'},
              T0, 3600),
    'web-2': ('alice:p1', 'p1', {'host': 'compute-2', 'memory': 16, 'enabled': False,
                                 'image': IMAGE_B, 'booted_at': '2024-01-02T12:00:00.500000'},
              T0 + HOUR, 1.5),
    'db-1': ('bob:p2', 'p2', {'host': 'compute_1', 'memory': 32, 'enabled': True},
             T0 + 2 * HOUR, None),
    'db-2': ('bob:p2', 'p1', {}, T0 + 3 * HOUR, 86400),
    'cache': ('admin', None, {'host': 'compute-%', 'memory': 4.5}, T0 + 4 * HOUR, None),
}
ORDER = list(FLEET)  # creation order: the default sort (revision_start, started_at)
ID = {name: resource_ids.resource_uuid(name, spec[0]) for name, spec in FLEET.items()}
ID['gen-1'] = resource_ids.resource_uuid('gen-1', 'carol:p3')


@pytest.fixture
def fleet(indexer):
    """The servers of FLEET (a ``cpu`` metric each, web-1 also ``memory``), one generic
    resource, and one metric of no resource; ``{name: metric ids}``."""
    indexer.create_resource_type('server', SERVER)
    metrics = {}
    for name, (creator, project, attributes, started, lifespan) in FLEET.items():
        ended = None if lifespan is None else started + datetime.timedelta(seconds=lifespan)
        wanted = ('cpu', 'memory') if name == 'web-1' else ('cpu',)
        made = {m: indexer_mod.Metric(str(uuid.uuid4()), 'low', creator, ID[name], m,
                                      None if m == 'cpu' else 'B') for m in wanted}
        indexer.create_resource('server', ID[name], name, creator, creator.split(':')[0],
                                project, attributes, started, ended, metrics=made)
        metrics[name] = [m.id for m in made.values()]
    indexer.create_resource('generic', ID['gen-1'], 'gen-1', 'carol:p3', project_id='p3',
                            started_at=T0)
    orphan = indexer_mod.Metric(str(uuid.uuid4()), 'medium', 'carol:p3', None, 'orphan', 'B')
    indexer.create_metrics([orphan])
    metrics['orphan'] = [orphan.id]
    return metrics


def names(indexer, q=None, resource_type='server', **kwargs):
    return [r.original_resource_id
            for r in indexer.search_resources(resource_type, q, **kwargs)]


def by_id(*wanted):
    return sorted(wanted, key=ID.get)


@pytest.mark.parametrize('q, expected', [
    ({'=': {'host': 'compute-2'}}, ['web-2']),
    # a missing value differs from any value (Gnocchi's ne)
    ({'!=': {'host': 'compute-2'}}, ['web-1', 'db-1', 'db-2', 'cache']),
    ({'<': {'memory': 16}}, ['web-1', 'cache']),
    ({'≤': {'memory': 16}}, ['web-1', 'web-2', 'cache']),
    ({'gt': {'memory': 16}}, ['db-1']),
    ({'>=': {'memory': '16'}}, ['web-2', 'db-1']),
    ({'in': {'memory': [8, 32]}}, ['web-1', 'db-1']),
    ({'=': {'memory': 4.5}}, ['cache']),
    ({'=': {'enabled': True}}, ['web-1', 'db-1']),
    ({'=': {'enabled': 'false'}}, ['web-2']),
    ({'=': {'enabled': None}}, ['db-2', 'cache']),
    ({'>': {'enabled': False}}, ['web-1', 'db-1']),
    ({'in': {'enabled': [True, None]}}, ['web-1', 'db-1']),  # SQL: IN never matches null
    ({'<': {'memory': None}}, []),
    ({'not': {'<': {'memory': None}}}, []),  # SQL: NOT of unknown is unknown
    ({'=': {'image': IMAGE_A.replace('-', '').upper()}}, ['web-1']),
    ({'in': {'image': [IMAGE_A, IMAGE_B]}}, ['web-1', 'web-2']),
    ({'>': {'booted_at': '2024-01-02'}}, ['web-2']),
    ({'<': {'booted_at': '2024-01-02T12:00:00.500001'}}, ['web-1', 'web-2']),
    ({'=': {'booted_at': '2024-01-01T01:00:00+01:00'}}, ['web-1']),
    ({'like': {'host': 'compute-%'}}, ['web-2', 'cache']),
    ({'like': {'host': 'c_mpute-2'}}, ['web-2']),
    ({'like': {'host': 'compute-\\%'}}, ['cache']),
    ({'like': {'host': '%PUTE%'}}, []),
    ({'like': {'original_resource_id': 'web%'}}, ['web-1', 'web-2']),
    ({'=': {'project_id': 'p1'}}, ['web-1', 'web-2', 'db-2']),
    ({'=': {'project_id': None}}, ['cache']),
    ({'=': {'user_id': 'bob'}}, ['db-1', 'db-2']),
    ({'=': {'creator': 'admin'}}, ['cache']),
    ({'=': {'id': ID['db-1']}}, ['db-1']),
    ({'=': {'original_resource_id': 'db-1'}}, ['db-1']),
    ({'>=': {'started_at': (T0 + 2 * HOUR).isoformat()}}, ['db-1', 'db-2', 'cache']),
    ({'=': {'ended_at': None}}, ['db-1', 'cache']),
    ({'=': {'revision_end': None}}, ORDER),
    ({'>=': {'revision_start': '2000-01-01T00:00:00'}}, ORDER),
    ({'=': {'created_by_user_id': 'bob'}}, ['db-1', 'db-2']),
    ({'=': {'created_by_project_id': 'p1'}}, ['web-1', 'web-2']),
    ({'=': {'created_by_user_id': 'admin'}}, ['cache']),
    ({'=': {'created_by_project_id': ''}}, ['cache']),
    ({'!=': {'created_by_project_id': 'p1'}}, ['db-1', 'db-2', 'cache']),
    ({'like': {'created_by_user_id': 'al%'}}, ['web-1', 'web-2']),
    ({'in': {'created_by_project_id': ['p2', 'p9']}}, ['db-1', 'db-2']),
    ({'=': {'lifespan': 1.5}}, ['web-2']),
    ({'>': {'lifespan': 1.5}}, ['web-1', 'db-2']),
    ({'>=': {'lifespan': 3600}}, ['web-1', 'db-2']),
    ({'<': {'lifespan': 3600}}, ['web-2']),
    ({'=': {'lifespan': None}}, ['db-1', 'cache']),
    ({'and': [{'=': {'project_id': 'p1'}}, {'=': {'enabled': True}}]}, ['web-1']),
    ({'∨': [{'=': {'host': 'compute-2'}}, {'>': {'memory': 16}}]}, ['web-2', 'db-1']),
    ({'not': {'=': {'project_id': 'p1'}}}, ['db-1']),  # SQL: a null project is neither
    (query.parse_filter_string('not (host!="compute-2" and memory>=8)'), ['web-2', 'cache']),
    (query.parse_filter_string('host like "compute%" ∧ memory<10 ∨ lifespan>80000'),
     ['db-2', 'cache']),
])
def test_every_operator(indexer, fleet, q, expected):
    assert names(indexer, q) == expected


def test_ids_are_derived_with_the_requests_creator(indexer, fleet):
    assert names(indexer, {'=': {'id': 'web-1'}}, creator='alice:p1') == ['web-1']
    assert names(indexer, {'=': {'id': 'web-1'}}, creator='bob:p2') == []


def test_generic_lists_every_type_and_another_type_only_its_own(indexer, fleet):
    assert names(indexer, resource_type='generic') == ORDER + ['gen-1']
    assert names(indexer, {'=': {'type': 'server'}}, 'generic') == ORDER
    assert 'gen-1' not in names(indexer)


def test_resources_come_with_their_metrics_in_one_more_query(indexer, fleet):
    statements = []
    sa.event.listen(indexer.engine, 'before_cursor_execute',
                    lambda *args: statements.append(args[2]))
    found = indexer.search_resources('generic')
    assert len(statements) == 2
    metrics = {r.original_resource_id: r.metrics for r in found}
    assert metrics['gen-1'] == {}
    assert set(metrics['web-1']) == {'cpu', 'memory'}
    assert sorted(metrics['web-1'].values()) == sorted(fleet['web-1'])
    assert found[0].attributes == FLEET['web-1'][2]
    assert found[0].revision_end is None and not hasattr(found[0], 'revision')


def test_the_attribute_filter_is_anded(indexer, fleet):
    scope = {'or': [{'=': {'created_by_project_id': 'p1'}}, {'=': {'project_id': 'p1'}}]}
    assert names(indexer, attribute_filter=scope) == ['web-1', 'web-2', 'db-2']
    assert names(indexer, {'>=': {'memory': 16}}, attribute_filter=scope) == ['web-2']


@pytest.mark.parametrize('call, error, text', [
    (lambda ix: names(ix, {'=': {'host': 'a'}}, 'generic'), query.UnknownAttribute,
     'Resource type generic has no host attribute'),
    (lambda ix: names(ix, resource_type='nope'), errors.NoSuchResourceType,
     'Resource type nope does not exist'),
    (lambda ix: names(ix, sort=['nope:asc']), query.InvalidPagination,
     'Sort key supplied is invalid: nope:asc'),
    (lambda ix: names(ix, marker=str(uuid.uuid4())), query.InvalidPagination,
     'Invalid marker'),
    (lambda ix: names(ix, marker=ID['gen-1']), query.InvalidPagination, 'Invalid marker'),
    (lambda ix: names(ix, marker=ID['web-1'] + '@3'), query.InvalidPagination,
     'Invalid marker'),
    (lambda ix: names(ix, limit=0), query.InvalidPagination, 'Invalid limit: 0'),
    (lambda ix: names(ix, limit='x'), query.InvalidPagination, 'Invalid limit: x'),
])
def test_errors(indexer, fleet, call, error, text):
    with pytest.raises(error, match=text):
        call(indexer)


def test_limit_is_clamped_to_the_maximum(indexer, fleet):
    assert names(indexer, limit=100, max_limit=2) == ORDER[:2]
    assert names(indexer, max_limit=3) == ORDER[:3]


@pytest.mark.parametrize('sort, expected', [
    (['memory:asc'], ['cache', 'web-1', 'web-2', 'db-1', 'db-2']),
    (['memory:desc'], ['db-2', 'db-1', 'web-2', 'web-1', 'cache']),
    (['memory:asc-nullsfirst'], ['db-2', 'cache', 'web-1', 'web-2', 'db-1']),
    (['memory:desc-nullslast'], ['db-1', 'web-2', 'web-1', 'cache', 'db-2']),
    (['started_at:desc'], ORDER[::-1]),
    (['lifespan:desc'], by_id('db-1', 'cache') + ['db-2', 'web-1', 'web-2']),
    (['booted_at'], ['web-1', 'web-2'] + by_id('db-1', 'db-2', 'cache')),
    (['enabled:desc-nullslast', 'memory:desc'], ['db-1', 'web-1', 'web-2', 'db-2', 'cache']),
    (['created_by_user_id:asc', 'original_resource_id:desc'],
     ['cache', 'web-2', 'web-1', 'db-2', 'db-1']),
    (['project_id:asc-nullsfirst', 'id'], ['cache'] + by_id('web-1', 'web-2', 'db-2')
     + ['db-1']),
])
def test_sorts(indexer, fleet, sort, expected):
    assert names(indexer, sort=sort) == expected


def pages(indexer, resource_type='server', limit=2, **kwargs):
    """Every page of a search, following markers; asserts no page is longer than limit."""
    seen, marker = [], None
    while True:
        page = indexer.search_resources(resource_type, limit=limit, marker=marker,
                                        **kwargs)
        assert len(page) <= limit
        seen += page
        if len(page) < limit:
            return seen
        marker = search.marker_of(page[-1])


@pytest.mark.parametrize('sort', [
    [], ['memory:asc'], ['memory:desc'], ['memory:asc-nullsfirst'], ['enabled', 'host:desc'],
    ['enabled:desc-nullslast'], ['lifespan:asc'], ['created_by_project_id'], ['id:desc'],
    ['booted_at:desc-nullslast', 'type'],
])
@pytest.mark.parametrize('limit', [1, 2, 3])
def test_pages_neither_skip_nor_repeat(indexer, fleet, sort, limit):
    everything = names(indexer, sort=sort)
    assert sorted(everything) == sorted(ORDER)
    assert [r.original_resource_id for r in pages(indexer, sort=sort, limit=limit)] == everything


def test_pages_of_a_query(indexer, fleet):
    q = {'!=': {'original_resource_id': 'db-1'}}
    found = pages(indexer, limit=1, query=q, sort=['memory:desc'])
    assert [r.original_resource_id for r in found] == ['db-2', 'web-2', 'web-1', 'cache']


def test_a_marker_need_not_match_the_query(indexer, fleet):
    assert names(indexer, {'=': {'project_id': 'p1'}}, marker=ID['db-1']) == ['db-2']


@pytest.fixture
def history(indexer, fleet):
    """web-1 changed twice (host, then memory) and db-1 once (ended)."""
    first = FLEET['web-1'][2]
    indexer.update_resource(ID['web-1'], attributes=dict(first, host='compute-9'))
    indexer.update_resource(ID['web-1'], attributes=dict(first, host='compute-9', memory=64))
    indexer.update_resource(ID['db-1'], ended_at=T0 + 5 * HOUR)


def test_history_searches_every_revision(indexer, history):
    assert names(indexer, {'=': {'host': 'Compute-1'}}) == []
    old = indexer.search_resources('server', {'=': {'host': 'Compute-1'}},
                                   history=True)
    assert [(r.original_resource_id, r.attributes['memory']) for r in old] == [('web-1', 8)]
    assert old[0].revision != search.CURRENT_REVISION and old[0].revision_end is not None
    revisions = indexer.search_resources('server', {'=': {'id': ID['web-1']}},
                                         history=True)
    assert [(r.attributes['host'], r.attributes['memory']) for r in revisions] == [
        ('Compute-1', 8), ('compute-9', 8), ('compute-9', 64)]
    assert [r.revision for r in revisions][-1] == search.CURRENT_REVISION
    assert revisions[0].revision_end == revisions[1].revision_start
    assert all(sorted(r.metrics.values()) == sorted(history_metrics(indexer))
               for r in revisions)
    current = names(indexer, {'=': {'revision_end': None}}, history=True)
    assert current == names(indexer)


def history_metrics(indexer):
    return list(indexer.get_resource(ID['web-1']).metrics.values())


def test_history_lifespan_is_per_revision(indexer, history):
    # db-1's current revision (ended) started after db-2's: revision_start orders them
    assert names(indexer, {'>': {'lifespan': 10000}}, history=True) == ['db-2', 'db-1']


def test_history_pages_use_id_at_revision_markers(indexer, history):
    for resource_type, sort, count in (('generic', [], 9),
                                       ('generic', ['id:asc', 'ended_at:desc-nullslast'], 9),
                                       ('server', ['memory:desc'], 8)):
        everything = indexer.search_resources(resource_type, sort=sort, history=True)
        assert len(everything) == count
        for limit in (1, 2, 4):
            assert pages(indexer, resource_type, limit, sort=sort, history=True) == everything
    markers = [search.marker_of(r) for r in everything]
    assert all('@' in m for m in markers) and len(set(markers)) == len(markers)
    db1 = {r.revision == search.CURRENT_REVISION: r.ended_at
           for r in everything if r.original_resource_id == 'db-1'}
    assert db1 == {True: T0 + 5 * HOUR, False: None}


def test_a_current_revision_marker_survives_a_change(indexer, history):
    page = indexer.search_resources('server', {'=': {'id': ID['web-1']}},
                                    history=True)
    marker = search.marker_of(page[-1])
    assert marker == search.history_marker(page[-1]) == ID['web-1'] + '@-1'
    indexer.update_resource(ID['web-1'], project_id='p9')
    every = indexer.search_resources('server', sort=['id'], history=True)
    after = every.index(next(r for r in every if search.marker_of(r) == marker)) + 1
    assert len(every) == len(FLEET) + 4 and after < len(every)
    assert indexer.search_resources('server', sort=['id'], history=True,
                                    marker=marker) == every[after:]
    assert names(indexer, marker=ID['web-1'] + '@-1', sort=['id']) == [
        name for name in by_id(*ORDER) if ID[name] > ID['web-1']]
    for bad in (ID['web-1'] + '@999999', ID['web-1'] + '@x', 'nope'):
        with pytest.raises(query.InvalidPagination, match='Invalid marker'):
            names(indexer, history=True, marker=bad)


def test_delete_resources_takes_history_and_metrics(indexer, fleet, history):
    deleted = indexer.delete_resources('server', {'=': {'project_id': 'p1'}})
    gone = ('web-1', 'web-2', 'db-2')
    assert deleted.count == 3
    assert sorted(deleted.metric_ids) == sorted(itertools.chain(*[fleet[n] for n in gone]))
    assert indexer.get_metrics(deleted.metric_ids) == {}
    assert names(indexer, history=True) == ['db-1', 'cache', 'db-1']
    assert len(indexer.get_metrics(fleet['db-1'] + fleet['orphan'])) == 2


def test_delete_resources_respects_type_query_and_filter(indexer, fleet):
    assert indexer.delete_resources('server', {'=': {'creator': 'carol:p3'}}) == (
        0, [])
    deleted = indexer.delete_resources('server', {'like': {'original_resource_id':
                                                           'db%'}},
                                       attribute_filter={'=': {'project_id': 'p2'}})
    assert (deleted.count, deleted.metric_ids) == (1, fleet['db-1'])
    assert indexer.delete_resources('generic', {'like': {
        'original_resource_id': 'gen%'}}).count == 1
    assert names(indexer, resource_type='generic') == ['web-1', 'web-2', 'db-2', 'cache']


@pytest.mark.parametrize('empty', [None, {}])
def test_delete_resources_needs_a_query(indexer, fleet, empty):
    with pytest.raises(query.InvalidQuery, match='can not be empty'):
        indexer.delete_resources('generic', empty)
    assert len(names(indexer, resource_type='generic')) == 6


def metric_names(indexer, **kwargs):
    return sorted((m.name, m.creator) for m in indexer.search_metrics(**kwargs))


@pytest.mark.parametrize('filters, expected', [
    ({'name': 'orphan'}, [('orphan', 'carol:p3')]),
    ({'archive_policy_name': 'medium'}, [('orphan', 'carol:p3')]),
    ({'unit': 'B', 'name': 'memory'}, [('memory', 'alice:p1')]),
    ({'creator': 'admin'}, [('cpu', 'admin')]),
    ({'user_id': 'bob'}, [('cpu', 'bob:p2'), ('cpu', 'bob:p2')]),
    ({'project_id': 'p1'}, [('cpu', 'alice:p1'), ('cpu', 'alice:p1'), ('memory', 'alice:p1')]),
    ({'user_id': 'alice', 'project_id': 'p2'}, []),
    ({'status': 'delete'}, []),
])
def test_metric_filters(indexer, fleet, filters, expected):
    assert metric_names(indexer, filters=filters) == expected


def test_metric_filter_by_id_and_project_scope(indexer, fleet):
    assert [m.id for m in indexer.search_metrics(
        {'id': fleet['db-1'][0]})] == fleet['db-1']
    assert metric_names(indexer, project_scope='p3') == [('orphan', 'carol:p3')]
    scoped = metric_names(indexer, project_scope='p1')  # p1's own, and those of db-2
    assert scoped == [('cpu', 'alice:p1'), ('cpu', 'alice:p1'), ('cpu', 'bob:p2'),
                      ('memory', 'alice:p1')]


def test_metric_pages(indexer, fleet):
    every_id = sorted(itertools.chain(*fleet.values()))
    assert [m.id for m in indexer.search_metrics()] == every_id
    for sort in ([], ['unit:desc'], ['unit:asc', 'name:desc'], ['resource_id:asc-nullsfirst']):
        everything = indexer.search_metrics(sort=sort)
        assert sorted(m.id for m in everything) == every_id
        for limit in (1, 3):
            seen, marker = [], None
            while True:
                page = indexer.search_metrics(sort=sort, limit=limit, marker=marker)
                seen += page
                if len(page) < limit:
                    break
                marker = search.marker_of(page[-1])
            assert seen == everything


@pytest.mark.parametrize('kwargs, error, text', [
    ({'filters': {'color': 'red'}}, query.InvalidQuery, 'Unknown metric filters: color'),
    ({'filters': {'status': 'gone'}}, query.InvalidValue, "Invalid value: `gone'"),
    ({'sort': ['name:sideways']}, query.InvalidPagination, 'Unknown sort direction'),
    ({'sort': ['archive_policy']}, query.InvalidPagination, 'Sort key supplied is invalid'),
    ({'marker': str(uuid.uuid4())}, query.InvalidPagination, 'Invalid marker'),
    ({'limit': -2}, query.InvalidPagination, 'Invalid limit'),
])
def test_metric_errors(indexer, fleet, kwargs, error, text):
    with pytest.raises(error, match=text):
        indexer.search_metrics(**kwargs)
