"""Contexts of the CloudWatch operations' unit tests: a real AlarmStore on SQLite in the test's
directory, two projects (alice's and bob's)."""

import datetime

import pytest

from telewatch.alarms import storage
from telewatch.cloudwatch import Context


@pytest.fixture
def alarm_store(tmp_path):
    store = storage.AlarmStore('sqlite:///%s' % (tmp_path / 'alarms.db'))
    store.upgrade()
    yield store
    store.close()


def make_context(conf, alarm_store, project_id, archive=None, now=None):
    return Context(project_id=project_id, user_id='user-' + project_id, access_key='AKIA',
                   request_id='req-1', now=now or datetime.datetime.now(datetime.timezone.utc),
                   conf=conf, store=archive, alarms=alarm_store, region='RegionOne')


@pytest.fixture
def ctx(conf, alarm_store):
    return make_context(conf, alarm_store, 'alice')


@pytest.fixture
def bob(conf, alarm_store):
    return make_context(conf, alarm_store, 'bob')
