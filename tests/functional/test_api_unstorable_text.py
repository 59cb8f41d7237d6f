"""Texts no index can store (NUL, a lone surrogate) are a 400 naming the field with either
index, and what both can store is kept by both: the declarative cases of
tests/cases/api/unstorable_text.yaml against the API on a SQLite index and on a PostgreSQL
one (with PostgreSQL these requests were 500s, with SQLite 201s)."""

import pytest
import webtest

from telewatch import service
from telewatch.api import app as app_mod
from telewatch.archive import store as store_mod
from tests.functional import services
from tests.unit.api import test_http_cases as http_cases


@pytest.fixture(params=['sqlite', 'postgresql'])
def store(request, tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('auth_strategy', 'noauth', group='api')
    if request.param == 'postgresql':
        database = services.scratch_database(request.getfixturevalue('postgresql_url'),
                                             'tw_text')
        conf.set_override('index_url', database.__enter__(), group='archive')
        request.addfinalizer(lambda: database.__exit__(None, None, None))
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    yield conf, store
    store.close()


def test_unstorable_text_is_refused_alike_by_every_index(store):
    conf, store = store
    _, steps = http_cases.load_case(http_cases.CASES / 'unstorable_text.yaml')
    api = webtest.TestApp(app_mod.make_app(conf, store))
    state = http_cases.Steps()
    for step in steps:
        http_cases.run_step(api, state, step)
