"""The Indexer's searches (the ``Searches`` mixin) in Gnocchi's query language, a page at a
time: resources (their current revisions, or every revision) and metrics; and the deletion of
the resources a query matches, with their metrics.

A page is ``limit`` items after ``marker`` in the sort order, with ``id`` (then, for history,
``revision``) breaking ties so that pages neither skip nor repeat. A past revision is
numbered by ``resource_history.revision``; a resource's current revision is numbered
``CURRENT_REVISION`` (-1, as Gnocchi does), so the marker ``"<id>@-1"`` stays valid however
often the resource changes afterwards.
"""

import dataclasses
import typing

import sqlalchemy as sa

from telewatch.archive.index import compiler as compiler_mod
from telewatch.archive.index import query as query_mod
from telewatch.archive.index import records
from telewatch.archive.index import schema

MAX_LIMIT = 1000
CURRENT_REVISION = -1
DEFAULT_RESOURCE_SORT = ('revision_start:asc', 'started_at:asc')
DEFAULT_METRIC_SORT = ('id:asc',)
METRIC_FILTERS = ('name', 'id', 'unit', 'archive_policy_name', 'creator', 'user_id',
                  'project_id', 'status')
METRIC_SORT_KEYS = ('id', 'name', 'unit', 'archive_policy_name', 'creator', 'resource_id',
                    'status')
EMPTY_DELETE = 'caution: the query can not be empty, or it will delete entire database'
_COLUMNS = ('id', 'type', 'original_resource_id', 'creator', 'user_id', 'project_id',
            'started_at', 'ended_at', 'revision_start', 'attributes')
_CHUNK = 1000  # ids per IN (...): a default page needs one query for its metrics


@dataclasses.dataclass(frozen=True)
class ResourceRevision(records.Resource):
    """One revision of a resource, as history searches return them (metrics: the current
    ones, as Gnocchi shows them on every revision)."""

    revision: int = CURRENT_REVISION


class Deleted(typing.NamedTuple):
    """What delete_resources removed: how many resources, and the ids of their metrics
    (whose series the caller drops)."""

    count: int
    metric_ids: list


def history_marker(revision):
    """``"<id>@<revision>"``: the marker after a ResourceRevision of a history search."""
    return '%s@%d' % (revision.id, revision.revision)


def marker_of(item):
    """The ``marker`` that continues a listing after ``item`` (a Resource, a
    ResourceRevision or a Metric)."""
    return history_marker(item) if hasattr(item, 'revision') else item.id


def _rows(resource_type, history):
    """The resource rows searched: current revisions (``revision`` -1, ``revision_end``
    null), with every past one if ``history``; only those of ``resource_type`` unless it
    is ``generic``."""
    current = schema.resource
    parts = [sa.select(*[current.c[n] for n in _COLUMNS],
                       sa.literal_column(str(CURRENT_REVISION), sa.Integer).label('revision'),
                       sa.cast(sa.null(), sa.DateTime).label('revision_end'))]
    if history:
        past = schema.resource_history
        parts.append(sa.select(*[past.c[n] for n in _COLUMNS + ('revision', 'revision_end')]))
    if resource_type != records.GENERIC:
        # Written in the SQL, not a parameter: SQLite then uses the type's partial indexes.
        only = sa.bindparam(None, resource_type, sa.String, literal_execute=True)
        parts = [part.where(part.selected_columns.type == only) for part in parts]
    return (sa.union_all(*parts) if history else parts[0]).subquery('rows')


# -- pages ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Order:
    expression: object
    descending: bool = False
    nulls_first: bool = False

    def clause(self):
        ordered = self.expression.desc() if self.descending else self.expression.asc()
        if not self.nullable:  # no NULLS: an index in the default order serves it
            return ordered
        return ordered.nulls_first() if self.nulls_first else ordered.nulls_last()

    @property
    def nullable(self):
        return getattr(self.expression, 'nullable', True)

    def beyond(self, value):
        """Rows after ``value`` in this key's order; None if none can be."""
        if value is None:
            return self.expression.is_not(None) if self.nulls_first else None
        value = compiler_mod.bound(self.expression, value)
        after = (self.expression < value) if self.descending else (self.expression > value)
        if self.nulls_first or not self.nullable:
            return after
        return sa.or_(after, self.expression.is_(None))


def _same(expression, value):
    if value is None:
        return expression.is_(None)
    return expression == compiler_mod.bound(expression, value)


def _after(orders, values):
    """Rows strictly after the marker row (whose sort values are ``values``)."""
    alternatives = []
    for index, (order, value) in enumerate(zip(orders, values)):
        beyond = order.beyond(value)
        if beyond is not None:
            alternatives.append(sa.and_(
                *[_same(o.expression, v) for o, v in zip(orders[:index], values[:index])],
                beyond))
    return sa.or_(*alternatives) if alternatives else sa.false()


