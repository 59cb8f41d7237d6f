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


def _text(shape, value):
    kind = shape.type_name
    if kind == 'timestamp':
        value = value.astimezone(datetime.timezone.utc)
        return value.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (value.microsecond // 1000)
    if kind == 'boolean':
        return 'true' if value else 'false'
    if kind == 'blob':
        return base64.b64encode(value).decode('ascii')
    if kind in ('double', 'float'):
        return repr(float(value))
    return saxutils.escape(str(value))


def _xml(shape, value, out):
    kind = shape.type_name
    if kind == 'structure':
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                tag = member.serialization.get('name', name)
                out.append('<%s>' % tag)
                _xml(member, value[name], out)
                out.append('</%s>' % tag)
    elif kind == 'list':
        for item in value:
            out.append('<member>')
            _xml(shape.member, item, out)
            out.append('</member>')
    elif kind == 'map':
        for key, item in value.items():
            out.append('<entry><key>%s</key><value>' % saxutils.escape(str(key)))
            _xml(shape.value, item, out)
            out.append('</value></entry>')
    else:
        out.append(_text(shape, value))


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
