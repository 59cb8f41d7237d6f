"""The lifecycle keys of archive_resources.yaml: Nova's, Glance's and Cinder's notifications
become Creations and Endings through the shipped file (invalid files are golden cases under
tests/cases/invalid_archive_resources, run by test_resource_mapping)."""

import datetime
import json
import pathlib

from telewatch.publishers import resource_events
from telewatch.publishers import resource_mapping

REPO = pathlib.Path(__file__).resolve().parents[3]
SHIPPED = REPO / 'etc' / 'archive_resources.yaml'
NOVA = json.loads((REPO / 'tests' / 'functional' / 'data'
                   / 'nova-instance-lifecycle.json').read_text())
UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
INSTANCE = '9d3c8a0e-5d6c-4b1f-a0b2-3c4d5e6f7a8b'


def nova(event_type, timestamp='2026-12-07 09:31:07.123456'):
    """A notification as the agent reads it (oslo.messaging's timestamp: naive UTC)."""
    payload = dict(NOVA[event_type.replace('delete.end', 'delete.start').replace(
        'update', 'create.end')], instance_id=INSTANCE)
    return {'event_type': event_type, 'publisher_id': 'compute.cmp-07', 'payload': payload,
            'timestamp': timestamp, 'message_id': 'm-1'}


def shipped():
    return resource_mapping.ResourceMapping.load(str(SHIPPED))


def test_nova_create_end_creates_the_instance_at_the_notification_time():
    actions, skipped = shipped().events.actions([nova('compute.instance.create.end')], NOW)
    assert not skipped
    assert actions == [resource_events.Creation(
        'instance', INSTANCE, '0f5b2a3c1d4e4f6a8b9c0d1e2f3a4b5c',
        '6c2a5fd6a3ac4c6e9ab6f5b39c3f5e21',
        {'host': 'cmp-07', 'image_ref': '155d900f-4e14-4e4c-a73d-069cbf4541e6',
         'launched_at': '2026-12-07T09:31:06.000000', 'created_at': '2026-12-07 09:30:41+00:00',
         'display_name': 'web-01', 'flavor_id': '2', 'flavor_name': 'm1.small',
         # Heat's metadata key, with its dot: read from the event, never from samples.
         'server_group': '2f8e1b6c-4b1a-4d2e-9c51-7a3d6f0e8b42'},
        datetime.datetime(2026, 12, 7, 9, 31, 7, 123456, tzinfo=UTC))]


def test_nova_delete_start_ends_the_instance_with_its_disks_and_interfaces():
    """Just after the notification: its own samples are measures at its time."""
    actions, _ = shipped().events.actions([nova('compute.instance.delete.start')], NOW)
    assert actions == [resource_events.Ending(
        'instance', INSTANCE, datetime.datetime(2026, 12, 7, 9, 31, 7, 123457, tzinfo=UTC),
        (('instance_disk', 'instance_id'), ('instance_network_interface', 'instance_id')))]


def test_events_no_definition_names_or_without_id_are_counted_and_left_out():
    events = [nova('compute.instance.update'), nova('compute.instance.delete.end'),
              {'event_type': 'compute.instance.delete.start', 'payload': {}},
              {'event_type': None}, nova('compute.instance.create.end')]
    actions, skipped = shipped().events.actions(events, NOW)
    assert skipped == {'no_definition': 3, 'missing_id': 1}
    assert [type(action).__name__ for action in actions] == ['Creation']


def test_an_event_without_a_readable_time_happens_now():
    actions, _ = shipped().events.actions(
        [nova('compute.instance.delete.start', timestamp='yesterday'),
         dict(nova('compute.instance.delete.start'), timestamp=None)], NOW)
    assert [action.ended_at for action in actions] == [NOW + resource_events.AFTER] * 2


def test_glance_and_cinder_events():
    mapping = shipped()
    image = {'event_type': 'image.create', 'timestamp': '2026-12-07T10:00:00Z',
             'payload': {'id': 'img-1', 'owner': 'p-1', 'name': 'cirros', 'status': 'queued',
                         'container_format': 'bare', 'disk_format': 'qcow2', 'size': None}}
    volume = {'event_type': 'volume.delete.start', 'timestamp': '2026-12-07T11:00:00+01:00',
              'payload': {'volume_id': 'vol-1', 'tenant_id': 'p-1', 'size': 1}}
    actions, _ = mapping.events.actions([image, volume], NOW)
    assert actions == [
        resource_events.Creation('image', 'img-1', None, 'p-1', {
            'name': 'cirros', 'container_format': 'bare', 'disk_format': 'qcow2'},
            datetime.datetime(2026, 12, 7, 10, tzinfo=UTC)),
        resource_events.Ending('volume', 'vol-1', datetime.datetime(2026, 12, 7, 10, 0, 0, 1,
                                                                    tzinfo=UTC), ())]
    assert mapping.events.handles('image.delete')
    assert not mapping.events.handles('image.upload')


def test_first_definition_in_file_order_wins_and_exclusions_apply():
    mapping = resource_mapping.ResourceMapping.from_dict({'resource_types': {
        'instance': {'metrics': {'cpu': None}, 'event_delete': ['compute.*', '!compute.x'],
                     'event_attributes': {'id': '$.payload.id',
                                          'display_name': '$.payload.name'}},
        'volume': {'metrics': {'volume.size': None}, 'event_create': 'compute.*',
                   'event_attributes': {'id': '$.payload.other'}}}})
    assert mapping.events.match('compute.y')[1] == resource_events.DELETE
    assert mapping.events.match('compute.y')[0].resource_type == 'instance'
    assert mapping.events.match('compute.x')[0].resource_type == 'volume'
    # An attribute event_attributes alone names belongs to the type too.
    assert mapping.resource_types() == {'instance': ['display_name'], 'volume': []}


def test_shipped_types_keep_their_attributes():
    """The lifecycle adds no attribute to the shipped types: archives made before it need
    no change of their resource types."""
    types = shipped().resource_types()
    assert types['instance'] == ['host', 'image_ref', 'launched_at', 'created_at',
                                 'deleted_at', 'display_name', 'flavor_id', 'flavor_name',
                                 'server_group']
    assert types['image'] == ['name', 'container_format', 'disk_format']
