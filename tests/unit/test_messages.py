"""Signed batches: the envelope, its signature over the exact payload, and what is rejected."""

import hashlib
import hmac
import json

import pytest

from telewatch import messages
from telewatch import sample as sample_mod


def batch(count=3):
    return [sample_mod.Sample.create('cpu', 'cumulative', 'ns', i, 'vm-%d' % i,
                                     timestamp='2026-11-01T00:00:00Z', monotonic_time=5.0)
            for i in range(count)]


def test_round_trip_keeps_every_field():
    samples = batch()
    decoded = messages.decode_batch(messages.encode_batch(samples, 'secret'), 'secret')
    assert decoded == samples


def test_signature_is_the_hmac_of_the_payload_text():
    message = messages.encode_batch(batch(1), 'secret')
    expected = hmac.new(b'secret', message['payload'].encode(), hashlib.sha256).hexdigest()
    assert message['signature'] == expected
    assert (message['format'], message['version']) == ('telewatch.samples', 1)


def test_survives_a_json_round_trip_of_the_envelope():
    message = json.loads(json.dumps(messages.encode_batch(batch(), 's')))
    assert len(messages.decode_batch(message, 's')) == 3


@pytest.mark.parametrize('change', [
    lambda m: m.update(payload=m['payload'].replace('"volume":1.0', '"volume":9.0')),
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
    ({'format': 'other', 'version': 1, 'payload': '[]'}, 'format'),
    ({'format': 'telewatch.samples', 'version': 2, 'payload': '[]'}, 'version'),
    ({'format': 'telewatch.samples', 'version': 1, 'payload': 7}, 'payload'),
    ({'format': 'telewatch.samples', 'version': 1, 'payload': '[1'}, 'payload'),
    ({'format': 'telewatch.samples', 'version': 1, 'payload': '{}'}, 'payload'),
    ({'format': 'telewatch.samples', 'version': 1, 'payload': '[{"name": "x"}]'}, 'sample'),
])
def test_bad_messages_say_why(message, reason):
    with pytest.raises(messages.InvalidMessage) as raised:
        messages.decode_batch(message, '')
    assert raised.value.reason == reason
