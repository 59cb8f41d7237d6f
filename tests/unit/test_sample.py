import datetime
import hashlib
import hmac
import uuid

import pytest

from telewatch import sample as sample_mod
from telewatch.sample import InvalidSample, InvalidSignature, Sample

UTC = datetime.timezone.utc


def make(**overrides):
    fields = dict(name='cpu', type='cumulative', unit='ns', volume=1.5e9, resource_id='r1',
                  timestamp='2026-01-01T00:00:10Z', user_id='u1', project_id='p1',
                  resource_metadata={'flavor': {'vcpus': 2, 'name': 'm1.small'},
                                     'tags': ['a', 'b']},
                  source='openstack', monotonic_time=123.25)
    fields.update(overrides)
    return Sample.create(**fields)


def wire(**overrides):
    message = {'name': 'cpu', 'type': 'gauge', 'unit': '%', 'volume': 12.5,
               'resource_id': 'r1', 'timestamp': '2026-01-01T00:00:10Z'}
    message.update(overrides)
    return {key: value for key, value in message.items() if value is not None}


# JSON round trip

def test_round_trip_preserves_every_field():
    original = make()
    restored = Sample.from_dict(original.to_dict())
    assert restored == original
    assert restored.id == original.id
    assert restored.monotonic_time == 123.25
    assert restored.resource_metadata == {'flavor': {'vcpus': 2, 'name': 'm1.small'},
                                          'tags': ['a', 'b']}
    assert restored.timestamp == datetime.datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)


def test_to_dict_has_the_wire_keys():
    assert set(make().to_dict()) == set(sample_mod.FIELDS)


def test_round_trip_without_optional_fields():
    restored = Sample.from_dict(wire())
    assert restored.monotonic_time is None
    assert restored.user_id is None
    assert restored.project_id is None
    assert restored.resource_metadata == {}
    assert restored.source == 'openstack'
    assert Sample.from_dict(restored.to_dict()) == restored


@pytest.mark.parametrize('text, expected', [
    ('2026-01-01T00:00:10Z', datetime.datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)),
    ('2026-01-01T02:00:10+02:00', datetime.datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)),
    ('2025-12-31T23:00:10-01:00', datetime.datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)),
    ('2026-01-01T00:00:10', datetime.datetime(2026, 1, 1, 0, 0, 10, tzinfo=UTC)),
    ('2026-01-01T00:00:10.250000Z',
     datetime.datetime(2026, 1, 1, 0, 0, 10, 250000, tzinfo=UTC)),
])
def test_timestamps_become_utc(text, expected):
    parsed = Sample.from_dict(wire(timestamp=text)).timestamp
    assert parsed == expected
    assert parsed.utcoffset() == datetime.timedelta(0)


def test_offset_timestamp_is_written_back_in_utc():
    message = Sample.from_dict(wire(timestamp='2026-01-01T02:00:10+02:00')).to_dict()
    assert message['timestamp'] == '2026-01-01T00:00:10+00:00'


def test_ceilometer_wire_names_are_accepted():
    message = {'counter_name': 'disk.read.bytes', 'counter_type': 'cumulative',
               'counter_unit': 'B', 'counter_volume': 4096, 'message_id': 'abc-1',
               'resource_id': 'r9', 'timestamp': '2026-01-01T00:00:10Z',
               'user_id': 'u', 'project_id': 'p', 'resource_metadata': {'device': 'vda'},
               'source': 'hypervisor'}
    parsed = Sample.from_dict(message)
    assert parsed.name == 'disk.read.bytes'
    assert parsed.type == 'cumulative'
    assert parsed.unit == 'B'
    assert parsed.volume == 4096.0
    assert parsed.id == 'abc-1'
    assert parsed.source == 'hypervisor'
    assert parsed.resource_metadata == {'device': 'vda'}


def test_to_ceilometer_dict_round_trips():
    original = make()
    message = original.to_ceilometer_dict()
    assert message['counter_name'] == 'cpu'
    assert message['message_id'] == original.id
    assert 'name' not in message
    assert Sample.from_dict(message) == original


# Invalid input

@pytest.mark.parametrize('field', ['name', 'type', 'volume', 'resource_id', 'timestamp'])
def test_missing_required_field_is_named(field):
    message = wire()
    del message[field]
    with pytest.raises(InvalidSample) as raised:
        Sample.from_dict(message)
    assert raised.value.field == field
    assert str(raised.value).startswith(field + ':')


