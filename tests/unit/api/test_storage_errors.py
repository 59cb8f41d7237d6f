"""What the API answers when its own storage fails: a full disk is a retryable 507 and an
unreachable one a 503, both with Retry-After and nothing acknowledged; a damaged series is
a 500 that says so (and is logged), never a 4xx blaming the client."""

import errno
import logging
import os

import pytest

from telewatch.archive import errors
from telewatch.archive.storage import file as file_storage

ADMIN = {'X-User-Id': 'admin', 'X-Project-Id': 'admin', 'X-Roles': 'admin'}
MEASURES = [{'timestamp': '2024-01-01T10:00:00', 'value': 1.0}]


@pytest.fixture
def metric(api):
    return api.post_json('/v1/metric', {'archive_policy_name': 'low'}, headers=ADMIN).json


def fail_appends(monkeypatch, exc):
    def append(self, records):
        raise exc
    monkeypatch.setattr(file_storage.FileSeriesStorage, '_append', append)


@pytest.mark.parametrize('path', ['/v1/metric/{id}/measures', '/v1/batch/metrics/measures'])
def test_a_full_disk_is_a_retryable_507(api, metric, monkeypatch, path):
    fail_appends(monkeypatch, OSError(errno.ENOSPC, 'No space left on device'))
    body = MEASURES if 'batch' not in path else {metric['id']: MEASURES}
    response = api.post_json(path.format(id=metric['id']), body, headers=ADMIN, status=507)
    assert response.headers['Retry-After'] == '10'
    assert response.json['code'] == 507 and response.json['title'] == 'Insufficient Storage'
    assert response.json['description']['cause'] == 'Insufficient storage'
    assert 'No space left' in response.json['description']['detail']


def test_an_unreachable_storage_is_a_retryable_503(api, metric, monkeypatch):
    fail_appends(monkeypatch, OSError(errno.EIO, 'Input/output error'))
    response = api.post_json('/v1/metric/%s/measures' % metric['id'], MEASURES,
                             headers=ADMIN, status=503)
    assert response.headers['Retry-After'] == '10'
    assert response.json['code'] == 503


def test_a_damaged_series_is_a_500_that_says_so(api, store, metric, caplog):
    api.post_json('/v1/metric/%s/measures' % metric['id'], MEASURES, headers=ADMIN)
    store.process()
    path = store._storage._series_path(metric['id'])
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    with caplog.at_level(logging.ERROR):
        response = api.get('/v1/metric/%s/measures' % metric['id'], headers=ADMIN,
                           status=500)
    assert response.json['description'] == {
        'cause': 'Corrupt series',
        'detail': {'metric_id': metric['id'], 'reason': 'truncated data'}}
    assert 'Damaged archive data' in caplog.text and metric['id'] in caplog.text


def test_status_tells_the_storage_state_and_what_processors_reported(api, store):
    store.report_processor('host-1', {'state': 'insufficient_storage', 'updated': 2e9,
                                      'failing_sacks': [3]})
    store.report_processor('host-2', {'state': 'ok', 'updated': 1.0})  # long silent
    health = api.get('/v1/status', headers=ADMIN).json['telewatch']['storage']
    assert health['state'] == 'insufficient_storage'
    assert list(health['processors']) == ['host-1']
    assert health['free_bytes'] > 0 and health['corrupt_series'] == 0


def test_a_refresh_that_meets_a_full_disk_is_a_507(api, metric, monkeypatch):
    api.post_json('/v1/metric/%s/measures' % metric['id'], MEASURES, headers=ADMIN)

    def commit(self, series):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(file_storage._FileClaim, 'commit', commit)
    api.get('/v1/metric/%s/measures?refresh=true' % metric['id'], headers=ADMIN,
            status=507)


def test_insufficient_storage_is_retryable_for_every_caller():
    assert issubclass(errors.InsufficientStorage, errors.StorageUnavailable)
