"""The archive publisher on the embedded store (SQLite index, file storage) in a temporary
data directory, with the shipped archive_resources.yaml."""

import pathlib

import pytest

from telewatch import sample as sample_mod
from telewatch import service
from telewatch.archive import resource_ids
from telewatch.archive import store as store_mod
from telewatch.publishers import archive
from telewatch.publishers import base
from tests.unit.archive import reading

REPO = pathlib.Path(__file__).resolve().parents[3]
INSTANCE = 'a4b1c0de-0000-4000-8000-000000000001'
T0 = '2024-01-01T10:00:00+00:00'
T1 = '2024-01-01T10:05:00+00:00'


@pytest.fixture
def conf(tmp_path):
    conf = service.prepare_service(['--config-dir', str(REPO / 'etc')])
    conf.set_override('data_dir', str(tmp_path))
    return conf


@pytest.fixture
def publisher(conf):
    publisher = archive.ArchivePublisher(base.PublisherURL('archive://'), conf)
    publisher.start()
    yield publisher
    publisher.stop()


def instance_samples(timestamp, host='node-1', cpu=1e9):
    metadata = {'instance_host': host, 'instance_type': 'm1.small', 'display_name': 'vm'}
    disk = dict(metadata, disk_name='vda', instance_id=INSTANCE)
    return [
        sample_mod.Sample.create('cpu', 'cumulative', 'ns', cpu, INSTANCE, timestamp,
                                 'u1', 'p1', metadata),
        sample_mod.Sample.create('memory.usage', 'gauge', 'MB', 512.0, INSTANCE, timestamp,
                                 'u1', 'p1', metadata),
        sample_mod.Sample.create('disk.device.read.bytes', 'cumulative', 'B', 4096.0,
                                 INSTANCE + '-vda', timestamp, 'u1', 'p1', disk),
        sample_mod.Sample.create('not.mapped', 'gauge', 'x', 1.0, INSTANCE, timestamp),
    ]


def read(conf, metric_id):
    store = store_mod.ArchiveStore.from_conf(conf)
    try:
        return [(str(t), g, v) for t, g, v in reading.measures(store, metric_id, refresh=True)]
    finally:
        store.close()


def test_samples_become_resources_metrics_and_measures(conf, publisher):
    publisher.publish(instance_samples(T0))
    publisher.publish(instance_samples(T1, cpu=4e9))
    indexer = publisher.store.index
    instance = indexer.get_resource(INSTANCE)
    assert (instance.type, instance.user_id, instance.project_id, instance.creator) == (
        'instance', 'u1', 'p1', 'telewatch')
    assert instance.attributes == {'host': 'node-1', 'flavor_name': 'm1.small',
                                   'display_name': 'vm'}
    assert set(instance.metrics) == {'cpu', 'memory.usage'}
    policies = {m.name: m.archive_policy_name
                for m in indexer.get_metrics(instance.metrics.values()).values()}
    assert policies == {'cpu': 'ceilometer-low-rate', 'memory.usage': 'ceilometer-low'}
    # Not a UUID: the id Gnocchi would give it for this creator.
    disk_id = resource_ids.resource_uuid(INSTANCE + '-vda', 'telewatch')
    disk = indexer.get_resource(disk_id)
    assert (disk.type, disk.original_resource_id) == ('instance_disk', INSTANCE + '-vda')
    assert disk.attributes == {'name': 'vda', 'instance_id': INSTANCE}
    assert publisher.unmapped == {'not.mapped': 2}
    assert read(conf, instance.metrics['cpu']) == [
        ('2024-01-01T10:00:00.000000000', 300.0, 1e9),
        ('2024-01-01T10:05:00.000000000', 300.0, 4e9)]


def test_changed_attributes_update_the_resource_and_keep_its_history(conf, publisher):
    publisher.publish(instance_samples(T0, host='node-1'))
    publisher.publish(instance_samples(T1, host='node-1'))
    publisher.publish(instance_samples(T1, host='node-2'))
    history = publisher.store.index.resource_history(INSTANCE)
    assert [r.attributes['host'] for r in history] == ['node-1', 'node-2']


