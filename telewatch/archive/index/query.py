"""Gnocchi's resource query languages: the CLI's string filter (parsed into the JSON query)
and the JSON query itself, checked against a resource type's attributes. Pure: no I/O.

``validate_query`` returns the query with canonical operator names (``eq ne lt le gt ge
like in and or not``) and values of the attributes' types, ready for ``search``.
"""

import datetime
import math
import re
import uuid

import pyparsing as pp

from telewatch.archive import errors
from telewatch.archive import resource_ids

COMPARISONS = {
    '=': 'eq', '==': 'eq', 'eq': 'eq', '<': 'lt', 'lt': 'lt', '>': 'gt', 'gt': 'gt',
    '<=': 'le', '≤': 'le', 'le': 'le', '>=': 'ge', '≥': 'ge', 'ge': 'ge',
    '!=': 'ne', '≠': 'ne', 'ne': 'ne', 'like': 'like', 'in': 'in'}
CONNECTIVES = {'and': 'and', '∧': 'and', 'or': 'or', '∨': 'or'}

# Kinds: the custom attribute types of resource_types, plus 'resource_id' (a resource id
# as the API takes it) and 'timespan' (seconds).
GENERIC_ATTRIBUTES = {
    'id': 'resource_id', 'original_resource_id': 'string', 'type': 'string',
    'user_id': 'string', 'project_id': 'string', 'creator': 'string',
    'created_by_user_id': 'string', 'created_by_project_id': 'string',
    'started_at': 'datetime', 'ended_at': 'datetime',
    'revision_start': 'datetime', 'revision_end': 'datetime', 'lifespan': 'timespan'}
_LIKE_KINDS = frozenset(('string', 'uuid', 'resource_id'))
MAX_DEPTH = 64
_SORT = re.compile(r'(?P<key>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<dir>[a-z]*))?'
                   r'(?:-(?P<nulls>nullsfirst|nullslast))?\Z')


class InvalidQuery(errors.IndexEntryError):
    """A query that cannot be used; ``path`` locates the offending part in the JSON query
    (``data['and'][1]``), or is None for the string filter."""

    cause = 'Invalid query'

    def __init__(self, message, path=None):
        super().__init__(message, {'reason': message, 'path': path})
        self.path = path


class UnknownAttribute(InvalidQuery):
    """``attribute`` is neither a generic attribute nor one of ``resource_type``'s."""

    def __init__(self, resource_type, attribute, path=None):
        super().__init__('Resource type %s has no %s attribute' % (resource_type, attribute),
                         path)
        self.resource_type = resource_type
        self.attribute = attribute


class InvalidValue(InvalidQuery):
    """``value`` cannot be compared with ``attribute`` (wrong type, not a UUID...)."""

    def __init__(self, attribute, value, path=None):
        super().__init__("Invalid value: `%s' for field `%s'" % (value, attribute), path)
        self.attribute = attribute
        self.value = value


class InvalidPagination(errors.IndexEntryError):
    """A bad ``sort``, ``limit`` or ``marker``; ``reason`` says which."""

    cause = 'Invalid pagination'

    def __init__(self, reason):
        super().__init__("Invalid pagination: `%s'" % reason, reason)
        self.reason = reason


# -- the string filter ---------------------------------------------------------------------

class _Literal:
    """A parsed value; pyparsing would splice a bare list (or drop a None) into its tokens."""

    def __init__(self, value):
        self.value = value


def _literal(convert):
    return lambda tokens: _Literal(convert(tokens[0]))


def _fold(tokens):
    """``a op b op c...`` of one precedence level; a run of one operator stays one list."""
    items = tokens[0]
    result = {items[1]: [items[0], items[2]]}
    for op, operand in zip(items[3::2], items[4::2]):
        if op in result:
            result[op].append(operand)
        else:
            result = {op: [result, operand]}
    return result


