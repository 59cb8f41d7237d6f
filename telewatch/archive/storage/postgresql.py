"""The ``postgresql`` series storage: incoming records and series in PostgreSQL tables, so
processors on several hosts share one store.

A claim is one transaction holding the sack's advisory lock: it reads the sack's records,
writes the series and deletes exactly the records it read, then commits; a processor that
dies inside it changes nothing, and records written meanwhile wait for the next claim.
A full database (PostgreSQL's disk_full) rolls the transaction back: InsufficientStorage,
nothing acknowledged. A damaged series is moved to ``telewatch_corrupt_series``. Each
processor's report for /v1/status is a row of ``telewatch_processors``.
"""

import contextlib
import json
import time

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from telewatch.archive import sql
from telewatch.archive.storage import base

# The first key of the two-key advisory locks: "tw" plus a version, to keep clear of
# other applications' locks in a shared database.
_LOCK_NAMESPACE = 0x74770001
_WAIT_STEP = 0.01

metadata = sa.MetaData()
incoming_table = sa.Table(
    'telewatch_incoming', metadata,
    sa.Column('id', sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column('sack', sa.Integer, nullable=False, index=True),
    sa.Column('record', sa.LargeBinary, nullable=False),
)
series_table = sa.Table(
    'telewatch_series', metadata,
    sa.Column('metric_id', sa.String(36), primary_key=True),
    sa.Column('data', sa.LargeBinary, nullable=False),
)
# What each processor last reported, for /v1/status on every host. UNLOGGED: no WAL to
# write (a status must be told when the WAL's disk is full), and a crash may empty it.
processors_table = sa.Table(
    'telewatch_processors', metadata,
    sa.Column('name', sa.String(255), primary_key=True),
    sa.Column('status', sa.Text, nullable=False),
    prefixes=['UNLOGGED'],
)
corrupt_table = sa.Table(
    'telewatch_corrupt_series', metadata,
    sa.Column('id', sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column('metric_id', sa.String(36), nullable=False),
    sa.Column('data', sa.LargeBinary, nullable=False),
)


class PostgreSQLSeriesStorage(base.SeriesStorage):
    """Series and incoming measures in the PostgreSQL database of ``url``."""

    def __init__(self, url, sacks=32, engine=None):
        super().__init__(sacks)
        self.engine = engine or sql.engine_from_url(url)

    @property
    def location(self):
        return self.engine.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def _connection(self):
        with sql.retryable_errors('PostgreSQL series storage'):
            with self.engine.connect() as conn:
                yield conn

    def upgrade(self):
        with self._connection() as conn:
            metadata.create_all(conn)
            conn.commit()

    def _append(self, records):
        with self._connection() as conn:
            conn.execute(incoming_table.insert(),
                         [{'sack': sack, 'record': record} for sack, record in records.items()])
            conn.commit()

    def _sacks_with_pending(self):
        with self._connection() as conn:
            return [row[0] for row in conn.execute(
                sa.select(incoming_table.c.sack).distinct().order_by(incoming_table.c.sack))]

    @contextlib.contextmanager
    def _claim(self, sack, wait):
        with self._connection() as conn:
            deadline = time.monotonic() + (wait or 0)
            lock = sa.text('SELECT pg_try_advisory_xact_lock(:ns, :sack)')
            while not conn.execute(lock, {'ns': _LOCK_NAMESPACE, 'sack': sack}).scalar():
                conn.rollback()
                if time.monotonic() >= deadline:
                    yield None
                    return
                time.sleep(_WAIT_STEP)
            claim = _PostgreSQLClaim(conn, sack)
            try:
                yield claim
            except BaseException:
                conn.rollback()
                raise
            conn.commit()

    def _load(self, metric_ids):
        with self._connection() as conn:
            return _load(conn, metric_ids)

    def _delete(self, metric_id):
        with self._connection() as conn:
            conn.execute(series_table.delete().where(series_table.c.metric_id == metric_id))
            conn.commit()

    def _pending_records(self):
        with self._connection() as conn:
            return [row[0] for row in conn.execute(
                sa.select(incoming_table.c.record).order_by(incoming_table.c.id))]

    def health(self):
        with self._connection() as conn:
            corrupt = conn.execute(sa.select(sa.func.count()).select_from(corrupt_table))
            return {'free_bytes': None, 'corrupt_series': corrupt.scalar()}

    def report_processor(self, name, status):
        insert = pg.insert(processors_table).values(name=name, status=json.dumps(status))
        with self._connection() as conn:
            conn.execute(insert.on_conflict_do_update(index_elements=['name'],
                                                      set_={'status': insert.excluded.status}))
            conn.commit()

    def processors(self):
        try:
            with self._connection() as conn:
                rows = conn.execute(sa.select(processors_table)).all()
        except sa.exc.ProgrammingError:  # a database telewatch-upgrade did not update yet
            return {}
        return {name: json.loads(status) for name, status in rows}

    def forget_processor(self, name):
        with self._connection() as conn:
            conn.execute(processors_table.delete().where(processors_table.c.name == name))
            conn.commit()

    def close(self):
        self.engine.dispose()


def _load(conn, metric_ids):
    if not metric_ids:
        return {}
    rows = conn.execute(sa.select(series_table.c.metric_id, series_table.c.data)
                        .where(series_table.c.metric_id.in_(metric_ids)))
    return {metric_id: bytes(data) for metric_id, data in rows}


class _PostgreSQLClaim(base.SackClaim):
    def __init__(self, conn, sack):
        self.conn = conn
        self.sack = sack
        self.ids = []

    def records(self):
        rows = self.conn.execute(
            sa.select(incoming_table.c.id, incoming_table.c.record)
            .where(incoming_table.c.sack == self.sack).order_by(incoming_table.c.id)).all()
        self.ids = [row[0] for row in rows]
        return [(None, row[1]) for row in rows]

    def load(self, metric_ids):
        return _load(self.conn, metric_ids)

    def quarantine(self, metric_id):
        where = series_table.c.metric_id == metric_id
        self.conn.execute(corrupt_table.insert().from_select(
            ['metric_id', 'data'], sa.select(series_table.c.metric_id,
                                             series_table.c.data).where(where)))
        self.conn.execute(series_table.delete().where(where))

    def commit(self, series):
        if series:
            insert = pg.insert(series_table)
            self.conn.execute(
                insert.on_conflict_do_update(index_elements=['metric_id'],
                                             set_={'data': insert.excluded.data}),
                [{'metric_id': m, 'data': s.dumps()} for m, s in series.items()])
        if self.ids:
            self.conn.execute(incoming_table.delete().where(incoming_table.c.id.in_(self.ids)))
