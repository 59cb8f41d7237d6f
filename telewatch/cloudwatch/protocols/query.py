"""awsQuery: form-encoded ``Action=<Op>&Version=2010-08-01&...`` requests (lists as
``Name.member.N``, maps as ``Name.entry.N.key``), XML responses and errors."""

import base64
import datetime
import urllib.parse
from xml.sax import saxutils

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import model
from telewatch.cloudwatch import protocols

_CONTENT_TYPE = ('Content-Type', 'text/xml')


def _nest(pairs):
    """The flat ``A.member.1.B=v`` pairs as nested dicts ({'A': {'member': {'1': ...}}});
    a key that is also a prefix keeps its own value under ''."""
    root = {}
    for key, value in pairs:
        node = root
        parts = key.split('.')
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {} if child is None else {'': child}
            node = child
        last = parts[-1]
        if isinstance(node.get(last), dict):
            node[last][''] = value
        else:
            node[last] = value
    return root


def _indexed(node, key):
    """The items of a list or map node in index order; ValueError for a bad index."""
    items = node.get(key) if isinstance(node, dict) else None
    if not isinstance(items, dict):
        return []
    return [items[index] for index in sorted((i for i in items if i != ''), key=int)]


def _tree(shape, node):
    """The protocol-neutral tree (model.parse_input's) of a nested query node."""
    kind = shape.type_name
    if kind == 'structure':
        if not isinstance(node, dict):
            return node
        tree = {}
        for name, member in shape.members.items():
            wire = member.serialization.get('name', name)
            if wire in node:
                tree[name] = _tree(member, node[wire])
        return tree
    if kind == 'list':
        return [_tree(shape.member, item) for item in _indexed(node, 'member')]
    if kind == 'map':
        return {_tree(shape.key, entry.get('key')): _tree(shape.value, entry.get('value'))
                for entry in _indexed(node, 'entry') if isinstance(entry, dict)}
    if isinstance(node, dict):
        return node.get('')
    return node


def _decode(shape, raw):
    if not isinstance(raw, str):
        raise TypeError(raw)
    kind = shape.type_name
    if kind == 'string':
        return raw
    if kind in ('integer', 'long'):
        return int(raw)
    if kind == 'double' or kind == 'float':
        return float(raw)
    if kind == 'boolean':
        if raw not in ('true', 'false'):
            raise ValueError(raw)
        return raw == 'true'
    if kind == 'timestamp':
        return protocols.parse_timestamp(raw)
    if kind == 'blob':
        return protocols.decode_blob(raw)
    raise ValueError(raw)