@pytest.mark.parametrize('overrides, field', [
    ({'type': 'counter'}, 'type'),
    ({'volume': 'abc'}, 'volume'),
    ({'volume': True}, 'volume'),
    ({'volume': False}, 'volume'),
    ({'volume': float('nan')}, 'volume'),
    ({'volume': 'nan'}, 'volume'),
    ({'volume': [1]}, 'volume'),
    ({'volume': 10 ** 400}, 'volume'),
    ({'name': ''}, 'name'),
    ({'name': 5}, 'name'),
    ({'resource_id': ''}, 'resource_id'),
    ({'timestamp': 'yesterday'}, 'timestamp'),
    ({'timestamp': 1767225610}, 'timestamp'),
    ({'user_id': 7}, 'user_id'),
    ({'resource_metadata': ['a']}, 'resource_metadata'),
    ({'monotonic_time': 'soon'}, 'monotonic_time'),
    ({'monotonic_time': True}, 'monotonic_time'),
    ({'monotonic_time': 10 ** 400}, 'monotonic_time'),
])
def test_invalid_value_is_named(overrides, field):
    with pytest.raises(InvalidSample) as raised:
        Sample.from_dict(wire(**overrides))
    assert raised.value.field == field


def test_not_an_object_is_invalid():
    with pytest.raises(InvalidSample) as raised:
        Sample.from_dict(['cpu'])
    assert raised.value.field == 'sample'


def test_numeric_string_volume_is_converted():
    assert Sample.from_dict(wire(volume='2.5')).volume == 2.5


def test_unknown_keys_are_ignored():
    assert Sample.from_dict(wire(extra='x')).name == 'cpu'


# Ids

