"""The search suite of tests/unit (run there on SQLite) on a real PostgreSQL: the same
queries, sorts, pages and deletions give the same answers."""

import uuid

import psycopg2
import pytest

from telewatch.archive import policy as policy_mod
from telewatch.archive.index import indexer as indexer_mod
from tests.unit.archive.index.test_search import *  # noqa: F401,F403 (the shared tests)


@pytest.fixture
def indexer(postgresql_url):
    name = 'tw_search_%s' % uuid.uuid4().hex[:12]
    admin = psycopg2.connect(postgresql_url, connect_timeout=10)
    admin.autocommit = True
    admin.cursor().execute('CREATE DATABASE %s' % name)
    indexer = indexer_mod.Indexer(postgresql_url.rsplit('/', 1)[0] + '/' + name)
    try:
        indexer.upgrade()
        for policy in policy_mod.builtin_policies().values():
            indexer.create_archive_policy(policy)
        yield indexer
    finally:
        indexer.close()
        admin.cursor().execute('DROP DATABASE %s WITH (FORCE)' % name)
        admin.close()
