"""The archive's "metrics aggregated" stream: which metrics each processing round has just
aggregated, kept in the index's database for readers on any host to follow with a cursor.

Writers (``ArchiveStore.process``, whoever calls it) append one row per round; readers ask
for what came after their cursor, a row's position. Readers must never skip a row that
commits after a later one: on PostgreSQL the insert takes the table's EXCLUSIVE lock for its
short transaction (plain SELECTs are not blocked by it), so positions are handed out in
commit order; SQLite has a single writer anyway. Rows older than ``keep_seconds`` are
pruned by the writers, at most every ``PRUNE_SECONDS``.
"""

import datetime
import threading
import time

import sqlalchemy as sa

from telewatch.archive import sql
from telewatch.archive.index import schema

# A reader further behind than this (an evaluator stopped for an hour) has lost rows; what
# it lost, its own periodic pass finds.
KEEP_SECONDS = 3600.0
PRUNE_SECONDS = 60.0
READ_ROWS = 1000  # rows per read: a reader far behind catches up in several reads

_TABLE = schema.metric_aggregated
_LAST = sa.select(sa.func.max(_TABLE.c.id))
_AFTER = sa.select(_TABLE.c.id, _TABLE.c.metric_ids).where(
    _TABLE.c.id > sa.bindparam('cursor')).order_by(_TABLE.c.id).limit(sa.bindparam('rows'))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class AggregatedStream:
    """The stream in the database of ``engine`` (the index's)."""

    def __init__(self, engine, keep_seconds=KEEP_SECONDS):
        self.engine = engine
        self.keep_seconds = keep_seconds
        self._pruned_at = None  # time.monotonic() of this writer's last pruning
        self._prune_lock = threading.Lock()

    def _begin(self):
        return sql.transaction(self.engine, 'archive index')

    def record(self, metric_ids, now=None):
        """Append one row naming ``metric_ids`` (a round's; nothing for none); prune the
        old rows now and then. StorageUnavailable when the database cannot be reached."""
        metric_ids = [str(m) for m in metric_ids]
        if not metric_ids:
            return
        now = now or utcnow()
        with self._begin() as conn:
            insert(conn, metric_ids, now)
        self._prune_now_and_then(now)

    def since(self, cursor=None, rows=READ_ROWS):
        """``(cursor, metric ids)``: the metrics aggregated after ``cursor`` (each once,
        in the order first seen), at most ``rows`` rows of them, and the cursor to give
        next. Without a cursor, none: the cursor of the stream's end (start from now)."""
        with self._begin() as conn:
            if cursor is None:
                return conn.execute(_LAST).scalar() or 0, []
            found = conn.execute(_AFTER, {'cursor': cursor, 'rows': rows}).all()
        if not found:
            return cursor, []
        ids = dict.fromkeys(m for row in found for m in row.metric_ids.split(','))
        return found[-1].id, list(ids)

    def prune(self, now=None):
        """Delete the rows older than ``keep_seconds``; how many."""
        before = (now or utcnow()) - datetime.timedelta(seconds=self.keep_seconds)
        with self._begin() as conn:
            return conn.execute(_TABLE.delete().where(_TABLE.c.created_at < before)).rowcount

    def _prune_now_and_then(self, now):
        with self._prune_lock:
            moment = time.monotonic()
            if self._pruned_at is not None and moment - self._pruned_at < PRUNE_SECONDS:
                return
            self._pruned_at = moment
        self.prune(now)


def insert(conn, metric_ids, now):
    """Insert a row in ``conn``'s transaction; its position is visible in commit order."""
    if conn.dialect.name == 'postgresql':
        conn.execute(sa.text('LOCK TABLE metric_aggregated IN EXCLUSIVE MODE'))
    conn.execute(_TABLE.insert(), {'created_at': now, 'metric_ids': ','.join(metric_ids)})