def test_a_second_writer_finds_what_the_first_created(conf, publisher):
    publisher.publish(instance_samples(T0))
    other = archive.ArchivePublisher(base.PublisherURL('archive://?creator=telewatch'), conf)
    other.start()
    try:
        other.publish(instance_samples(T1, cpu=2e9))
        metrics = other.store.index.get_resource(INSTANCE).metrics
    finally:
        other.stop()
    assert [v for _, _, v in read(conf, metrics['cpu'])] == [1e9, 2e9]


def test_the_policy_option_overrides_the_mapping(conf):
    publisher = archive.ArchivePublisher(
        base.PublisherURL('archive://?archive_policy=high'), conf)
    publisher.start()
    try:
        publisher.publish(instance_samples(T0))
        metrics = publisher.store.index.get_resource(INSTANCE).metrics
        found = publisher.store.index.get_metrics(metrics.values())
    finally:
        publisher.stop()
    assert {m.archive_policy_name for m in found.values()} == {'high'}


def test_an_unreachable_index_is_retryable(conf, tmp_path):
    conf.set_override('index_url', 'sqlite:///%s/missing/dir/index.sqlite' % tmp_path,
                      group='archive')
    publisher = archive.ArchivePublisher(base.PublisherURL('archive://'), conf)
    with pytest.raises(base.RetryablePublishError, match='archive index'):
        publisher.start()


# -- events: resources start and end ----------------------------------------------------------

def nova_event(event_type, timestamp, instance=INSTANCE):
    payload = {'instance_id': instance, 'tenant_id': 'p1', 'user_id': 'u1',
               'display_name': 'vm', 'instance_type': 'm1.small', 'host': 'node-1',
               'instance_flavor_id': 2, 'image_meta': {'base_image_ref': 'img'}}
    return {'event_type': event_type, 'timestamp': timestamp, 'payload': payload,
            'publisher_id': 'compute.node-1', 'message_id': 'm'}


def resource(publisher, original_id):
    return publisher.store.index.get_resource(
        resource_ids.resource_uuid(original_id, 'telewatch'))


def test_create_event_creates_the_instance_at_the_notification_time(publisher):
    assert publisher.handles_event('compute.instance.create.end')
    assert not publisher.handles_event('compute.instance.update')
    publisher.publish_events([nova_event('compute.instance.create.end',
                                         '2024-01-01 09:59:00.5')])
    found = resource(publisher, INSTANCE)
    assert (found.type, found.user_id, found.project_id) == ('instance', 'u1', 'p1')
    assert str(found.started_at) == '2024-01-01 09:59:00.500000'
    assert found.ended_at is None
    # Numbers become the attribute's text, as the gnocchi publisher sends them.
    assert found.attributes == {'display_name': 'vm', 'flavor_name': 'm1.small',
                                'host': 'node-1', 'flavor_id': '2', 'image_ref': 'img'}
    # Samples of it go on feeding the same resource.
    publisher.publish(instance_samples(T0))
    assert resource(publisher, INSTANCE).metrics.keys() == {'cpu', 'memory.usage'}


def test_a_create_event_after_the_samples_moves_the_start_back(publisher):
    publisher.publish(instance_samples(T0))
    assert resource(publisher, INSTANCE).started_at.year > 2024  # when it was archived
    event = nova_event('compute.instance.create.end', '2024-01-01T09:59:00Z')
    publisher.publish_events([event])
    assert str(resource(publisher, INSTANCE).started_at) == '2024-01-01 09:59:00'
    publisher.publish_events([dict(event, timestamp='2024-01-01T09:59:30Z')])  # no later
    assert str(resource(publisher, INSTANCE).started_at) == '2024-01-01 09:59:00'


