"""The firehose record: one sample as one Kafka record, as the kafka:// publisher writes it
and telewatch-pubsub (and any other consumer) reads it.

- value: compact JSON (UTF-8) of the fields ``telewatch-pipeline replay`` prints (name,
  type, unit, volume, user_id, project_id, resource_id, timestamp in ISO 8601, resource
  metadata), plus ``source``, ``id`` (for de-duplication: delivery is at-least-once),
  ``monotonic_time`` and ``schema_version`` (``SCHEMA_VERSION``; a consumer refuses
  versions it does not know).
- key: the resource id (UTF-8), so one partition holds every sample of a resource, in order.
- header ``telewatch-signature``: with ``[publisher] telemetry_secret`` set, the hex
  HMAC-SHA256 of the value's bytes exactly as sent (no canonical form to agree on, and
  cheap: a consumer checks it before parsing).
"""

import hashlib
import hmac

from telewatch import messages
from telewatch import sample as sample_mod

SCHEMA_VERSION = 1
SIGNATURE_HEADER = 'telewatch-signature'


class InvalidRecord(ValueError):
    """A record that is not a firehose sample; ``reason`` is a short counter name."""

    def __init__(self, reason, detail):
        super().__init__('%s: %s' % (reason, detail))
        self.reason = reason


def record_dict(sample):
    """The JSON object of one sample (timestamps as ISO 8601 strings)."""
    return {'schema_version': SCHEMA_VERSION, 'name': sample.name, 'type': sample.type,
            'unit': sample.unit, 'volume': sample.volume, 'user_id': sample.user_id,
            'project_id': sample.project_id, 'resource_id': sample.resource_id,
            'timestamp': sample.timestamp.isoformat(),
            'resource_metadata': sample.resource_metadata, 'source': sample.source,
            'id': sample.id, 'monotonic_time': sample.monotonic_time}


def encode(sample):
    """The record value (bytes) of one sample; ValueError for what JSON cannot hold."""
    try:
        return messages.dumps(record_dict(sample))
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def key(sample):
    return sample.resource_id.encode('utf-8')


def signature(value, secret):
    """The signature header's value (bytes) for ``value``."""
    key_bytes = secret.encode('utf-8') if isinstance(secret, str) else secret
    return hmac.new(key_bytes, value, hashlib.sha256).hexdigest().encode('ascii')


def headers(value, secret):
    """The record headers (kafka-python's list of pairs) for ``value``."""
    return [(SIGNATURE_HEADER, signature(value, secret))] if secret else []


def check_signature(value, record_headers, secret):
    """Raise InvalidSignature unless ``value`` carries the right signature (no secret: any
    record passes, as on the bus)."""
    if not secret:
        return
    given = None
    for name, header in record_headers or ():
        if name == SIGNATURE_HEADER:
            given = header
    if not given:
        raise sample_mod.InvalidSignature('record is not signed')
    if not hmac.compare_digest(given, signature(value, secret)):
        raise sample_mod.InvalidSignature('signature does not match the record')


def decode(value, record_headers=None, secret=None):
    """The Sample of a record value; InvalidRecord or InvalidSignature when it is bad."""
    check_signature(value, record_headers, secret)
    try:
        document = messages.loads(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord('format', 'not JSON: %s' % exc) from None
    if not isinstance(document, dict):
        raise InvalidRecord('format', 'not a JSON object')
    version = document.get('schema_version')
    if version != SCHEMA_VERSION:
        raise InvalidRecord('schema_version', 'schema version %r is not %d'
                            % (version, SCHEMA_VERSION))
    # from_wire does not look for NUL: a record that may hold one takes every check.
    convert = (sample_mod.Sample.from_dict if messages.may_hold_nul(value)
               else sample_mod.Sample.from_wire)
    try:
        return convert(document)
    except sample_mod.InvalidSample as exc:
        raise InvalidRecord('sample', str(exc)) from None
