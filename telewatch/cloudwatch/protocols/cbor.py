"""Smithy RPC v2 CBOR: ``POST /service/GraniteServiceVersion20100801/operation/<Op>``, CBOR
bodies (timestamps as tag 1), errors as json's in CBOR. cbor2 does the encoding."""

import datetime

import cbor2

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import model
from telewatch.cloudwatch import protocols
from telewatch.cloudwatch.protocols import json as json_protocol

CONTENT_TYPE = 'application/cbor'


class _Raw:
    """CBOR bytes written as they are (cbor2's ``default`` hook)."""

    __slots__ = ('data',)

    def __init__(self, data):
        self.data = data


def _write_raw(encoder, value):
    if not isinstance(value, _Raw):
        raise cbor2.CBOREncodeTypeError('cannot serialize type %s' % type(value).__name__)
    encoder.write(value.data)


def _timestamp(moment):
    """A timestamp as epoch seconds under tag 1 (whole seconds as ints, as Smithy allows;
    floats keep the milliseconds)."""
    return b'\xc1' + cbor2.dumps(protocols.epoch_seconds(moment))


def _array_head(length):
    for limit, head, size in ((24, None, 0), (1 << 8, 0x98, 1), (1 << 16, 0x99, 2),
                              (1 << 32, 0x9a, 4)):
        if length < limit:
            return (bytes([0x80 + length]) if head is None
                    else bytes([head]) + length.to_bytes(size, 'big'))
    return b'\x9b' + length.to_bytes(8, 'big')


def _timestamps(one):
    def many(moments):
        return _Raw(_array_head(len(moments)) + b''.join([one(m) for m in moments]))
    return many


class Protocol(json_protocol.Protocol):
    name = 'cbor'
    content_type = CONTENT_TYPE

    def operation_name(self, request):
        if not request.path.startswith(protocols.CBOR_PREFIX):
            raise errors.UnknownOperationException('Unknown path %s.' % request.path)
        return request.path[len(protocols.CBOR_PREFIX):]

    def load(self, body):
        if not body:
            return {}
        try:
            return cbor2.loads(body)
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError):
            raise errors.MalformedInput('The request body is not valid CBOR.') from None

    def read(self, request, operation_model):
        tree = self.load(request.body)
        if not isinstance(tree, dict):
            raise errors.MalformedInput('The request body is not a CBOR map.')
        return model.parse_input(operation_model, tree, json_protocol.decode)

    def dumps(self, document):
        # Lists of timestamps (GetMetricData's, 100,800 of them) as bytes made once per
        # distinct moment; other timestamps written by cbor2 itself, the same way.
        _, one = json_protocol.memoised(_timestamp)
        return cbor2.dumps(json_protocol.prepare(document, _timestamps(one)),
                           datetime_as_timestamp=True, timezone=datetime.timezone.utc,
                           default=_write_raw)

    def _headers(self, request_id):
        return super()._headers(request_id) + [('smithy-protocol', 'rpc-v2-cbor')]


PROTOCOL = Protocol()
