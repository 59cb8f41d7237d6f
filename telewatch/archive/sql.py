"""SQLAlchemy engines for the archive's URLs: ``sqlite:///path`` and ``postgresql://...``.

``postgresql://`` means psycopg2 (SQLAlchemy 2.1 would pick psycopg 3); SQLite runs in WAL
mode so that readers do not wait for the writer, with foreign keys enforced.
"""

import contextlib

import sqlalchemy as sa

from telewatch.archive import errors


def engine_from_url(url, **kwargs):
    url = sa.engine.make_url(url)
    if url.drivername == 'postgresql':
        url = url.set(drivername='postgresql+psycopg2')
    if url.get_backend_name() == 'sqlite':
        engine = sa.create_engine(url, **kwargs)
        sa.event.listen(engine, 'connect', _sqlite_pragmas)
        return engine
    kwargs.setdefault('pool_pre_ping', True)
    return sa.create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, record):
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA journal_mode=WAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.close()


@contextlib.contextmanager
def transaction(engine, what):
    """A connection in a transaction; a database that cannot be reached raises
    StorageUnavailable naming ``what`` (retry later) instead of SQLAlchemy's error."""
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.OperationalError as exc:
        raise errors.StorageUnavailable('%s: %s' % (what, exc.orig)) from exc