def _grammar():
    # No ``==`` (the JSON query takes it): Gnocchi's string grammar never reads one (its
    # ``=`` matches first, and ``= foobar`` is no value), so a filter with one is refused.
    operator = (pp.one_of('>= <= != ≠ ≥ ≤ > < =')
                | pp.one_of('eq ne lt gt ge le in like', as_keyword=True)).set_name('operator')
    identifier = pp.Word(pp.alphas, pp.alphanums + '_')
    value = pp.Forward()
    items = pp.Optional(pp.DelimitedList(value))
    value <<= (
        pp.one_of('null None none', as_keyword=True).set_parse_action(_literal(lambda t: None))
        | (pp.CaselessKeyword('true') | pp.CaselessKeyword('false')).set_parse_action(
            _literal(lambda t: t == 'true'))
        | pp.Regex(r'[0-9a-fA-F]{8}(?:-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}(?![\w-])')
        .set_parse_action(_literal(str))
        | identifier.copy().set_parse_action(_literal(str))
        | pp.Regex(r'[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?').set_parse_action(_literal(float))
        | (pp.QuotedString('"', esc_char='\\') | pp.QuotedString("'", esc_char='\\'))
        .set_parse_action(_literal(str))
        | (pp.Suppress('[') + items + pp.Suppress(']')).set_parse_action(
            lambda t: _Literal([item.value for item in t]))).set_name('value')
    condition = (identifier + operator - value).set_name('condition').set_parse_action(
        lambda t: {t[1]: {t[0]: t[2].value}})
    return pp.infix_notation(condition, [
        (pp.Keyword('not'), 1, pp.OpAssoc.RIGHT, lambda t: {'not': t[0][1]}),
        (pp.Keyword('and') | pp.Literal('∧'), 2, pp.OpAssoc.LEFT, _fold),
        (pp.Keyword('or') | pp.Literal('∨'), 2, pp.OpAssoc.LEFT, _fold),
    ])


_FILTER = _grammar()


def parse_filter_string(text):
    """The JSON query of a string filter (``flavor_id!="1" and memory>=24``); InvalidQuery.

    Operators are kept as written (validate_query canonicalises them); numbers become
    floats, as in Gnocchi.
    """
    try:
        return _FILTER.parse_string(text, parse_all=True)[0]
    except pp.ParseBaseException as exc:
        raise InvalidQuery('Invalid filter: %s' % exc) from None
    except RecursionError:
        raise InvalidQuery('Invalid filter: nested too deeply') from None


# -- the JSON query ------------------------------------------------------------------------

def _at(path, key):
    return '%s[%r]' % (path, key)


_KEY = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def _invalid(reason, path):
    """An InvalidQuery in voluptuous' words, as Gnocchi's: ``invalid_input`` is the
    ``(reason @ path, [keys of the path])`` its ``{cause: Invalid input}`` body shows."""
    error = InvalidQuery('Invalid input: %s @ %s' % (reason, path), path)
    error.invalid_input = ('%s @ %s' % (reason, path),
                           [key or int(index) for key, index in _KEY.findall(path)])
    return error