def test_the_server_group_of_the_event_stays_whatever_the_samples_say(publisher):
    """Nova's metadata (Heat's metering.server_group) comes only with the event: samples
    before and after it, which carry no user_metadata, neither lose nor wipe it."""
    publisher.publish(instance_samples(T0))
    event = nova_event('compute.instance.create.end', '2024-01-01T09:59:00Z')
    event['payload']['metadata'] = {'metering.server_group': 'stack-1'}
    publisher.publish_events([event])
    assert resource(publisher, INSTANCE).attributes['server_group'] == 'stack-1'
    publisher.publish(instance_samples(T1, host='node-2'))  # a change: an update
    found = resource(publisher, INSTANCE).attributes
    assert (found['host'], found['server_group']) == ('node-2', 'stack-1')


def test_delete_event_ends_the_instance_its_disks_and_interfaces_once(publisher):
    publisher.publish_events([nova_event('compute.instance.create.end', '2024-01-01T09:00Z'),
                              nova_event('compute.instance.create.end', '2024-01-01T09:00Z',
                                         'other')])
    publisher.publish(instance_samples(T0))
    nic = sample_mod.Sample.create(
        'network.incoming.bytes', 'cumulative', 'B', 1.0, 'tap-1', T0,
        resource_metadata={'instance_id': INSTANCE, 'vnic_name': 'tap-1'})
    other_disk = sample_mod.Sample.create(
        'disk.device.read.bytes', 'cumulative', 'B', 1.0, 'other-vda', T0,
        resource_metadata={'instance_id': 'other', 'disk_name': 'vda'})
    publisher.publish([nic, other_disk])
    delete = nova_event('compute.instance.delete.start', '2024-01-01T11:00:00Z')
    publisher.publish_events([delete])
    ended = {rid: resource(publisher, rid).ended_at
             for rid in (INSTANCE, INSTANCE + '-vda', 'tap-1', 'other', 'other-vda')}
    # The disk and the interface started when archived (today): they end then, not before.
    assert str(ended[INSTANCE]) == '2024-01-01 11:00:00.000001'
    assert ended[INSTANCE + '-vda'] == resource(publisher, INSTANCE + '-vda').started_at
    assert ended['tap-1'] == resource(publisher, 'tap-1').started_at
    assert ended['other'] is None and ended['other-vda'] is None
    # Delivered again (or a later delete.end): an ended resource keeps its end.
    publisher.publish_events([dict(delete, timestamp='2024-01-01T12:00:00Z')])
    assert str(resource(publisher, INSTANCE).ended_at) == '2024-01-01 11:00:00.000001'


def test_events_of_unknown_resources_change_nothing_and_unnamed_ones_are_counted(publisher):
    publisher.publish_events([nova_event('compute.instance.delete.start', T0, 'nobody'),
                              {'event_type': 'compute.instance.delete.start', 'payload': {}}])
    assert publisher.events_skipped == {'missing_id': 1}
    assert publisher.store.index.search_resources('instance') == []


def test_measures_of_known_metrics_are_written_before_new_resources_are_made(publisher):
    publisher.publish(instance_samples(T0))
    known = set(publisher.store.index.get_resource(INSTANCE).metrics.values())
    newcomer = 'a4b1c0de-0000-4000-8000-000000000002'
    steps = []
    ensure, add = publisher.store.ensure_metrics, publisher.store.add_measures
    publisher.store.ensure_metrics = lambda *a: steps.append('create') or ensure(*a)
    publisher.store.add_measures = lambda m: steps.append(set(m)) or add(m)
    publisher.publish(instance_samples(T1)[:2] + [sample_mod.Sample.create(
        'cpu', 'cumulative', 'ns', 1.0, newcomer, T1, 'u1', 'p1', {})])
    new = set(publisher.store.index.get_resource(newcomer).metrics.values())
    assert steps == [known, 'create', new]
    assert publisher.archived == 2 + 3 + 1  # (the disk's measure was new the first time)
