"""meters.yaml: loading (each file under tests/cases/invalid_meters gives exactly the errors of
its .errors file) and the conversion of real Nova, Cinder and Glance notifications."""

import copy
import datetime
import pathlib

import pytest

from telewatch import config_file
from telewatch.notification import meter_definitions

REPO = pathlib.Path(__file__).resolve().parents[3]
CASES = REPO / 'tests' / 'cases' / 'invalid_meters'
SHIPPED = REPO / 'etc' / 'meters.yaml'
UTC = datetime.timezone.utc

PROJECT = '6c2a5fd6a3ac4c6e9ab6f5b39c3f5e21'
USER = '0f5b2a3c1d4e4f6a8b9c0d1e2f3a4b5c'
INSTANCE = '9d3c8a0e-5d6c-4b1f-a0b2-3c4d5e6f7a8b'
IMAGE = 'c1a7e0f2-8b3d-4e5f-9a6b-7c8d9e0f1a2b'

# As oslo.messaging delivers a legacy (unversioned) Nova notification to a listener.
NOVA_CREATE_END = {
    'message_id': '1b1f4b2a-5b8e-4f5e-9a39-0c5d2a7e6f31',
    'event_type': 'compute.instance.create.end',
    'publisher_id': 'compute.cmp-07',
    'timestamp': '2024-05-14 09:31:07.412537',
    'payload': {
        'tenant_id': PROJECT, 'user_id': USER, 'instance_id': INSTANCE,
        'display_name': 'web-01', 'hostname': 'web-01', 'reservation_id': 'r-3k5m7n9p',
        'instance_type': 'm1.small', 'instance_type_id': 5, 'instance_flavor_id': '2',
        'memory_mb': 2048, 'disk_gb': 20, 'root_gb': 20, 'ephemeral_gb': 0, 'vcpus': 1,
        'host': 'cmp-07', 'node': 'cmp-07.example.org', 'availability_zone': 'nova',
        'cell_name': '', 'architecture': 'x86_64', 'os_type': None, 'kernel_id': '',
        'ramdisk_id': '', 'state': 'active', 'state_description': '', 'progress': '',
        'created_at': '2024-05-14 09:30:41+00:00', 'launched_at': '2024-05-14T09:31:06.881904',
        'terminated_at': '', 'deleted_at': '',
        'image_ref_url': 'http://glance.example.org:9292/images/' + IMAGE,
        'image_meta': {'base_image_ref': IMAGE, 'container_format': 'bare',
                       'disk_format': 'qcow2', 'min_disk': '20', 'min_ram': '0'},
        'metadata': {}, 'access_ip_v4': None, 'access_ip_v6': None, 'locked': False,
        'fixed_ips': [{'address': '10.0.0.12', 'floating_ips': [], 'label': 'private',
                       'meta': {}, 'type': 'fixed', 'version': 4,
                       'vif_mac': 'fa:16:3e:4b:21:09'}],
        'message': 'Success',
    },
}

CINDER_CREATE_END = {
    'message_id': '5e0c2d7a-91b4-4d3e-8f6a-2b1c0d9e8f7a',
    'event_type': 'volume.create.end',
    'publisher_id': 'volume.blk-02@lvm',
    'timestamp': '2024-05-14 10:02:19.004518',
    'payload': {
        'tenant_id': PROJECT, 'user_id': USER, 'host': 'blk-02@lvm#lvm',
        'availability_zone': 'nova', 'volume_id': '3f9e1c2b-7a6d-4e5f-8b9a-0c1d2e3f4a5b',
        'volume_type': 'b2f0a9c8-1d2e-4f3a-9b8c-7d6e5f4a3b2c', 'display_name': 'db-data',
        'display_description': '', 'launched_at': '2024-05-14T10:02:18+00:00',
        'created_at': '2024-05-14T10:02:14+00:00', 'status': 'available',
        'snapshot_id': None, 'size': 100, 'replication_status': None,
        'replication_extended_status': None, 'replication_driver_data': None,
        'metadata': [], 'volume_attachment': [],
        'glance_metadata': [{'key': 'image_name', 'value': 'ubuntu-22.04'},
                            {'key': 'image_id', 'value': IMAGE}],
    },
}

