"""Signed batches: the envelope, its signature over the exact payload, and what is rejected."""

import base64
import hashlib
import hmac
import json
import zlib

import pytest

from telewatch import messages
from telewatch import sample as sample_mod

sample = sample_mod.Sample


def batch(count=3):
    return [sample_mod.Sample.create('cpu', 'cumulative', 'ns', i, 'vm-%d' % i,
                                     timestamp='2026-11-01T00:00:00Z', monotonic_time=5.0)
            for i in range(count)]


def test_round_trip_keeps_every_field():
    samples = batch()
    decoded = messages.decode_batch(messages.encode_batch(samples, 'secret'), 'secret')
    assert decoded == samples


def envelope(text, secret='', **fields):
    """An envelope around any JSON text, signed like encode_batch signs."""
    compressed = zlib.compress(text.encode())
    message = {'format': 'telewatch.samples', 'version': 1, 'encoding': 'zlib+base64',
               'payload': base64.b64encode(compressed).decode(),
               'signature': hmac.new(secret.encode(), compressed, hashlib.sha256).hexdigest()
               if secret else ''}
    message.update(fields)
    return message


def test_signature_is_the_hmac_of_the_compressed_payload():
    message = messages.encode_batch(batch(1), 'secret')
    compressed = base64.b64decode(message['payload'])
    expected = hmac.new(b'secret', compressed, hashlib.sha256).hexdigest()
    assert message['signature'] == expected
    assert (message['format'], message['version'], message['encoding']) == (
        'telewatch.samples', 2, 'zlib+base64')
    assert json.loads(zlib.decompress(compressed))['samples'][0]['name'] == 'cpu'


def test_version_2_lists_each_metadata_object_once():
    shared, other = {'name': 'vm', 'flavor': {'vcpus': 2}}, {'name': 'other'}
    metadata = [other, shared, other, shared, dict(other)]  # the last: equal, not the same
    samples = [sample.create('cpu', 'cumulative', 'ns', i, 'vm-%d' % (i % 2),
                             timestamp='2026-11-01T00:00:00Z', resource_metadata=m)
               for i, m in enumerate(metadata)]
    message = messages.encode_batch(samples, 's')
    payload = json.loads(zlib.decompress(base64.b64decode(message['payload'])))
    assert payload['resource_metadata'] == [other, shared, other]
    assert [r['resource_metadata'] for r in payload['samples']] == [0, 1, 0, 1, 2]
    assert payload['samples'][0]['timestamp'] == '2026-11-01T00:00:00+00:00'
    decoded = messages.decode_batch(message, 's')
    assert decoded == samples
    assert decoded[1].resource_metadata is decoded[3].resource_metadata


def test_version_1_is_still_accepted():
    samples = batch()
    text = json.dumps([s.to_dict() for s in samples])
    assert messages.decode_batch(envelope(text, 'secret'), 'secret') == samples


def test_what_orjson_refuses_is_written_as_json_writes_it():
    samples = [batch(1)[0]._replace(resource_metadata={1: 'a', 'big': 2 ** 70})]
    decoded = messages.decode_batch(messages.encode_batch(samples, ''), '')
    assert decoded[0].resource_metadata == {'1': 'a', 'big': 2 ** 70}
    assert decoded[0].timestamp == samples[0].timestamp


def test_survives_a_json_round_trip_of_the_envelope():
    message = json.loads(json.dumps(messages.encode_batch(batch(), 's')))
    assert len(messages.decode_batch(message, 's')) == 3


def _tampered(message):
    text = zlib.decompress(base64.b64decode(message['payload'])).decode()
    forged = envelope(text.replace('"volume":1.0', '"volume":9.0'), 'secret')
    return dict(message, payload=forged['payload'])


@pytest.mark.parametrize('change', [
    lambda m: m.update(payload=_tampered(m)['payload']),
    lambda m: m.update(signature='0' * 64),
])
def test_tampered_messages_are_rejected(change):
    message = messages.encode_batch(batch(), 'secret')
    change(message)
    with pytest.raises(sample_mod.InvalidSignature):
        messages.decode_batch(message, 'secret')


