"""SQL of validated queries of Gnocchi's query language (``query``) over resource rows, on
SQLite and PostgreSQL alike; the searches (``search``) run it."""

import datetime
import operator

import sqlalchemy as sa

from telewatch.archive.index import query as query_mod

_COMPARE = {'eq': operator.eq, 'ne': operator.ne, 'lt': operator.lt, 'le': operator.le,
            'gt': operator.gt, 'ge': operator.ge}
_GLOB_LITERAL = {'*': '[*]', '?': '[?]', '[': '[[]'}


def creator_part(creator, dialect, project):
    """``created_by_user_id`` (before the first ':') or ``created_by_project_id`` (after
    it; '' when there is no ':') of a ``creator`` column, null when the creator is."""
    colon = (sa.func.instr if dialect == 'sqlite' else sa.func.strpos)(creator, ':')
    if project:
        return sa.case((colon > 0, sa.func.substr(creator, colon + 1)),
                       (creator.is_not(None), sa.literal('')), else_=sa.null())
    return sa.case((colon > 0, sa.func.substr(creator, 1, colon - 1)), else_=creator)


def _lifespan(c, dialect):
    """``ended_at - started_at`` in seconds, exact to the microsecond on both dialects."""
    if dialect != 'sqlite':
        return sa.extract('epoch', c.ended_at - c.started_at)

    # SQLite's date functions keep milliseconds only; SQLAlchemy stores
    # 'YYYY-MM-DD HH:MM:SS.ffffff', so whole seconds and microseconds are taken apart.
    def seconds(column):
        return sa.cast(sa.func.strftime('%s', column), sa.Integer)

    def microseconds(column):
        return sa.cast(sa.func.substr(column, 21), sa.Integer)

    return ((seconds(c.ended_at) - seconds(c.started_at))
            + (microseconds(c.ended_at) - microseconds(c.started_at))
            / sa.literal(1e6, sa.Float))


def _glob(pattern):
    """The GLOB pattern of a LIKE pattern (``%``, ``_``, ``\\`` escapes), so that SQLite
    matches case-sensitively as PostgreSQL does."""
    out, chars = [], iter(pattern)
    for char in chars:
        if char == '\\':
            char = next(chars, '\\')
        elif char in '%_':
            out.append('*' if char == '%' else '?')
            continue
        out.append(_GLOB_LITERAL.get(char, char))
    return ''.join(out)


class Compiler:
    """SQL of validated queries over the columns ``c`` of resource rows."""

    def __init__(self, c, kinds, dialect):
        self.c = c
        self.kinds = kinds
        self.dialect = dialect

    def attribute(self, name):
        if name == 'lifespan':
            return _lifespan(self.c, self.dialect)
        if name in ('created_by_user_id', 'created_by_project_id'):
            return creator_part(self.c.creator, self.dialect, name.endswith('project_id'))
        if name in query_mod.GENERIC_ATTRIBUTES:
            return self.c[name]
        field = self.c.attributes[name]
        kind = self.kinds[name]
        if kind == 'number':
            return field.as_float()
        if kind == 'bool':
            return field.as_boolean()
        return field.as_string()

    def value(self, name, value):
        """Custom datetimes are stored as ISO text, which sorts as the times do."""
        if isinstance(value, datetime.datetime) and name not in query_mod.GENERIC_ATTRIBUTES:
            return value.isoformat()
        return value

    def where(self, node):
        (op, arg), = node.items()
        if op in ('and', 'or'):
            return (sa.and_ if op == 'and' else sa.or_)(*[self.where(n) for n in arg])
        if op == 'not':
            return sa.not_(self.where(arg))
        (name, value), = arg.items()
        expression = self.attribute(name)
        if op == 'in':
            return expression.in_([self.value(name, v) for v in value])
        if op == 'like':
            if self.dialect == 'sqlite':
                return expression.op('GLOB')(_glob(value))
            return expression.like(value)
        value = self.value(name, value)
        if value is None and op in ('eq', 'ne'):
            return _COMPARE[op](expression, None)  # IS (NOT) NULL
        if op == 'ne':  # a missing value differs from any value, as in Gnocchi
            return sa.or_(expression != bound(expression, value), expression.is_(None))
        return _COMPARE[op](expression, bound(expression, value))


def bound(expression, value):
    """``value`` as a parameter of ``expression``'s type: SQLAlchemy refuses ``< True`` or
    ``> None`` written with Python constants, which SQL itself answers."""
    return sa.literal(value, expression.type)