GLANCE_UPLOAD = {
    'message_id': '8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d',
    'event_type': 'image.upload',
    'publisher_id': 'image.ctl-01',
    'timestamp': '2024-05-14 08:15:44.102938',
    'payload': {
        'id': IMAGE, 'name': 'ubuntu-22.04', 'owner': PROJECT, 'size': 676724736,
        'virtual_size': None, 'status': 'active', 'disk_format': 'qcow2',
        'container_format': 'bare', 'checksum': '5b5a1c9a1c3f6e0e2d8f1b7c4a9e3d21',
        'min_disk': 0, 'min_ram': 0, 'protected': False, 'visibility': 'public',
        'created_at': '2024-05-14T08:15:02Z', 'updated_at': '2024-05-14T08:15:44Z',
        'deleted_at': None, 'deleted': False, 'tags': [], 'properties': {},
    },
}


def notification(base, event_type=None, **payload):
    message = copy.deepcopy(base)
    if event_type:
        message['event_type'] = event_type
    message['payload'].update(payload)
    return message


def wire(samples):
    """The samples' wire form without the ids (fresh, checked apart)."""
    assert len({s.id for s in samples}) == len(samples)
    return [{k: v for k, v in s.to_dict().items() if k != 'id'} for s in samples]


def definitions(text, tmp_path):
    path = tmp_path / 'meters.yaml'
    path.write_text(text)
    return meter_definitions.load_definitions(str(path))


@pytest.fixture(scope='module')
def shipped():
    return meter_definitions.load_definitions(str(SHIPPED))


def expected(name, unit, volume, resource_id, timestamp, metadata, project=PROJECT, user=USER):
    return {'name': name, 'type': 'gauge', 'unit': unit, 'volume': volume, 'user_id': user,
            'project_id': project, 'resource_id': resource_id, 'timestamp': timestamp,
            'resource_metadata': metadata, 'source': 'openstack', 'monotonic_time': None}


INSTANCE_METADATA = {
    'host': 'cmp-07', 'flavor_id': '2', 'flavor_name': 'm1.small', 'display_name': 'web-01',
    'state': 'active', 'image_ref': IMAGE, 'launched_at': '2024-05-14T09:31:06.881904',
    'created_at': '2024-05-14 09:30:41+00:00', 'deleted_at': ''}


def test_shipped_file_converts_nova_create_end(shipped):
    samples = shipped.to_samples(NOVA_CREATE_END)
    at = '2024-05-14T09:31:07.412537+00:00'
    assert wire(samples) == [
        expected('instance', 'instance', 1.0, INSTANCE, at, INSTANCE_METADATA),
        expected('memory', 'MB', 2048.0, INSTANCE, at, INSTANCE_METADATA),
        expected('vcpus', 'vcpu', 1.0, INSTANCE, at, INSTANCE_METADATA),
        expected('disk.root.size', 'GB', 20.0, INSTANCE, at, INSTANCE_METADATA),
        expected('disk.ephemeral.size', 'GB', 0.0, INSTANCE, at, INSTANCE_METADATA)]
    assert samples[0].timestamp == datetime.datetime(2024, 5, 14, 9, 31, 7, 412537, UTC)
    assert not shipped.counters


@pytest.mark.parametrize('event_type', ['compute.instance.exists',
                                        'compute.instance.delete.end',
                                        'compute.instance.resize.confirm.end'])
def test_shipped_file_reads_every_other_instance_event(shipped, event_type):
    samples = shipped.to_samples(notification(NOVA_CREATE_END, event_type))
    assert [s.name for s in samples] == ['instance', 'memory', 'vcpus', 'disk.root.size',
                                         'disk.ephemeral.size']


@pytest.mark.parametrize('event_type', ['compute.instance.create.start',
                                        'compute.instance.update', 'compute.metrics.update'])
def test_shipped_file_excludes_create_start_and_update(event_type):
    meters = meter_definitions.load_definitions(str(SHIPPED))
    assert meters.to_samples(notification(NOVA_CREATE_END, event_type)) == []
    assert meters.counters == {'no_definition': 1}


def test_shipped_file_converts_cinder_volume_create_end(shipped):
    assert wire(shipped.to_samples(CINDER_CREATE_END)) == [expected(
        'volume.size', 'GB', 100.0, '3f9e1c2b-7a6d-4e5f-8b9a-0c1d2e3f4a5b',
        '2024-05-14T10:02:19.004518+00:00',
        {'display_name': 'db-data', 'volume_type': 'b2f0a9c8-1d2e-4f3a-9b8c-7d6e5f4a3b2c',
         'status': 'available', 'availability_zone': 'nova', 'image_id': IMAGE})]


def test_shipped_file_converts_glance_upload_with_the_payload_as_metadata(shipped):
    metadata = dict(GLANCE_UPLOAD['payload'], event_type='image.upload', host='image.ctl-01')
    assert wire(shipped.to_samples(GLANCE_UPLOAD)) == [expected(
        'image.size', 'B', 676724736.0, IMAGE, '2024-05-14T08:15:44.102938+00:00', metadata,
        user=None)]
    # Not in the metadata of a later notification: each sample has its own dict.
    assert 'event_type' not in GLANCE_UPLOAD['payload']