def test_unsigned_message_is_rejected_when_a_secret_is_set():
    message = messages.encode_batch(batch(), '')
    assert message['signature'] == ''
    with pytest.raises(sample_mod.InvalidSignature):
        messages.decode_batch(message, 'secret')
    assert len(messages.decode_batch(message, '')) == 3


@pytest.mark.parametrize('message, reason', [
    ('not a dict', 'format'),
    (envelope('[]', format='other'), 'format'),
    (envelope('[]', version=3), 'version'),
    (envelope('[]', encoding='json'), 'format'),
    (envelope('[]', payload=7), 'payload'),
    (envelope('[]', payload='not base64!'), 'payload'),
    (envelope('[]', payload=base64.b64encode(b'not zlib').decode()), 'payload'),
    (envelope('[1'), 'payload'),
    (envelope('{}'), 'payload'),
    (envelope('[{"name": "x"}]'), 'sample'),
    (envelope('[]', version=2), 'payload'),
    (envelope('{"samples": []}', version=2), 'payload'),
    (envelope('{"resource_metadata": [], "samples": [{"resource_metadata": 0}]}',
              version=2), 'sample'),
    (envelope('{"resource_metadata": [{}], "samples": [7]}', version=2), 'sample'),
])
def test_bad_messages_say_why(message, reason):
    with pytest.raises(messages.InvalidMessage) as raised:
        messages.decode_batch(message, '')
    assert raised.value.reason == reason


def test_a_payload_that_inflates_beyond_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(messages, 'MAX_PAYLOAD_BYTES', 1000)
    with pytest.raises(messages.InvalidMessage) as raised:
        messages.decode_batch(envelope('[' + '0,' * 2000 + '0]'), '')
    assert 'larger than 1000 bytes' in str(raised.value)


def test_one_bad_sample_is_left_out_and_the_others_go_on():
    good = batch(5)
    records = messages._payload(good)
    records['samples'][1]['volume'] = 'a lot'
    records['samples'][3] = 7
    rejected = []
    message = envelope(messages.dumps(records).decode(), version=2)
    decoded = messages.decode_batch(message, '', rejected)
    assert [s.id for s in decoded] == [good[i].id for i in (0, 2, 4)]
    assert [(index, exc.field) for index, exc in rejected] == [(1, 'volume'), (3, 'sample')]
    with pytest.raises(messages.InvalidMessage) as raised:  # without the list: all or none
        messages.decode_batch(message, '')
    assert raised.value.reason == 'sample'


@pytest.mark.parametrize('version', [1, 2])
def test_a_nul_in_a_signed_batch_refuses_that_sample_only(version):
    good = batch(50)
    evil = good[7]._replace(resource_id='vm\x00evil')
    other = good[30]._replace(resource_metadata={'host': '\x00'})
    samples = good[:7] + [evil] + good[8:30] + [other] + good[31:]
    message = messages.encode_batch(samples, 'secret')
    if version == 1:
        payload = zlib.compress(json.dumps([s.to_dict() for s in samples]).encode())
        message = dict(message, version=1, payload=base64.b64encode(payload).decode(),
                       signature=hmac.new(b'secret', payload, hashlib.sha256).hexdigest())
    rejected = []
    decoded = messages.decode_batch(message, 'secret', rejected)
    assert len(decoded) == 48 and evil.id not in {s.id for s in decoded}
    assert [(index, exc.field) for index, exc in rejected] == [
        (7, 'resource_id'), (30, 'resource_metadata')]


def test_only_a_payload_with_an_escaped_nul_takes_the_slow_path():
    assert messages.may_hold_nul(b'{"a": "\\u0000"}')
    assert messages.may_hold_nul('["\\u0000"]')
    assert not messages.may_hold_nul(b'{"a": "\\u0001", "b": "\\\\u000"}')
