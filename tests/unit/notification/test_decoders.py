"""Other services' notifications: samples through meters.yaml, and an Event for the
publishers that take its type (resource lifecycles), after the samples."""

import pathlib

from telewatch.notification import decoders
from telewatch.notification import meter_definitions

REPO = pathlib.Path(__file__).resolve().parents[3]
DEFINITIONS = meter_definitions.load_definitions(str(REPO / 'etc' / 'meters.yaml'))
PAYLOAD = {'instance_id': 'vm-1', 'tenant_id': 'p-1', 'user_id': 'u-1', 'memory_mb': 512,
           'vcpus': 1, 'root_gb': 1, 'ephemeral_gb': 0, 'host': 'cmp-1'}


def message(event_type, payload=PAYLOAD):
    return {'event_type': event_type, 'publisher_id': 'compute.cmp-1', 'payload': payload,
            'metadata': {'timestamp': '2026-12-07 09:31:07.123456', 'message_id': 'm-1'}}


def test_a_wanted_notification_is_an_event_after_its_samples():
    decode = decoders.NotificationDecoder(lambda: DEFINITIONS,
                                          lambda event_type: event_type.endswith('.start'))
    records, refused = decode(message('compute.instance.delete.start'))
    assert refused == []
    assert [r.name for r in records[:-1]] == ['instance', 'memory', 'vcpus', 'disk.root.size',
                                              'disk.ephemeral.size']
    event = records[-1]
    assert type(event) is decoders.Event
    assert event == {'event_type': 'compute.instance.delete.start',
                     'publisher_id': 'compute.cmp-1', 'payload': PAYLOAD,
                     'timestamp': '2026-12-07 09:31:07.123456', 'message_id': 'm-1'}
    # No meter: the event alone (Glance's image.create, say).
    records, _ = decode(message('image.create.start', {'id': 'img-1'}))
    assert [type(r) for r in records] == [decoders.Event]


def test_no_event_unless_wanted():
    records, _ = decoders.NotificationDecoder(lambda: DEFINITIONS)(
        message('compute.instance.delete.start'))
    assert decoders.Event not in {type(r) for r in records}
    decode = decoders.NotificationDecoder(lambda: DEFINITIONS, lambda event_type: False)
    assert decode(message('image.create', {'id': 'img-1'})) == ([], [])
