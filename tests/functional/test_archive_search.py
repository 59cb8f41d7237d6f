"""The search suite of tests/unit (run there on SQLite) on a real PostgreSQL: the same
queries, sorts, pages and deletions give the same answers."""

import pytest

from tests.unit.archive.index.test_search import *  # noqa: F401,F403 (the shared tests)


@pytest.fixture
def indexer(postgresql_indexer):
    return postgresql_indexer
