"""The alarm store's suite of tests/unit (run there on SQLite) on a real PostgreSQL, in a
database that also holds the archive index: the same migrations, the same answers, and two
version tables side by side."""

import pytest
import sqlalchemy as sa

from telewatch.alarms import storage
from telewatch.archive.index import indexer as indexer_mod
from tests.functional import services
from tests.unit.alarms.storage.test_store import *  # noqa: F401,F403 (the shared tests)


@pytest.fixture
def store(postgresql_url):
    with services.scratch_database(postgresql_url, 'tw_alarms') as url:
        indexer = indexer_mod.Indexer(url)
        indexer.upgrade()
        alarms = storage.AlarmStore(url)
        try:
            alarms.upgrade()
            yield alarms
        finally:
            alarms.close()
            indexer.close()


def test_the_archive_index_keeps_its_own_version_table(store):
    names = set(sa.inspect(store.engine).get_table_names())
    assert {'alembic_version', 'alarms_alembic_version', 'resource', 'alarm'} <= names
