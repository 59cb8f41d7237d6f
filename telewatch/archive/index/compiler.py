"""SQL of validated queries of Gnocchi's query language (``query``) over resource rows, on
SQLite and PostgreSQL alike; the searches (``search``) run it."""

import datetime
import hashlib
import operator

import sqlalchemy as sa

from telewatch.archive.index import query as query_mod

_COMPARE = {'eq': operator.eq, 'ne': operator.ne, 'lt': operator.lt, 'le': operator.le,
            'gt': operator.gt, 'ge': operator.ge}
_SQL_TYPES = {'number': sa.Float, 'bool': sa.Boolean}
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


def json_attribute(column, name, kind, dialect):
    """A custom attribute of the JSON ``column``, of its ``kind``'s SQL type. The path is
    written in the SQL (not a parameter), so that SQLite uses the expression indexes the
    index keeps on each type's attributes (``attribute_index``); names are checked
    (``resource_types``: letters, digits, ``_``, ``-``)."""
    if dialect == 'sqlite':
        field = sa.func.json_extract(column, sa.literal_column("'$.\"%s\"'" % name))
    else:
        field = column.op('->>')(sa.literal_column("'%s'" % name))
    return sa.cast(field, _SQL_TYPES.get(kind, sa.String))


def attribute_index(resource_type, name, kind, dialect):
    """The index (unbound: ``create``/``drop`` it on a connection) of a custom attribute of
    ``resource_type`` that searches filter and sort by: over that type's rows alone, then
    in the default order, so that a page of those of one value is read in order."""
    table = sa.Table('resource', sa.MetaData(), sa.Column('id', sa.String),
                     sa.Column('type', sa.String), sa.Column('attributes', sa.JSON),
                     sa.Column('revision_start', sa.DateTime),
                     sa.Column('started_at', sa.DateTime))
    digest = hashlib.sha1(('%s\0%s\0%s' % (resource_type, name, kind)).encode())
    only = table.c.type == sa.literal_column(_quoted(resource_type))
    return sa.Index('ix_resource_attr_%s' % digest.hexdigest()[:20],
                    json_attribute(table.c.attributes, name, kind, dialect),
                    table.c.revision_start, table.c.started_at, table.c.id,
                    sqlite_where=only, postgresql_where=only)


def _quoted(text):
    return "'%s'" % text.replace("'", "''")


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
        return json_attribute(self.c.attributes, name, self.kinds[name], self.dialect)

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
