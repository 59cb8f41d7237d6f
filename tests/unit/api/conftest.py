"""The in-process API the tests of this package talk to: noauth, on the embedded store of
a temporary directory (SQLite index, file storage), with the default policies."""

import pytest
import webtest

from telewatch import service
from telewatch.alarms import storage as alarm_storage
from telewatch.api import app as app_mod
from telewatch.archive import store as store_mod


@pytest.fixture
def conf(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('auth_strategy', 'noauth', group='api')
    return conf


@pytest.fixture
def store(conf):
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    alarm_storage.AlarmStore.from_conf(conf).upgrade()  # its tables, in the index's database
    yield store
    store.close()


@pytest.fixture
def api(conf, store):
    return webtest.TestApp(app_mod.make_app(conf, store))
