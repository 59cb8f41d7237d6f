"""The index these tests share: SQLite in a temporary directory, upgraded, with Gnocchi's
and Ceilometer's default archive policies. tests/functional runs the same tests with a
PostgreSQL ``indexer`` of its own."""

import pytest

from telewatch.archive import policy as policy_mod
from telewatch.archive.index import indexer as indexer_mod


@pytest.fixture
def indexer(tmp_path):
    indexer = indexer_mod.Indexer('sqlite:///%s' % (tmp_path / 'index.sqlite'))
    indexer.upgrade()
    for policy in policy_mod.builtin_policies().values():
        indexer.create_archive_policy(policy)
    yield indexer
    indexer.close()