def _timestamp_text(value):
    if value.utcoffset():
        value = value.astimezone(datetime.timezone.utc)
    return value.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (value.microsecond // 1000)


def _blob_text(value):
    return base64.b64encode(value).decode('ascii')


def _double_text(value):
    return repr(float(value))


def _escaped_text(value):
    return saxutils.escape(str(value))


_TEXT = {'timestamp': _timestamp_text, 'boolean': lambda v: 'true' if v else 'false',
         'blob': _blob_text, 'double': _double_text, 'float': _double_text}


class _Writers:
    """The XML writer of each shape, made once: ``write(value, out)`` appends the text of
    ``value`` to the list ``out``. A list of scalars is written in one join, and a
    timestamp met again (the periods GetMetricData's results share) is formatted once."""

    def __init__(self):
        self._made = {}

    def __call__(self, shape):
        writer = self._made.get(shape.name)
        if writer is None:
            maker = getattr(self, '_' + shape.type_name, self._scalar)
            writer = self._made[shape.name] = maker(shape)
        return writer

    def _structure(self, shape):
        members = []  # (name, opening tag, closing tag, writer, text of a scalar)

        def write(value, out):
            if not members:  # on first use: a shape may contain itself
                for name, member in shape.members.items():
                    tag = member.serialization.get('name', name)
                    scalar = member.type_name not in ('structure', 'list', 'map')
                    members.append(('<%s>' % tag, '</%s>' % tag, name, self(member),
                                    self._text_of(member) if scalar else None))
            for opening, closing, name, writer, text in members:
                item = value.get(name)
                if item is None:
                    continue
                if text is not None:
                    out.append(opening + text(item) + closing)
                else:
                    out.append(opening)
                    writer(item, out)
                    out.append(closing)
        return write

    def _list(self, shape):
        member = shape.member
        if member.type_name in ('structure', 'list', 'map'):
            def write(value, out):
                item_writer = self(member)
                for item in value:
                    out.append('<member>')
                    item_writer(item, out)
                    out.append('</member>')
            return write
        text = self._text_of(member)

        def write_scalars(value, out):
            if value:
                out.append('<member>%s</member>' % '</member><member>'.join(map(text, value)))
        return write_scalars

    def _map(self, shape):
        def write(value, out):
            for key, item in value.items():
                out.append('<entry><key>%s</key><value>' % saxutils.escape(str(key)))
                self(shape.value)(item, out)
                out.append('</value></entry>')
        return write

    def _scalar(self, shape):
        text = self._text_of(shape)

        def write(value, out):
            out.append(text(value))
        return write

    @staticmethod
    def _text_of(shape):
        text = _TEXT.get(shape.type_name, _escaped_text)
        if shape.type_name != 'timestamp':
            return text
        known = {}

        def timestamp(value):
            found = known.get(value)
            if found is None:
                if len(known) > 100_000:
                    known.clear()
                found = known[value] = text(value)
            return found
        return timestamp


_writers = _Writers()


def _xml(shape, value, out):
    _writers(shape)(value, out)


class Protocol:
    name = 'query'

    def operation_name(self, request):
        action = dict(request.params).get('Action')
        if not action:
            raise errors.MissingAction('Could not find operation Action for version '
                                       '2010-08-01')
        return action

    def unknown_operation(self, name):
        return errors.InvalidAction('The action %s is not valid for this web service.' % name)

    def read(self, request, operation_model):
        if operation_model.input_shape is None:
            return {}
        try:
            tree = _tree(operation_model.input_shape, _nest(request.params))
        except ValueError:  # a list index that is not a number
            raise errors.MalformedInput('The query parameters are malformed.') from None
        return model.parse_input(operation_model, tree, _decode)

    def respond(self, operation_model, result, request_id):
        name = operation_model.name
        out = ['<%sResponse xmlns="%s">' % (name, model.XML_NAMESPACE)]
        shape = operation_model.output_shape
        if shape is not None:
            wrapper = shape.serialization.get('resultWrapper', '%sResult' % name)
            out.append('<%s>' % wrapper)
            _xml(shape, result, out)
            out.append('</%s>' % wrapper)
        out.append('<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>'
                   '</%sResponse>' % (request_id, name))
        return protocols.Response(200, [_CONTENT_TYPE], ''.join(out).encode('utf-8'))

    def error(self, exc, request_id, headers):
        extra = ''.join('<%s>%s</%s>' % (key, saxutils.escape(str(value)), key)
                        for key, value in exc.extra.items()
                        if isinstance(value, (str, int, float)))
        body = ('<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code>'
                '<Message>%s</Message>%s</Error><RequestId>%s</RequestId></ErrorResponse>'
                % (model.XML_NAMESPACE, 'Sender' if exc.sender else 'Receiver',
                   saxutils.escape(exc.code), saxutils.escape(exc.message), extra,
                   request_id))
        return protocols.Response(exc.status, [_CONTENT_TYPE], body.encode('utf-8'))


def form_params(request):
    """The query parameters of a request: the form body's, or the query string's (GET)."""
    pairs = [(k, v) for k, v in request.query if not k.startswith('X-Amz-')]
    content_type = request.headers.get('content-type', '')
    if request.body and content_type.startswith('application/x-www-form-urlencoded'):
        try:
            pairs += urllib.parse.parse_qsl(request.body.decode('utf-8'),
                                            keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise errors.MalformedInput('The request body is not UTF-8.') from None
    return pairs


PROTOCOL = Protocol()
