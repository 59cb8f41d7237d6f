"""A real ArchiveStore on a temporary directory and the operation Context of two projects."""

import datetime

import pytest

from telewatch import service
from telewatch.archive import store as store_mod
from telewatch.cloudwatch import Context

NOW = datetime.datetime(2026, 12, 7, 12, 0, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture
def store(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('sacks', 4, group='archive')
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    store.conf = conf
    yield store
    store.close()


def make_context(store, project='alice-project', user='alice', now=NOW):
    return Context(project_id=project, user_id=user, access_key='AKIDEXAMPLE',
                   request_id='req-1', now=now, conf=store.conf, store=store, alarms=None)


@pytest.fixture
def ctx(store):
    return make_context(store)


@pytest.fixture
def bob(store):
    return make_context(store, 'bob-project', 'bob')
