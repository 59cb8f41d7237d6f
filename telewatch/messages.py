"""Batches of samples between agents: a versioned envelope whose signature covers the exact
bytes of its payload, so a receiver checks it without re-serialising anything.

Envelope (a JSON object)::

    {"format": "telewatch.samples", "version": 2, "encoding": "zlib+base64",
     "payload": "<base64 of the zlib-compressed UTF-8 JSON payload>",
     "signature": "<hex HMAC-SHA256(secret, the compressed bytes)>"}

Payload, version 2 (what encode_batch writes)::

    {"resource_metadata": [{...}, {...}],
     "samples": [{<wire form>, "resource_metadata": <index in the list above>}, ...]}

Each sample is in its wire form (telewatch.sample) except that its resource_metadata is the
index of an object listed once per batch: the samples of one resource mostly share their
metadata, which would otherwise be most of the payload. Version 1 (still accepted) is a plain
JSON array of samples in the wire form.

The receiver decodes the base64, computes the HMAC over the compressed bytes, compares it
in constant time, and only then decompresses (at most MAX_PAYLOAD_BYTES) and parses. The
payload travels as base64 rather than as JSON text because the bus wraps the envelope in
JSON again (oslo.messaging twice): escaped text would be escaped and unescaped at every
level, while compressed base64 is about 18 times smaller and decodes twice as fast. With no
secret configured the signature is "" and not checked. Pure: no configuration, no I/O.
"""

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import zlib

import orjson

from telewatch import sample as sample_mod

FORMAT = 'telewatch.samples'
VERSION = 2
VERSIONS = (1, 2)
ENCODING = 'zlib+base64'
MAX_PAYLOAD_BYTES = 64 * 2 ** 20
# The event types of the bus messages that carry samples: an envelope, or Ceilometer's.
SAMPLES_EVENT_TYPE = 'telewatch.samples'
CEILOMETER_EVENT_TYPE = 'telemetry.polling'


class InvalidMessage(ValueError):
    """A message that is not a batch of samples this version understands; ``reason`` is a
    short word for counters (``format``, ``version``, ``payload``, ``sample``)."""

    def __init__(self, reason, detail):
        super().__init__('%s: %s' % (reason, detail))
        self.reason = reason


def dumps(value):
    """Compact JSON (UTF-8 bytes) with datetimes in ISO 8601, as the wire form writes them.

    orjson (several times faster than json) refuses what JSON allows but it does not take
    (non-string keys, integers beyond 64 bits): those go through json, which writes them as
    JSON does. Not-a-number is refused either way.
    """
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(',', ':'), allow_nan=False,
                          default=_isoformat).encode('utf-8')


def _isoformat(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError('%r is not JSON serialisable' % (value,))


loads = orjson.loads


def _hmac(secret, data):
    key = secret.encode('utf-8') if isinstance(secret, str) else secret
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _payload(samples):
    """The version 2 payload: each distinct metadata object once (by identity: the
    samples of one resource usually share theirs)."""
    tables, index, records = [], {}, []
    # Unpacked (sample.FIELDS' order): the bus's busiest loop, 10% faster than by index and
    # 15% faster than by attribute (measured); a change of the fields fails here loudly.
    for (name, type_, unit, volume, user_id, project_id, resource_id, timestamp, metadata,
         source, id_, monotonic_time) in samples:
        position = index.get(id(metadata))
        if position is None:
            position = index[id(metadata)] = len(tables)
            tables.append(metadata)
        records.append({'name': name, 'type': type_, 'unit': unit, 'volume': volume,
                        'user_id': user_id, 'project_id': project_id,
                        'resource_id': resource_id, 'timestamp': timestamp,
                        'resource_metadata': position, 'source': source, 'id': id_,
                        'monotonic_time': monotonic_time})
    return {'resource_metadata': tables, 'samples': records}


def encode_batch(samples, secret):
    """The envelope (a dict) of a list of samples."""
    compressed = zlib.compress(dumps(_payload(samples)), 1)
    return {'format': FORMAT, 'version': VERSION, 'encoding': ENCODING,
            'payload': base64.b64encode(compressed).decode('ascii'),
            'signature': _hmac(secret, compressed) if secret else ''}


def _inflate(compressed):
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, MAX_PAYLOAD_BYTES)
    except zlib.error as exc:
        raise InvalidMessage('payload', 'the payload is not zlib data: %s' % exc) from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise InvalidMessage('payload', 'the payload is truncated or larger than %d bytes'
                             % MAX_PAYLOAD_BYTES)
    return data


