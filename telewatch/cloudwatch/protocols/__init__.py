"""The three wire protocols of CloudWatch: awsQuery (``query``), awsJson 1.0 (``json``) and
Smithy RPC v2 CBOR (``cbor``); ``pick(request)`` says which one a request speaks.

Each protocol module has a ``Protocol`` class with ``operation_name(request)``,
``read(request, operation_model, body) -> params``, ``respond(operation_model, result,
request_id) -> Response`` and ``error(exc, request_id, headers) -> Response``.
"""

import base64
import dataclasses
import datetime
import math

from botocore import utils as botocore_utils

from telewatch.cloudwatch import model

CBOR_PREFIX = '/service/%s/operation/' % model.TARGET_PREFIX


@dataclasses.dataclass
class Response:
    status: int
    headers: list
    body: bytes


def pick(path, headers):
    """The protocol module of a request: CBOR by its path, json by X-Amz-Target, else
    query."""
    from telewatch.cloudwatch.protocols import cbor, json, query
    if path.startswith(CBOR_PREFIX) or headers.get('smithy-protocol') == 'rpc-v2-cbor':
        return cbor.PROTOCOL
    if 'x-amz-target' in headers:
        return json.PROTOCOL
    return query.PROTOCOL


def parse_timestamp(raw):
    """An aware UTC datetime from ISO 8601 text or epoch seconds (what clients send)."""
    if isinstance(raw, datetime.datetime):
        value = raw if raw.tzinfo else raw.replace(tzinfo=datetime.timezone.utc)
    elif isinstance(raw, bool):
        raise ValueError(raw)
    elif isinstance(raw, (int, float)):
        value = datetime.datetime.fromtimestamp(raw, datetime.timezone.utc)
    else:
        try:  # the ISO 8601 that SDKs send, 50 times faster than dateutil's guessing
            value = datetime.datetime.fromisoformat(raw)
        except ValueError:
            value = botocore_utils.parse_timestamp(raw)
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def epoch_seconds(value):
    seconds = value.timestamp()
    return int(seconds) if seconds == int(seconds) else seconds


def special_float(value):
    """json's spelling of the floats JSON lacks (botocore's and Smithy's)."""
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return 'Infinity' if value > 0 else '-Infinity'
    return value


def json_double(raw):
    if isinstance(raw, bool):
        raise TypeError(raw)
    if isinstance(raw, str):
        if raw not in ('NaN', 'Infinity', '-Infinity'):
            raise ValueError(raw)
        return float(raw)
    return float(raw)


def strict_int(raw):
    if isinstance(raw, bool) or not isinstance(raw, int):
        if isinstance(raw, float) and raw.is_integer():
            return int(raw)
        raise TypeError(raw)
    return raw


def decode_blob(raw):
    if isinstance(raw, (bytes, bytearray)):
        return bytes(raw)
    return base64.b64decode(raw, validate=True)
