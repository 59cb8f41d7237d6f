"""Aodh's complex queries compiled to SQLAlchemy: ``{"and": [{"=": {"name": "x"}}, ...]}``
filters (``=``, ``!=``, ``<``, ``<=``/``=<``, ``>``, ``>=``/``=>``, ``in``, ``and``, ``or``,
``not``; operators in any case) and ``[{"name": "asc"}]`` orders, checked as Aodh checks
them (``and``/``or`` take at least two operands, ``in`` a non-empty list, a leaf exactly one
field), the field names ``user`` and ``project`` read as ``user_id`` and ``project_id``, and
ISO 8601 texts of timestamp fields read as naive UTC times. Pure: no I/O.
"""

import datetime
import operator

import sqlalchemy as sa

COMPARISONS = {
    '=': operator.eq, '!=': operator.ne, '<': operator.lt, '>': operator.gt,
    '<=': operator.le, '=<': operator.le, '>=': operator.ge, '=>': operator.ge,
}
COMBINATIONS = {'and': sa.and_, 'or': sa.or_}
DIRECTIONS = ('asc', 'desc')
NAME_MAPPING = {'user': 'user_id', 'project': 'project_id'}
# Deeper filters are refused rather than walked (a recursion, and no real query nests so).
MAX_DEPTH = 32


class InvalidQuery(ValueError):
    """A filter or order Aodh would refuse; the text says what is wrong (the API's 400)."""


def field_of(name, columns):
    """The column of a field name (``user``/``project`` mapped); InvalidQuery otherwise."""
    column = columns.get(NAME_MAPPING.get(name, name)) if isinstance(name, str) else None
    if column is None:
        raise InvalidQuery('%r is not a field one can query on (%s)'
                           % (name, ', '.join(sorted(columns))))
    return column


def timestamp(value):
    """A naive UTC datetime of an ISO 8601 text (or of a datetime)."""
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value).strip().replace('Z', '+00:00'))
        except ValueError:
            raise InvalidQuery('Failed to parse the timestamp value %s' % (value,)) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


def _single(node, what):
    if not isinstance(node, dict) or len(node) != 1:
        raise InvalidQuery('%s must be an object with exactly one key, not %s'
                           % (what, _short(node)))
    (key, value), = node.items()
    if not isinstance(key, str):
        raise InvalidQuery('%s: %r is not an operator' % (what, key))
    return key, value


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + '...'


def _value(column, value, timestamps):
    if column.name in timestamps and value is not None:
        return timestamp(value)
    if value is not None and not isinstance(value, (str, int, float, bool)):
        raise InvalidQuery('%s: a string, number or boolean is required, not %s'
                           % (column.name, _short(value)))
    return value


def _leaf(op, operand, columns, timestamps):
    name, value = _single(operand, 'the operand of %r' % op)
    column = field_of(name, columns)
    if op == 'in':
        if not isinstance(value, list) or not value:
            raise InvalidQuery('in: %s needs a non-empty list of values, not %s'
                               % (name, _short(value)))
        return column.in_([_value(column, item, timestamps) for item in value])
    value = _value(column, value, timestamps)
    if value is None and op in ('=', '!='):
        return column.is_(None) if op == '=' else column.is_not(None)
    if value is None:
        raise InvalidQuery('%s: null can only be compared with = or !=' % name)
    return COMPARISONS[op](column, value)


def compile_filter(tree, columns, timestamps=(), depth=0):
    """The SQLAlchemy condition of a filter over ``columns`` ({field: Column}); the values
    of the fields in ``timestamps`` are read as times. InvalidQuery says what is wrong."""
    if depth > MAX_DEPTH:
        raise InvalidQuery('the filter nests deeper than %d levels' % MAX_DEPTH)
    op, operand = _single(tree, 'a filter expression')
    op = op.lower()
    if op in COMBINATIONS:
        if not isinstance(operand, list) or len(operand) < 2:
            raise InvalidQuery('%s needs a list of at least two expressions, not %s'
                               % (op, _short(operand)))
        return COMBINATIONS[op](*[compile_filter(item, columns, timestamps, depth + 1)
                                  for item in operand])
    if op == 'not':
        return sa.not_(compile_filter(operand, columns, timestamps, depth + 1))
    if op in COMPARISONS or op == 'in':
        return _leaf(op, operand, columns, timestamps)
    raise InvalidQuery('%r is not an operator (%s)' % (
        op, ', '.join(list(COMPARISONS) + ['in'] + list(COMBINATIONS) + ['not'])))


def compile_orderby(orderby, columns):
    """``[(column, 'asc' | 'desc'), ...]`` of an order list ``[{"name": "asc"}, ...]``."""
    if not isinstance(orderby, list):
        raise InvalidQuery('the order must be a list of {field: "asc" | "desc"}, not %s'
                           % _short(orderby))
    order = []
    for item in orderby:
        name, direction = _single(item, 'an order item')
        direction = direction.lower() if isinstance(direction, str) else direction
        if direction not in DIRECTIONS:
            raise InvalidQuery('%s: the direction must be asc or desc, not %s'
                               % (name, _short(direction)))
        order.append((field_of(name, columns), direction))
    return order


def order_clauses(order):
    """ORDER BY clauses with the same place for NULLs on every database (first when
    ascending, last when descending), which ``after`` relies on."""
    return [column.asc().nullsfirst() if direction == 'asc' else column.desc().nullslast()
            for column, direction in order]


def after(order, values):
    """The condition selecting the rows after the one whose sort values are ``values`` (a
    keyset page's marker) in ``order`` (which must end with a unique column)."""
    alternatives = []
    for index, (column, direction) in enumerate(order):
        ties = [_equal(c, v) for (c, _), v in zip(order[:index], values[:index])]
        beyond = _beyond(column, direction, values[index])
        if beyond is not None:
            alternatives.append(sa.and_(*ties, beyond))
    return sa.or_(*alternatives) if alternatives else sa.false()


def _equal(column, value):
    return column.is_(None) if value is None else column == value


def _beyond(column, direction, value):
    if direction == 'asc':  # NULLs first
        return column.is_not(None) if value is None else column > value
    if value is None:  # NULLs last: nothing after them but ties
        return None
    return sa.or_(column < value, column.is_(None))