def _marker_values(conn, orders, where, marker):
    row = conn.execute(sa.select(*[o.expression.label('k%d' % i)
                                   for i, o in enumerate(orders)]).where(*where)).first()
    if row is None:
        raise query_mod.InvalidPagination("Invalid marker: `%s'" % (marker,))
    return list(row)


def _limit(limit, max_limit):
    if limit is None:
        return max_limit
    try:
        number = int(limit)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise query_mod.InvalidPagination('Invalid limit: %s' % (limit,))
    return min(number, max_limit)


def _sort_keys(sort, default):
    keys = [sort] if isinstance(sort, str) else list(sort or ())
    return keys or list(default)


def _resource_marker(marker, history):
    """``(id, revision)`` of a marker: ``<id>`` or, for history, ``<id>@<revision>``."""
    resource_id, at, revision = str(marker).partition('@')
    try:
        number = int(revision) if at else CURRENT_REVISION
    except ValueError:
        number = None
    if number is None or (not history and number != CURRENT_REVISION):
        raise query_mod.InvalidPagination("Invalid marker: `%s'" % (marker,))
    return resource_id, number


def _chunks(items):
    items = list(items)
    return [items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK)]


# -- resources -----------------------------------------------------------------------------

def _definition(indexer, resource_type):
    if resource_type == records.GENERIC:
        return {}
    return indexer.get_resource_type(resource_type)['attributes']


def _conditions(compiler, queries):
    return [compiler.where(q) for q in queries if q is not None]


def _metrics_of(conn, resource_ids):
    metric = schema.metric
    names = {}
    for chunk in _chunks(sorted(resource_ids)):
        for resource_id, name, metric_id in conn.execute(sa.select(
                metric.c.resource_id, metric.c.name, metric.c.id).where(
                metric.c.resource_id.in_(chunk), metric.c.status == 'active')).all():
            names.setdefault(resource_id, {})[name] = metric_id
    return names


def _resource(row, metrics, history):
    fields = {name: row[name] for name in _COLUMNS}
    fields.update(metrics=dict(metrics.get(row['id'], {})), revision_end=row['revision_end'])
    if history:
        return ResourceRevision(revision=row['revision'], **fields)
    return records.Resource(**fields)


# -- metrics -------------------------------------------------------------------------------

def _metric_conditions(filters, project_scope, dialect):
    metric = schema.metric
    unknown = sorted(set(filters) - set(METRIC_FILTERS))
    if unknown:
        raise query_mod.InvalidQuery('Unknown metric filters: %s' % ', '.join(unknown))
    status = filters.get('status', 'active')
    if status not in ('active', 'delete'):
        raise query_mod.InvalidValue('status', status)
    where = [metric.c.status == status]
    where += [metric.c[name] == filters[name]
              for name in ('name', 'id', 'unit', 'archive_policy_name', 'creator')
              if name in filters]
    creator_part = compiler_mod.creator_part
    for name, project in (('user_id', False), ('project_id', True)):
        if name in filters:
            where.append(creator_part(metric.c.creator, dialect, project) == filters[name])
    if project_scope is not None:
        resource = schema.resource
        owned = sa.select(resource.c.id).where(sa.or_(
            resource.c.project_id == project_scope,
            creator_part(resource.c.creator, dialect, True) == project_scope))
        where.append(sa.or_(creator_part(metric.c.creator, dialect, True) == project_scope,
                            metric.c.resource_id.in_(owned)))
    return where


# -- the indexer's searches -----------------------------------------------------------------