METERS = """
metric:
  - name: memory
    event_type: ['compute.instance.*', '!compute.instance.create.start', '!*.update']
    type: gauge
    unit: MB
    volume: $.payload.memory_mb
    resource_id: $.payload.instance_id
  - name: memory
    event_type: 'compute.instance.resize.?.end'
    type: gauge
    unit: MB
    volume: $.payload.new_memory_mb
    resource_id: $.payload.instance_id
  - name: snapshot.size
    event_type: 'snapshot.[cd]*.end'
    type: gauge
    unit: GB
    volume: $.payload.volume_size
    resource_id: $.payload.snapshot_id
"""


def names_for(meters, event_type):
    return [(d.name, d.event_types.patterns[0]) for d in meters.definitions_for(event_type)]


def test_wildcards_exclusions_and_several_definitions_per_meter(tmp_path):
    meters = definitions(METERS, tmp_path)
    assert names_for(meters, 'compute.instance.exists') == [('memory', 'compute.instance.*')]
    assert names_for(meters, 'compute.instance.create.start') == []
    assert names_for(meters, 'compute.instance.update') == []
    assert names_for(meters, 'compute.instance.resize.x.end') == [
        ('memory', 'compute.instance.*'), ('memory', 'compute.instance.resize.?.end')]
    assert names_for(meters, 'compute.instance.resize.xx.end') == [
        ('memory', 'compute.instance.*')]
    assert names_for(meters, 'snapshot.create.end') == [('snapshot.size', 'snapshot.[cd]*.end')]
    assert names_for(meters, 'snapshot.delete.end') == [('snapshot.size', 'snapshot.[cd]*.end')]
    assert names_for(meters, 'snapshot.manage.end') == []
    resized = notification(NOVA_CREATE_END, 'compute.instance.resize.x.end', new_memory_mb=4096)
    assert [(s.name, s.volume) for s in meters.to_samples(resized)] == [
        ('memory', 2048.0), ('memory', 4096.0)]


def test_event_types_are_matched_once_per_event_type(tmp_path, monkeypatch):
    meters = definitions(METERS, tmp_path)
    calls = []
    for definition in meters.definitions:
        monkeypatch.setattr(definition, 'event_types', lambda event_type, match=(
            definition.event_types): calls.append(event_type) or match(event_type))
    for _ in range(3):
        assert len(meters.to_samples(NOVA_CREATE_END)) == 1
        assert meters.to_samples(notification(NOVA_CREATE_END, 'compute.instance.update')) == []
    assert calls == ['compute.instance.create.end'] * 3 + ['compute.instance.update'] * 3
    assert meters.counters == {'no_definition': 3}


def test_event_type_cache_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(meter_definitions, '_CACHE_LIMIT', 2)
    meters = definitions(METERS, tmp_path)
    for index in range(5):
        meters.definitions_for('compute.instance.event%d' % index)
    assert len(meters._by_event_type) == 1
    assert len(meters.definitions_for('compute.instance.exists')) == 1


def test_notifications_without_a_sample_are_counted_by_reason(shipped):
    meters = meter_definitions.load_definitions(str(SHIPPED))
    no_volume = notification(GLANCE_UPLOAD)
    del no_volume['payload']['size']
    assert meters.to_samples(no_volume) == []
    assert meters.to_samples(notification(GLANCE_UPLOAD, id=None)) == []
    assert meters.to_samples(notification(GLANCE_UPLOAD, size='a lot')) == []
    assert meters.to_samples(notification(GLANCE_UPLOAD, id=42)) == []
    assert meters.to_samples(dict(GLANCE_UPLOAD, timestamp='yesterday')) == []
    assert meters.to_samples(notification(GLANCE_UPLOAD, 'image.activate')) == []
    assert meters.to_samples(dict(GLANCE_UPLOAD, event_type=None)) == []
    assert meters.to_samples(dict(GLANCE_UPLOAD, payload='not a mapping')) == []
    # Nova: the instance meter (constant volume) still counts an instance without memory.
    without_memory = notification(NOVA_CREATE_END, memory_mb=None)
    assert [s.name for s in meters.to_samples(without_memory)] == [
        'instance', 'vcpus', 'disk.root.size', 'disk.ephemeral.size']
    assert meters.counters == {'missing_volume': 3, 'missing_resource_id': 1,
                               'invalid_sample': 3, 'no_definition': 2}