def test_ids_are_unique_uuid4():
    ids = [make().id for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for value in ids[:50] + ids[-50:]:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value


def test_derive_gets_a_fresh_id_and_keeps_the_rest():
    original = make()
    derived = original.derive('cpu_util', 'gauge', '%', 50.0)
    assert derived.id != original.id
    assert derived._replace(id=original.id) == original._replace(
        name='cpu_util', type='gauge', unit='%', volume=50.0)


# Signing

def test_signature_worked_example_from_the_docstring():
    message = {'b': [1.0, 'x'], 'a': {'z': None, 'y': True}}
    canonical = b'{"a":{"y":true,"z":null},"b":[1,"x"]}'
    expected = hmac.new(b'secret', canonical, hashlib.sha256).hexdigest()
    assert sample_mod.compute_signature(message, 'secret') == expected
    assert expected == 'f784970b23985c3b452e7556185cd9d863cbe2e7f65ddd65096e002254401dd1'
    assert expected in sample_mod.__doc__


def test_signature_ignores_the_signature_keys():
    message = {'a': 1}
    signed = dict(message, signature='x', message_signature='y')
    assert (sample_mod.compute_signature(signed, 'k')
            == sample_mod.compute_signature(message, 'k'))


def test_sign_then_verify():
    message = make().to_dict()
    signed = sample_mod.sign(message, 'secret')
    assert 'signature' not in message
    assert signed['signature'] == sample_mod.compute_signature(message, 'secret')
    sample_mod.verify(signed, 'secret')
    sample_mod.verify(signed, b'secret')


def test_wrong_secret_is_rejected():
    signed = sample_mod.sign(make().to_dict(), 'secret')
    with pytest.raises(InvalidSignature):
        sample_mod.verify(signed, 'other')


def test_tampered_volume_is_rejected():
    signed = sample_mod.sign(make().to_dict(), 'secret')
    signed['volume'] += 1
    with pytest.raises(InvalidSignature):
        sample_mod.verify(signed, 'secret')


def test_tampered_nested_metadata_is_rejected():
    signed = sample_mod.sign(make().to_dict(), 'secret')
    signed['resource_metadata'] = {'flavor': {'vcpus': 4, 'name': 'm1.small'},
                                   'tags': ['a', 'b']}
    with pytest.raises(InvalidSignature):
        sample_mod.verify(signed, 'secret')


@pytest.mark.parametrize('signature', [None, '', 12345])
def test_unsigned_or_malformed_signature_is_rejected_when_a_secret_is_set(signature):
    message = make().to_dict()
    if signature is not None:
        message['signature'] = signature
    with pytest.raises(InvalidSignature):
        sample_mod.verify(message, 'secret')


@pytest.mark.parametrize('secret', ['', None, b''])
def test_everything_is_accepted_without_a_secret(secret):
    unsigned = make().to_dict()
    tampered = sample_mod.sign(make().to_dict(), 'secret')
    tampered['volume'] = -1.0
    sample_mod.verify(unsigned, secret)
    sample_mod.verify(tampered, secret)


def _ceilometer_reference(message, secret):
    # Ceilometer's compute_signature, written out by hand for a message whose only nested
    # value is one level of resource_metadata.
    pairs = []
    for key, value in message.items():
        if key == 'message_signature':
            continue
        if isinstance(value, dict):
            pairs.extend(('%s:%s' % (key, sub), item) for sub, item in value.items())
        else:
            pairs.append((key, value))
    digest = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    for key, value in sorted(pairs):
        digest.update(key.encode() + str(value).encode())
    return digest.hexdigest()


def test_ceilometer_signature_matches_ceilometer_algorithm():
    message = make(resource_metadata={'host': 'h1', 'cpu_number': 2}).to_ceilometer_dict()
    assert (sample_mod.ceilometer_signature(message, 'secret')
            == _ceilometer_reference(message, 'secret'))


def test_ceilometer_message_verifies_and_tampered_one_does_not():
    message = make().to_ceilometer_dict()
    message['message_signature'] = sample_mod.ceilometer_signature(message, 'secret')
    sample_mod.verify(message, 'secret')
    assert Sample.from_dict(message).volume == 1.5e9

    tampered = dict(message, counter_volume=2e9)
    with pytest.raises(InvalidSignature):
        sample_mod.verify(tampered, 'secret')
    tampered = dict(message, resource_metadata={'flavor': {'vcpus': 3}})
    with pytest.raises(InvalidSignature):
        sample_mod.verify(tampered, 'secret')


def test_ceilometer_message_without_signature_is_rejected():
    with pytest.raises(InvalidSignature):
        sample_mod.verify(make().to_ceilometer_dict(), 'secret')


@pytest.mark.parametrize('volume', [float('inf'), float('-inf'), 'Infinity'])
def test_infinite_volume_is_not_a_measurement(volume):
    # JSON cannot carry it, and no meter measures it.
    with pytest.raises(InvalidSample) as raised:
        make(volume=volume)
    assert raised.value.field == 'volume'


def test_from_wire_equals_from_dict_on_our_own_wire_form():
    original = make(volume=3.5, monotonic_time=12.0, user_id='u', project_id='p')
    record = original.to_dict()
    assert sample_mod.Sample.from_wire(record) == sample_mod.Sample.from_dict(record) == \
        original


@pytest.mark.parametrize('change', [
    {'volume': 'lots'}, {'volume': float('nan')}, {'volume': True}, {'type': 'counter'},
    {'name': ''}, {'resource_id': 7}, {'timestamp': 'yesterday'}, {'user_id': 5},
    {'monotonic_time': 'x'}, {'resource_metadata': []},
])
def test_from_wire_rejects_exactly_what_from_dict_rejects(change):
    record = dict(make().to_dict(), **change)
    with pytest.raises(InvalidSample) as by_dict:
        sample_mod.Sample.from_dict(record)
    with pytest.raises(InvalidSample) as by_wire:
        sample_mod.Sample.from_wire(record)
    assert by_wire.value.field == by_dict.value.field


@pytest.mark.parametrize('change', [
    {'volume': 3}, {'timestamp': '2026-01-01T00:00:00Z'}, {'counter_name': 'cpu'},
])
def test_from_wire_takes_other_valid_forms_through_from_dict(change):
    record = dict(make().to_dict(), **change)
    assert sample_mod.Sample.from_wire(record) == sample_mod.Sample.from_dict(record)


def test_from_wire_takes_the_metadata_given_apart_on_both_paths():
    metadata = {'flavor': 'm1.small'}
    record = dict(make().to_dict(), resource_metadata=0)  # an index, as in an envelope
    fast = sample_mod.Sample.from_wire(record, metadata)
    slow = sample_mod.Sample.from_wire(dict(record, volume=3), metadata)  # an int volume
    assert fast.resource_metadata is metadata and slow.resource_metadata == metadata
    assert fast == make()._replace(resource_metadata=metadata, id=fast.id)


# Texts no backend can store

@pytest.mark.parametrize('overrides, field', [
    ({'resource_id': 'vm\x00evil'}, 'resource_id'),
    ({'name': 'cpu\x00'}, 'name'),
    ({'unit': '\x00'}, 'unit'),
    ({'user_id': 'u\ud800'}, 'user_id'),
    ({'project_id': '\x00'}, 'project_id'),
    ({'source': 'open\x00stack'}, 'source'),
    ({'id': 'id\udfff'}, 'id'),
    ({'resource_metadata': {'host': 'h\x00'}}, 'resource_metadata'),
    ({'resource_metadata': {'h\x00st': 'h'}}, 'resource_metadata'),
    ({'resource_metadata': {'a': [{'b': ['ok', '\ud83d']}]}}, 'resource_metadata'),
])
def test_texts_no_backend_can_store_are_refused(overrides, field):
    with pytest.raises(InvalidSample) as raised:
        sample_mod.check_texts(make(**overrides))
    assert raised.value.field == field
    assert ('NUL (U+0000)' in str(raised.value) or 'lone surrogate' in str(raised.value))
    if field == 'resource_metadata':
        assert ' at [' in str(raised.value)  # the path to it
    with pytest.raises(InvalidSample):  # where samples enter
        Sample.from_dict(dict(make().to_dict(), **overrides))
    assert make(**overrides)  # a pollster's sample: checked where it enters the agent


def test_every_other_text_is_stored_as_it_is():
    text = 'caf\u00e9 \U0001f600 \u4e2d \t\n\x01'
    sample = make(resource_id=text, resource_metadata={text: [text, {text: text}]})
    assert sample_mod.check_texts(sample) is sample
    assert Sample.from_dict(sample.to_dict()) == sample