class Searches:
    """The Indexer's searches (a mixin: they need its ``_begin`` and ``get_resource_type``)."""

    MAX_LIMIT = MAX_LIMIT
    marker_of = staticmethod(marker_of)
    parse_filter = staticmethod(query_mod.parse_filter_string)

    def search_resources(self, resource_type, query=None, sort=(), limit=None, marker=None,
                         history=False, attribute_filter=None, creator=None,
                         max_limit=MAX_LIMIT):
        """One page of the resources of ``resource_type`` (every type for ``generic``) that
        ``query`` and ``attribute_filter`` (both JSON queries, ANDed) match.

        ``sort``: ``attr[:asc|desc][-nullsfirst|-nullslast]`` keys (default
        ``revision_start:asc, started_at:asc``); ``limit``: at most ``max_limit`` (the
        default); ``marker``: ``marker_of`` the last item of the previous page. With
        ``history`` every revision is searched and ResourceRevisions are returned. ``creator``
        turns non-UUID ids in the queries into Gnocchi's. NoSuchResourceType, InvalidQuery,
        InvalidPagination.
        """
        definition = _definition(self, resource_type)
        kinds = query_mod.attribute_kinds(definition)
        queries = [query_mod.validate_query(q, definition, creator, resource_type)
                   for q in (query, attribute_filter)]
        sorts = query_mod.parse_sort(_sort_keys(sort, DEFAULT_RESOURCE_SORT), kinds)
        limit = _limit(limit, max_limit)
        position = None if marker is None else _resource_marker(marker, history)
        rows = _rows(resource_type, history)
        with self._begin() as conn:
            compiler = compiler_mod.Compiler(rows.c, kinds, conn.dialect.name)
            orders = [_Order(compiler.attribute(name), descending, nulls_first)
                      for name, descending, nulls_first in sorts]
            orders += [_Order(rows.c.id)] + ([_Order(rows.c.revision)] if history else [])
            statement = sa.select(rows).where(*_conditions(compiler, queries))
            if position is not None:
                values = _marker_values(conn, orders, [rows.c.id == position[0],
                                                       rows.c.revision == position[1]], marker)
                statement = statement.where(_after(orders, values))
            found = conn.execute(statement.order_by(*[o.clause() for o in orders])
                                 .limit(limit)).mappings().all()
            metrics = _metrics_of(conn, {row['id'] for row in found})
        return [_resource(row, metrics, history) for row in found]

    def delete_resources(self, resource_type, query, attribute_filter=None, creator=None):
        """Delete the resources of ``resource_type`` (any type for ``generic``) that ``query``
        and ``attribute_filter`` match, with their history and their metrics, in one
        transaction; a Deleted. An empty ``query`` is an InvalidQuery (it would delete all)."""
        definition = _definition(self, resource_type)
        queries = [query_mod.validate_query(q, definition, creator, resource_type)
                   for q in (query, attribute_filter)]
        if queries[0] is None:
            raise query_mod.InvalidQuery(EMPTY_DELETE)
        rows = _rows(resource_type, False)
        resource, metric = schema.resource, schema.metric
        with self._begin() as conn:
            compiler = compiler_mod.Compiler(rows.c, query_mod.attribute_kinds(definition),
                                             conn.dialect.name)
            matching = sa.select(rows.c.id).where(*_conditions(compiler, queries))
            # Locked, so that no metric is attached to them before they go.
            ids = [row[0] for row in conn.execute(sa.select(resource.c.id).where(
                resource.c.id.in_(matching)).with_for_update())]
            metric_ids = []
            for chunk in _chunks(ids):
                metric_ids += [row[0] for row in conn.execute(sa.select(metric.c.id).where(
                    metric.c.resource_id.in_(chunk)))]
                conn.execute(metric.delete().where(metric.c.resource_id.in_(chunk)))
                conn.execute(schema.resource_history.delete().where(
                    schema.resource_history.c.id.in_(chunk)))
                conn.execute(resource.delete().where(resource.c.id.in_(chunk)))
        return Deleted(len(ids), metric_ids)

    def search_metrics(self, filters=None, sort=(), limit=None, marker=None,
                       project_scope=None, max_limit=MAX_LIMIT):
        """One page of the metrics ``GET /v1/metric`` lists.

        ``filters``: equality on ``name id unit archive_policy_name creator status`` (status
        ``active`` unless given) and on the creator's parts ``user_id`` / ``project_id``, as
        Gnocchi. ``project_scope``: only the metrics a member of that project may see (created
        by it, or attached to a resource of it or created by it). ``sort`` (default
        ``id:asc``), ``limit`` and ``marker`` (a metric id) as search_resources.
        InvalidQuery, InvalidPagination.
        """
        sorts = query_mod.parse_sort(_sort_keys(sort, DEFAULT_METRIC_SORT), METRIC_SORT_KEYS)
        limit = _limit(limit, max_limit)
        metric = schema.metric
        with self._begin() as conn:
            where = _metric_conditions(dict(filters or {}), project_scope, conn.dialect.name)
            orders = [_Order(metric.c[name], descending, nulls_first)
                      for name, descending, nulls_first in sorts] + [_Order(metric.c.id)]
            statement = sa.select(metric).where(*where)
            if marker is not None:
                values = _marker_values(conn, orders, [metric.c.id == str(marker)], marker)
                statement = statement.where(_after(orders, values))
            rows = conn.execute(statement.order_by(*[o.clause() for o in orders])
                                .limit(limit)).mappings().all()
        return [records.Metric(**row) for row in rows]

    def count_resources(self):
        """``{resource type: {'active': n, 'ended': n}}`` of every resource (ended: an
        ``ended_at`` is set), for the status page; one grouped count."""
        resource = schema.resource
        ended = resource.c.ended_at.isnot(None)
        with self._begin() as conn:
            rows = conn.execute(sa.select(resource.c.type, ended, sa.func.count())
                                .group_by(resource.c.type, ended)).all()
        counts = {}
        for resource_type, is_ended, count in rows:
            kind = counts.setdefault(resource_type, {'active': 0, 'ended': 0})
            kind['ended' if is_ended else 'active'] += count
        return counts
