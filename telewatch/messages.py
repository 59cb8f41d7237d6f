"""Batches of samples between agents: a versioned envelope whose signature covers the exact
bytes of its payload, so a receiver checks it without re-serialising anything.

Envelope (a JSON object)::

    {"format": "telewatch.samples", "version": 1,
     "payload": "<a JSON array of samples in their wire form, as one string>",
     "signature": "<hex HMAC-SHA256(secret, payload as UTF-8)>"}

The receiver computes the HMAC over ``payload`` as received, compares it in constant time,
then parses it. With no secret configured the signature is "" and not checked. Pure: no
configuration, no I/O.
"""

import hashlib
import hmac
import json

from telewatch import sample as sample_mod

FORMAT = 'telewatch.samples'
VERSION = 1


class InvalidMessage(ValueError):
    """A message that is not a batch of samples this version understands; ``reason`` is a
    short word for counters (``format``, ``version``, ``payload``, ``sample``)."""

    def __init__(self, reason, detail):
        super().__init__('%s: %s' % (reason, detail))
        self.reason = reason


def _hmac(secret, payload):
    key = secret.encode('utf-8') if isinstance(secret, str) else secret
    return hmac.new(key, payload.encode('utf-8'), hashlib.sha256).hexdigest()


def encode_batch(samples, secret):
    """The envelope (a dict) of a list of samples."""
    payload = json.dumps([sample.to_dict() for sample in samples], separators=(',', ':'),
                         allow_nan=False)
    return {'format': FORMAT, 'version': VERSION, 'payload': payload,
            'signature': _hmac(secret, payload) if secret else ''}


def verify_batch(message, secret):
    """The payload text of an envelope once its form and signature hold."""
    if not isinstance(message, dict) or message.get('format') != FORMAT:
        raise InvalidMessage('format', 'not a %s message' % FORMAT)
    if message.get('version') != VERSION:
        raise InvalidMessage('version', 'version %r is not %d' % (
            message.get('version'), VERSION))
    payload = message.get('payload')
    if not isinstance(payload, str):
        raise InvalidMessage('payload', 'the payload is not a string')
    if secret:
        signature = message.get('signature')
        if not signature:
            raise sample_mod.InvalidSignature('message is not signed')
        if not isinstance(signature, str) or not hmac.compare_digest(
                signature, _hmac(secret, payload)):
            raise sample_mod.InvalidSignature('signature does not match the payload')
    return payload


def decode_batch(message, secret):
    """The samples of an envelope; InvalidMessage or InvalidSignature when it is bad.

    One bad sample makes the whole batch bad: a producer that sends it is broken.
    """
    payload = verify_batch(message, secret)
    try:
        records = json.loads(payload)
    except ValueError as exc:
        raise InvalidMessage('payload', 'the payload is not JSON: %s' % exc) from None
    if not isinstance(records, list):
        raise InvalidMessage('payload', 'the payload is not a list of samples')
    try:
        return [sample_mod.Sample.from_wire(record) for record in records]
    except sample_mod.InvalidSample as exc:
        raise InvalidMessage('sample', str(exc)) from None
