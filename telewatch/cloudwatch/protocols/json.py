"""awsJson 1.0: ``X-Amz-Target: GraniteServiceVersion20100801.<Op>``, JSON bodies with epoch
second timestamps; errors as ``__type`` plus, for query-compatible clients, the
``x-amzn-query-error: <Code>;Sender`` header."""

import base64
import datetime
import json

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import model
from telewatch.cloudwatch import protocols

SHAPE_NAMESPACE = 'com.amazonaws.cloudwatch#'
CONTENT_TYPE = 'application/x-amz-json-1.0'


def decode(shape, raw):
    """A scalar of a JSON (or CBOR) body as the model's type says."""
    kind = shape.type_name
    if kind == 'string':
        if not isinstance(raw, str):
            raise TypeError(raw)
        return raw
    if kind in ('integer', 'long'):
        return protocols.strict_int(raw)
    if kind in ('double', 'float'):
        return protocols.json_double(raw)
    if kind == 'boolean':
        if not isinstance(raw, bool):
            raise TypeError(raw)
        return raw
    if kind == 'timestamp':
        return protocols.parse_timestamp(raw)
    if kind == 'blob':
        return protocols.decode_blob(raw)
    raise ValueError(raw)


def _default(value):
    if isinstance(value, datetime.datetime):
        return protocols.epoch_seconds(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode('ascii')
    raise TypeError('%r is not JSON serialisable' % (value,))


_SCALARS = (str, int, float, bool, type(None))


def prepare(value, moments, moment=None):
    """``value`` with each list of datetimes as ``moments(list)`` and each other datetime
    as ``moment(datetime)`` (left as it is without one), where the serialiser's own
    handling (json's ``default`` hook, cbor2's datetimes) would cost a call per item. Only
    a speed-up: what it leaves, the serialiser writes the same. A list whose first item is
    a plain scalar is taken as a list of such (the model's lists are of one type) and left
    unread."""
    if isinstance(value, dict):
        return {key: item if type(item) in _SCALARS else prepare(item, moments, moment)
                for key, item in value.items()}
    if isinstance(value, list):
        if not value or type(value[0]) in _SCALARS:
            return value
        first = value[0]
        if isinstance(first, datetime.datetime):
            return moments(value)
        if isinstance(first, dict) and not any(
                isinstance(item, (list, dict)) for item in first.values()):
            # flat records (GetMetricStatistics' datapoints): their one datetime each is
            # left to the serialiser's own handling, cheaper than a walk of each record
            return value
        return [prepare(item, moments, moment) for item in value]
    if moment is not None and isinstance(value, datetime.datetime):
        return moment(value)
    return value


def memoised(convert):
    """``(list converter, one converter)`` of ``convert(datetime)``, each distinct datetime
    converted once (the timestamps of GetMetricData's results repeat from query to
    query)."""
    known = {}

    def one(moment):
        found = known.get(moment)
        if found is None:
            found = known[moment] = convert(moment)
        return found

    def many(moments):
        return [one(m) for m in moments]
    return many, one


def _wire(value):
    """``value`` with the floats JSON cannot carry spelled as strings."""
    if isinstance(value, float):
        return protocols.special_float(value)
    if isinstance(value, dict):
        return {key: _wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire(item) for item in value]
    return value


def dumps(document):
    """The JSON bytes of a protocol-neutral document: datetimes as epoch seconds, NaN and
    infinities as botocore's strings (the rare document holding one takes the slow
    path)."""
    prepared = prepare(document, *memoised(protocols.epoch_seconds))
    try:
        text = json.dumps(prepared, default=_default, separators=(',', ':'),
                          allow_nan=False)
    except ValueError:
        text = json.dumps(_wire(prepared), default=_default, separators=(',', ':'))
    return text.encode()


def error_document(exc):
    """The body of an error (json and CBOR share it)."""
    type_name = exc.type_name
    if exc.shape:
        type_name = SHAPE_NAMESPACE + type_name
    document = {'__type': type_name, 'message': exc.message}
    document.update(exc.extra)
    return document


def error_headers(exc, headers):
    """The status and headers of an error: ``x-amzn-query-error: <Code>;Sender`` (from which
    query-compatible clients take the query-era code) and, when the client asked with
    ``x-amzn-query-mode``, the query-era status (404 for ResourceNotFound); 400 otherwise
    for a modelled client error."""
    if isinstance(exc, errors.UnknownOperationException):
        return exc.status, []
    status = exc.status
    if exc.shape and exc.sender and 'x-amzn-query-mode' not in headers:
        status = 400
    return status, [('x-amzn-query-error', '%s;%s' % (
        exc.code, 'Sender' if exc.sender else 'Receiver'))]


class Protocol:
    name = 'json'
    content_type = CONTENT_TYPE

    def operation_name(self, request):
        target = request.headers.get('x-amz-target', '')
        prefix, _, name = target.partition('.')
        if prefix != model.TARGET_PREFIX or not name:
            raise errors.UnknownOperationException(
                'Unknown target %s.' % target)
        return name

    def unknown_operation(self, name):
        return errors.UnknownOperationException('')

    def load(self, body):
        try:
            return json.loads(body) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise errors.MalformedInput('The request body is not valid JSON.') from None

    def read(self, request, operation_model):
        tree = self.load(request.body)
        if not isinstance(tree, dict):
            raise errors.MalformedInput('The request body is not a JSON object.')
        return model.parse_input(operation_model, tree, decode)

    def dumps(self, document):
        return dumps(document)

    def respond(self, operation_model, result, request_id):
        return protocols.Response(200, self._headers(request_id), self.dumps(result or {}))

    def error(self, exc, request_id, headers):
        status, extra = error_headers(exc, headers)
        return protocols.Response(status, self._headers(request_id) + extra,
                                  self.dumps(error_document(exc)))

    def _headers(self, request_id):
        return [('Content-Type', self.content_type), ('x-amzn-RequestId', request_id)]


PROTOCOL = Protocol()
