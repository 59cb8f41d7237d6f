"""Subscriptions and their delivery counters, in the archive index's database (the API and
every telewatch-pubsub instance share it; tables in telewatch.archive.index.schema).

Each pubsub instance (a ``worker``: host and process id) adds what it delivered, dropped,
failed and skipped since its last report to its own counter row per subscription, and sets
its queue length there; a subscription's counters are the sums over the instances. Deleting
a subscription deletes its counters.
"""

import datetime
import uuid

import sqlalchemy as sa

from telewatch.archive import errors
from telewatch.archive import sql
from telewatch.archive.index import schema

COUNTERS = ('delivered', 'dropped', 'failed', 'skipped')
FIELDS = ('name', 'meters', 'resources', 'projects', 'interval', 'target')
_T = schema.subscription
_C = schema.subscription_counter


class NoSuchSubscription(errors.NamedEntryError):
    """No such subscription."""

    cause = 'Subscription'
    text = 'Subscription %s does not exist'


class SubscriptionAlreadyExists(errors.NamedEntryError):
    """The project has a subscription of that name."""

    cause = 'Subscription'
    text = 'Subscription %s already exists in this project'


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _to_row(document):
    row = {key: document[key] for key in FIELDS if key in document and key != 'interval'}
    if 'interval' in document:
        row['sampling_interval'] = document['interval']
    return row


def _from_row(row):
    document = {'id': row['id'], 'name': row['name'], 'project_id': row['project_id'],
                'user_id': row['user_id'], 'meters': row['meters'],
                'resources': row['resources'], 'projects': row['projects'],
                'interval': row['sampling_interval'], 'target': row['target'],
                'created_at': row['created_at'], 'updated_at': row['updated_at'],
                'revision': row['revision']}
    return document


class SubscriptionRegistry:
    """Subscriptions in the database of ``url`` (or an existing engine, such as the
    archive index's). Documents are dicts with the keys of ``FIELDS`` plus id,
    project_id, user_id, created_at, updated_at and revision."""

    def __init__(self, url=None, engine=None):
        self.engine = engine if engine is not None else sql.engine_from_url(url)

    def _begin(self):
        return sql.transaction(self.engine, 'subscriptions')

    def create(self, document, project_id, user_id):
        now = _now()
        row = dict(_to_row(document), id=str(uuid.uuid4()), project_id=project_id,
                   user_id=user_id, created_at=now, updated_at=now, revision=1)
        row.setdefault('resources', None)
        row.setdefault('projects', None)
        row.setdefault('sampling_interval', None)
        try:
            with self._begin() as conn:
                conn.execute(_T.insert(), row)
        except sa.exc.IntegrityError:
            raise SubscriptionAlreadyExists(document['name']) from None
        return _from_row(row)

    def get(self, subscription_id):
        with self._begin() as conn:
            row = conn.execute(_T.select().where(_T.c.id == subscription_id)).mappings().first()
        if row is None:
            raise NoSuchSubscription(subscription_id)
        return _from_row(row)

    def list(self, project_id=None, limit=None, marker=None):
        """Subscriptions by id (of ``project_id`` only, unless None), after ``marker``."""
        query = _T.select().order_by(_T.c.id)
        if project_id is not None:
            query = query.where(_T.c.project_id == project_id)
        if marker is not None:
            query = query.where(_T.c.id > marker)
        if limit is not None:
            query = query.limit(limit)
        with self._begin() as conn:
            return [_from_row(row) for row in conn.execute(query).mappings()]

    def update(self, subscription_id, changes):
        values = dict(_to_row(changes), updated_at=_now(), revision=_T.c.revision + 1)
        try:
            with self._begin() as conn:
                if not conn.execute(_T.update().where(_T.c.id == subscription_id)
                                    .values(**values)).rowcount:
                    raise NoSuchSubscription(subscription_id)
        except sa.exc.IntegrityError:
            raise SubscriptionAlreadyExists(changes.get('name')) from None
        return self.get(subscription_id)

    def delete(self, subscription_id):
        with self._begin() as conn:
            # Not left to ON DELETE CASCADE: SQLite enforces it only with foreign keys on.
            conn.execute(_C.delete().where(_C.c.subscription_id == subscription_id))
            if not conn.execute(_T.delete().where(_T.c.id == subscription_id)).rowcount:
                raise NoSuchSubscription(subscription_id)

    def fingerprint(self):
        """Changes whenever a subscription is created, updated or deleted (cheap to ask)."""
        with self._begin() as conn:
            return tuple(conn.execute(sa.select(
                sa.func.count(), sa.func.max(_T.c.updated_at),
                sa.func.sum(_T.c.revision))).one())

    # -- counters ----------------------------------------------------------------------------

    def add_counters(self, worker, deltas, queue_lengths):
        """Add ``deltas`` ({subscription id: {counter: n}}) to ``worker``'s rows and set its
        queue lengths ({subscription id: n}); rows of deleted subscriptions are skipped."""
        now = _now()
        ids = set(deltas) | set(queue_lengths)
        if not ids:
            return
        with self._begin() as conn:
            existing = set(conn.execute(sa.select(_C.c.subscription_id).where(
                _C.c.worker == worker, _C.c.subscription_id.in_(ids))).scalars())
            alive = set(conn.execute(sa.select(_T.c.id).where(_T.c.id.in_(ids))).scalars())
            for subscription_id in sorted(ids & alive):
                delta = deltas.get(subscription_id, {})
                queued = queue_lengths.get(subscription_id, 0)
                if subscription_id in existing:
                    conn.execute(_C.update().where(
                        _C.c.subscription_id == subscription_id, _C.c.worker == worker)
                        .values(updated_at=now, queue_length=queued,
                                **{name: getattr(_C.c, name) + delta.get(name, 0)
                                   for name in COUNTERS}))
                else:
                    conn.execute(_C.insert(), dict(
                        subscription_id=subscription_id, worker=worker, updated_at=now,
                        queue_length=queued,
                        **{name: delta.get(name, 0) for name in COUNTERS}))

    def counters(self, subscription_ids):
        """{subscription id: {counter: total, 'queue_length': n, 'workers': k}}."""
        totals = {subscription_id: dict.fromkeys(COUNTERS + ('queue_length', 'workers'), 0)
                  for subscription_id in subscription_ids}
        if not totals:
            return totals
        columns = [sa.func.sum(getattr(_C.c, name)) for name in COUNTERS + ('queue_length',)]
        with self._begin() as conn:
            rows = conn.execute(sa.select(_C.c.subscription_id, sa.func.count(), *columns)
                                .where(_C.c.subscription_id.in_(list(totals)))
                                .group_by(_C.c.subscription_id)).all()
        for subscription_id, workers, *sums in rows:
            totals[subscription_id].update(zip(COUNTERS + ('queue_length',),
                                               (int(value or 0) for value in sums)))
            totals[subscription_id]['workers'] = workers
        return totals