def _to_datetime(value):
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, str):
        text = value[:-1] + '+00:00' if value.endswith(('Z', 'z')) else value
        moment = datetime.datetime.fromisoformat(text)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    else:
        raise ValueError(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def _to_float(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _to_timespan(value):
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    seconds = _to_float(value)
    if seconds < 0:
        raise ValueError(value)
    return seconds


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false'):
        return value.lower() == 'true'
    raise ValueError(value)


_CONVERT = {
    'string': str,  # as Gnocchi: a number compared with a string attribute is str(number)
    'number': _to_float,
    'bool': _to_bool,
    'uuid': lambda v: str(uuid.UUID(str(v))),
    'datetime': _to_datetime,
    'timespan': _to_timespan,
}


class _Checker:
    """Walks one JSON query against the attributes of one resource type."""

    def __init__(self, kinds, resource_type, creator):
        self.kinds = kinds
        self.resource_type = resource_type
        self.creator = creator

    def node(self, node, path, depth=0):
        if depth > MAX_DEPTH:
            raise _invalid('nested more than %d levels' % MAX_DEPTH, path)
        if not isinstance(node, dict):
            raise _invalid('expected a dictionary for dictionary value', path)
        if len(node) != 1:
            raise _invalid('expected a dictionary of one operator', path)
        (op, arg), = node.items()
        path = _at(path, op)
        if op in CONNECTIVES:
            if not isinstance(arg, list):
                raise _invalid('expected a list for dictionary value', path)
            if not arg:
                raise _invalid('length of value must be at least 1 for dictionary value',
                               path)
            return {CONNECTIVES[op]: [self.node(n, '%s[%d]' % (path, i), depth + 1)
                                      for i, n in enumerate(arg)]}
        if op == 'not':
            return {'not': self.node(arg, path, depth + 1)}
        if op in COMPARISONS:
            return {COMPARISONS[op]: self.comparison(COMPARISONS[op], arg, path)}
        raise InvalidQuery("Unknown operator `%s'" % (op,), path)

    def comparison(self, op, arg, path):
        if not isinstance(arg, dict) or len(arg) != 1:
            raise _invalid('expected a dictionary of one attribute', path)
        (name, value), = arg.items()
        path = _at(path, name)
        kind = self.kinds.get(name)
        if kind is None:
            raise UnknownAttribute(self.resource_type, name, path)
        if op == 'like' and kind == 'resource_id':  # ids are derived: no pattern fits
            raise _invalid("value must not be one of ['id']", path)
        if op == 'in':
            if not isinstance(value, list):
                raise _invalid('expected a list for dictionary value', path)
            if not value:
                raise _invalid('length of value must be at least 1 for dictionary value',
                               path)
            return {name: [self.value(name, kind, op, v, '%s[%d]' % (path, i), 'expected str')
                           for i, v in enumerate(value)]}
        if op == 'like' and (kind not in _LIKE_KINDS or not isinstance(value, str)):
            raise InvalidValue(name, value, path)
        return {name: self.value(name, kind, op, value, path)}

    def value(self, name, kind, op, value, path,
              not_a_value='expected str for dictionary value'):
        if isinstance(value, (dict, list)):
            raise _invalid(not_a_value, path)
        if value is None or op == 'like':
            return value
        try:
            if kind == 'resource_id':
                return resource_ids.resource_uuid(str(value), self.creator)
            return _CONVERT[kind](value)
        except (ValueError, TypeError, OverflowError):
            raise InvalidValue(name, value, path) from None


def validate_query(query, definition, creator=None, resource_type='generic'):
    """``query`` checked against the generic attributes and the custom ones of a type's
    ``definition`` (``{name: {"type": ...}}``); None for an empty query.

    Values take the attribute's type; non-UUID ``id`` values become the UUID Gnocchi derives
    with ``creator`` (a ``like`` pattern is left alone). InvalidQuery (UnknownAttribute,
    InvalidValue) names the offending part.
    """
    if query is None or query == {}:
        return None
    return _Checker(attribute_kinds(definition), resource_type, creator).node(query, 'data')


def attribute_kinds(definition):
    """Every attribute a query or a sort may name: ``{name: kind}`` (generic ones win)."""
    return dict({name: spec['type'] for name, spec in definition.items()},
                **GENERIC_ATTRIBUTES)


def parse_sort(keys, known):
    """``[(attribute, descending, nulls_first)]`` of ``attr[:asc|desc][-nullsfirst|-nullslast]``
    keys; nulls sort as PostgreSQL's default (last ascending, first descending) unless the
    key says otherwise. InvalidPagination for a bad key or one not in ``known``."""
    out = []
    for key in keys:
        match = _SORT.match(key.strip()) if isinstance(key, str) else None
        if match is None or match['key'] not in known:
            raise InvalidPagination('Sort key supplied is invalid: %s' % (key,))
        direction = match['dir'] or 'asc'
        if direction not in ('asc', 'desc'):
            raise InvalidPagination("Unknown sort direction, must be 'desc' or 'asc'")
        descending = direction == 'desc'
        nulls = match['nulls'] or ('nullsfirst' if descending else 'nullslast')
        out.append((match['key'], descending, nulls == 'nullsfirst'))
    return out