def verify_batch(message, secret):
    """The payload (JSON bytes) of an envelope once its form and signature hold."""
    if not isinstance(message, dict) or message.get('format') != FORMAT:
        raise InvalidMessage('format', 'not a %s message' % FORMAT)
    if message.get('version') not in VERSIONS:
        raise InvalidMessage('version', 'version %r is not one of %s' % (
            message.get('version'), ', '.join(map(str, VERSIONS))))
    if message.get('encoding') != ENCODING:
        raise InvalidMessage('format', 'encoding %r is not %s' % (
            message.get('encoding'), ENCODING))
    payload = message.get('payload')
    if not isinstance(payload, str):
        raise InvalidMessage('payload', 'the payload is not a string')
    try:
        compressed = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidMessage('payload', 'the payload is not base64') from None
    if secret:
        signature = message.get('signature')
        if not signature:
            raise sample_mod.InvalidSignature('message is not signed')
        if not isinstance(signature, str) or not hmac.compare_digest(
                signature, _hmac(secret, compressed)):
            raise sample_mod.InvalidSignature('signature does not match the payload')
    return _inflate(compressed)


def may_hold_nul(data):
    """Whether the JSON text ``data`` (bytes or str) may hold a NUL in a string: JSON writes
    one only as the escape \\u0000 (a raw control character is no JSON)."""
    return (b'\\u0000' if isinstance(data, bytes) else '\\u0000') in data


def decode_batch(message, secret, rejected=None):
    """The samples of an envelope; InvalidMessage or InvalidSignature when it is bad.

    A record that is no valid sample makes the whole batch InvalidMessage('sample'); with
    a list ``rejected``, it is left out instead and ``(index, InvalidSample)`` appended
    there, and the batch's other samples are returned.
    """
    payload = verify_batch(message, secret)
    try:
        document = loads(payload)
    except ValueError as exc:
        raise InvalidMessage('payload', 'the payload is not JSON: %s' % exc) from None
    # The fast path does not look for NUL (sample.Sample.from_wire): a payload that may hold
    # one goes through every check.
    convert = _checked if may_hold_nul(payload) else sample_mod.Sample.from_wire
    if message['version'] == 1:
        if not isinstance(document, list):
            raise InvalidMessage('payload', 'the payload is not a list of samples')
        return _version_1_samples(document, convert, rejected)
    return _version_2_samples(document, convert, rejected)


def _checked(record, metadata=None):
    if metadata is not None and isinstance(record, dict):
        record = dict(record, resource_metadata=metadata)
    return sample_mod.Sample.from_dict(record)


def _refuse(index, exc, rejected):
    if rejected is None:
        raise InvalidMessage('sample', str(exc)) from None
    rejected.append((index, exc))


def _version_1_samples(records, convert, rejected):
    samples = []
    for index, record in enumerate(records):
        try:
            samples.append(convert(record))
        except sample_mod.InvalidSample as exc:
            _refuse(index, exc, rejected)
    return samples


def _version_2_samples(document, convert, rejected):
    if not isinstance(document, dict):
        raise InvalidMessage('payload', 'the payload is not an object')
    tables, records = document.get('resource_metadata'), document.get('samples')
    if not isinstance(tables, list) or not isinstance(records, list):
        raise InvalidMessage('payload', 'the payload has no resource_metadata and samples '
                                        'lists')
    count = len(tables)
    samples = []
    for index, record in enumerate(records):
        try:
            if type(record) is not dict:
                raise sample_mod.InvalidSample('sample', 'expected a JSON object')
            position = record.get('resource_metadata')
            if type(position) is not int or not 0 <= position < count:
                raise sample_mod.InvalidSample(
                    'resource_metadata', '%r is not an index of the batch\'s %d metadata '
                                         'objects' % (position, count))
            samples.append(convert(record, tables[position]))
        except sample_mod.InvalidSample as exc:
            _refuse(index, exc, rejected)
    return samples
