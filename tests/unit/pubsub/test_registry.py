import pytest

from telewatch.archive.index import migration
from telewatch.pubsub import registry as registry_mod


@pytest.fixture
def registry(tmp_path):
    registry = registry_mod.SubscriptionRegistry('sqlite:///%s' % (tmp_path / 'index.sqlite'))
    migration.upgrade(registry.engine)
    return registry


def _create(registry, name='n', project_id='p', **fields):
    document = dict({'name': name, 'meters': ['cpu'], 'target': 'udp://h:1'}, **fields)
    return registry.create(document, project_id, 'u')


def test_a_subscription_round_trips(registry):
    created = _create(registry, resources=['vm-1'], projects=['p'], interval=30.0)
    assert registry.get(created['id']) == created
    assert (created['meters'], created['resources'], created['projects'], created['interval'],
            created['revision']) == (['cpu'], ['vm-1'], ['p'], 30.0, 1)


def test_names_are_unique_within_a_project(registry):
    _create(registry, 'same', 'p')
    _create(registry, 'same', 'q')
    with pytest.raises(registry_mod.SubscriptionAlreadyExists,
                       match='Subscription same already exists in this project'):
        _create(registry, 'same', 'p')


def test_list_by_project_with_pagination(registry):
    ids = sorted(_create(registry, 'n%d' % i, 'p' if i % 2 else 'q')['id'] for i in range(6))
    assert [d['id'] for d in registry.list()] == ids
    mine = [d['id'] for d in registry.list(project_id='p')]
    assert len(mine) == 3 and all(registry.get(i)['project_id'] == 'p' for i in mine)
    page = registry.list(limit=2)
    assert [d['id'] for d in page] == ids[:2]
    assert [d['id'] for d in registry.list(limit=2, marker=page[-1]['id'])] == ids[2:4]


def test_update_bumps_the_revision_and_the_fingerprint(registry):
    created = _create(registry)
    before = registry.fingerprint()
    updated = registry.update(created['id'], {'meters': ['disk.*'], 'interval': None})
    assert updated['revision'] == 2 and updated['meters'] == ['disk.*']
    assert registry.fingerprint() != before
    with pytest.raises(registry_mod.NoSuchSubscription):
        registry.update('nope', {'meters': ['cpu']})


def test_delete_removes_the_counters_too(registry):
    created = _create(registry)
    registry.add_counters('w', {created['id']: {'delivered': 1}}, {})
    registry.delete(created['id'])
    with pytest.raises(registry_mod.NoSuchSubscription, match='does not exist'):
        registry.get(created['id'])
    with pytest.raises(registry_mod.NoSuchSubscription):
        registry.delete(created['id'])
    # a worker reporting for a subscription deleted meanwhile is not an error
    registry.add_counters('w', {created['id']: {'delivered': 1}}, {created['id']: 3})
    assert registry.counters([created['id']])[created['id']]['workers'] == 0


def test_counters_add_up_over_reports_and_workers(registry):
    one, two = _create(registry, 'one')['id'], _create(registry, 'two')['id']
    registry.add_counters('w1', {one: {'delivered': 5, 'failed': 2}}, {one: 4})
    registry.add_counters('w1', {one: {'delivered': 1, 'dropped': 3}}, {one: 1})
    registry.add_counters('w2', {one: {'delivered': 10, 'skipped': 7}}, {one: 2, two: 0})
    assert registry.counters([one, two]) == {
        one: {'delivered': 16, 'dropped': 3, 'failed': 2, 'skipped': 7, 'queue_length': 3,
              'workers': 2},
        two: {'delivered': 0, 'dropped': 0, 'failed': 0, 'skipped': 0, 'queue_length': 0,
              'workers': 1}}
