"""Smithy RPC v2 CBOR: ``POST /service/GraniteServiceVersion20100801/operation/<Op>``, CBOR
bodies (timestamps as tag 1), errors as json's in CBOR. cbor2 does the encoding."""

import datetime

import cbor2

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import model
from telewatch.cloudwatch import protocols
from telewatch.cloudwatch.protocols import json as json_protocol

CONTENT_TYPE = 'application/cbor'


def _wire(value):
    """Timestamps as epoch seconds under tag 1 (cbor2 would write whole seconds as ints,
    as Smithy allows; floats keep milliseconds)."""
    if isinstance(value, datetime.datetime):
        return cbor2.CBORTag(1, protocols.epoch_seconds(value))
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


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
        return cbor2.dumps(_wire(document))

    def _headers(self, request_id):
        return super()._headers(request_id) + [('smithy-protocol', 'rpc-v2-cbor')]


PROTOCOL = Protocol()