JSONPATHS = """
metric:
  - name: $.payload.metric.name
    event_type: 'magnum.*'
    type: delta
    unit: $.payload.metric.unit
    volume: $.payload.samples[*].value
    resource_id: $.payload.ids[?kind='cluster'].id
    user_id: payload.user
    timestamp: $.payload.sampled_at
    metadata:
      host: $.publisher_id
      event: $.event_type
      message: $.message_id
      missing: $.payload.nothing
      empty: $.payload.empty
  - name: magnum.event
    event_type: 'magnum.*'
    type: delta
    unit: event
    volume: 1
    resource_id: $.payload.ids[0].id
    metadata: {}
"""

MAGNUM = {
    'message_id': 'e1d2c3b4-a5f6-4789-8abc-def012345678',
    'event_type': 'magnum.bay.metrics.update',
    'publisher_id': 'magnum.conductor-1',
    'timestamp': '2024-05-14 11:00:00.000000',
    'payload': {
        'metric': {'name': 'bay.nodes', 'unit': 'node'},
        'samples': [{'value': None}, {'value': 3}, {'value': 4}],
        'ids': [{'kind': 'stack', 'id': 'stack-1'}, {'kind': 'cluster', 'id': 'cluster-1'}],
        'user': USER, 'sampled_at': '2024-05-14T10:59:58Z', 'empty': '',
    },
}


def test_jsonpaths_read_the_whole_notification_and_give_the_first_value(tmp_path):
    meters = definitions(JSONPATHS, tmp_path)
    first, second = meters.to_samples(MAGNUM)
    assert wire([first]) == [{
        'name': 'bay.nodes', 'type': 'delta', 'unit': 'node', 'volume': 3.0, 'user_id': USER,
        'project_id': None, 'resource_id': 'cluster-1',
        'timestamp': '2024-05-14T10:59:58+00:00',
        'resource_metadata': {'host': 'magnum.conductor-1', 'event': 'magnum.bay.metrics.update',
                              'message': 'e1d2c3b4-a5f6-4789-8abc-def012345678', 'empty': ''},
        'source': 'openstack', 'monotonic_time': None}]
    assert (second.name, second.volume, second.resource_id) == ('magnum.event', 1.0, 'stack-1')
    assert second.resource_metadata == {}
    assert second.timestamp == datetime.datetime(2024, 5, 14, 11, 0, tzinfo=UTC)
    # A timestamp path that finds nothing falls back to the notification's timestamp.
    no_time = notification(MAGNUM, sampled_at='')
    assert meters.to_samples(no_time)[0].timestamp == second.timestamp


def test_a_jsonpath_that_fails_on_the_data_reads_as_missing(tmp_path):
    meters = definitions("""
metric:
  - name: image.size
    event_type: image.upload
    type: gauge
    unit: B
    volume: $.payload.size.`sub(/0/, 1)`
    resource_id: $.payload.id
""", tmp_path)
    assert meters.to_samples(GLANCE_UPLOAD) == []
    assert meters.counters == {'missing_volume': 1}
    assert meters.to_samples(notification(GLANCE_UPLOAD, size='100'))[0].volume == 111.0


def test_load_error_reports_file_and_line(tmp_path):
    with pytest.raises(config_file.ConfigErrors) as caught:
        definitions(METERS.replace('$.payload.volume_size', '$.payload.volume_size['), tmp_path)
    assert str(caught.value) == (
        "%s:19: metric[2].volume: invalid JSONPath '$.payload.volume_size[': Parse error near "
        "the end of string!" % (tmp_path / 'meters.yaml'))


@pytest.mark.parametrize('path', sorted(CASES.glob('*.yaml')), ids=lambda path: path.stem)
def test_invalid_meters_file_reports_exact_errors(path, monkeypatch):
    monkeypatch.chdir(CASES)
    with pytest.raises(config_file.ConfigErrors) as caught:
        meter_definitions.load_definitions(path.name)
    assert str(caught.value) + '\n' == path.with_suffix('.errors').read_text()


def test_at_least_six_invalid_cases():
    assert len(list(CASES.glob('*.yaml'))) >= 6


def test_a_notification_with_a_text_no_backend_can_store_gives_no_sample(shipped):
    meters = meter_definitions.load_definitions(str(SHIPPED))
    assert meters.to_samples(notification(GLANCE_UPLOAD, id='image\x00evil')) == []
    assert meters.to_samples(notification(GLANCE_UPLOAD, name='\ud800')) == []
    assert meters.counters == {'invalid_sample': 2}
