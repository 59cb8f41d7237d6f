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


_PG_DISK_FULL = '53100'
_SQLITE_FULL = 13


def disk_full(exc):
    """Whether a SQLAlchemy DBAPIError says the database has no room (PostgreSQL's
    disk_full, SQLite's SQLITE_FULL)."""
    orig = getattr(exc, 'orig', None)
    return (getattr(orig, 'pgcode', None) == _PG_DISK_FULL
            or getattr(orig, 'sqlite_errorcode', None) == _SQLITE_FULL
            or 'database or disk is full' in str(orig))


@contextlib.contextmanager
def retryable_errors(what):
    """Turns SQLAlchemy's errors that a later try may not meet into StorageUnavailable
    naming ``what`` (InsufficientStorage for a full disk); the transaction they broke was
    rolled back, so nothing of it was acknowledged."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        if disk_full(exc):
            raise errors.InsufficientStorage('%s: %s' % (what, exc.orig)) from exc
        if isinstance(exc, sa.exc.OperationalError):
            raise errors.StorageUnavailable('%s: %s' % (what, exc.orig)) from exc
        raise


@contextlib.contextmanager
def transaction(engine, what):
    """A connection in a transaction; a database that cannot be reached or is full raises
    StorageUnavailable naming ``what`` (retry later) instead of SQLAlchemy's error."""
    with retryable_errors(what):
        with engine.begin() as conn:
            yield conn
