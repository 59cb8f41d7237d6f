"""An index that fills up (SQLite's SQLITE_FULL, made real with ``max_page_count``, and
PostgreSQL's disk_full) is a retryable InsufficientStorage, and the transaction it broke
left nothing behind: what was acknowledged is exactly what is there."""

import uuid

import pytest
import sqlalchemy as sa

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import sql
from telewatch.archive.index import indexer as indexer_mod


def test_a_full_sqlite_index_refuses_whole_transactions(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'index.sqlite')
    setup = indexer_mod.Indexer(url)
    setup.upgrade()
    setup.create_archive_policy(policy_mod.builtin_policies()['low'])
    setup.close()
    indexer = indexer_mod.Indexer(url)
    pages = indexer.engine.connect().exec_driver_sql('PRAGMA page_count').scalar()
    sa.event.listen(indexer.engine, 'connect', lambda conn, _: conn.execute(
        'PRAGMA max_page_count = %d' % (pages + 4)))
    acknowledged = []
    with pytest.raises(errors.InsufficientStorage, match='database or disk is full'):
        for _ in range(1000):
            batch = [indexer_mod.Metric(str(uuid.uuid4()), 'low', 'admin', None,
                                        'm' * 200, None) for _ in range(10)]
            indexer.create_metrics(batch)
            acknowledged += [m.id for m in batch]
    assert acknowledged
    every = len(acknowledged) + 10
    assert sorted(m.id for m in indexer.search_metrics(limit=every, max_limit=every)) == sorted(
        acknowledged)


class _DiskFull(Exception):
    pgcode = '53100'


@pytest.mark.parametrize('kind', [sa.exc.OperationalError, sa.exc.InternalError])
def test_postgresql_disk_full_is_insufficient_storage(kind):
    with pytest.raises(errors.InsufficientStorage):
        with sql.retryable_errors('index'):
            raise kind('INSERT', {}, _DiskFull('could not extend file'))


def test_other_database_errors_keep_their_meaning():
    with pytest.raises(errors.StorageUnavailable) as caught:
        with sql.retryable_errors('index'):
            raise sa.exc.OperationalError('SELECT', {}, Exception('server closed'))
    assert not isinstance(caught.value, errors.InsufficientStorage)
    with pytest.raises(sa.exc.IntegrityError):
        with sql.retryable_errors('index'):
            raise sa.exc.IntegrityError('INSERT', {}, Exception('duplicate key'))
