"""``/v1/batch/resources/metrics/measures?create_metrics=true`` against another writer: a
metric of the same name created meanwhile takes the measures (no 409), through the
in-process API (noauth)."""

ALICE = {'X-User-Id': 'alice', 'X-Project-Id': 'pa'}
MEASURES = [{'timestamp': '2024-01-01T10:00:00', 'value': 1.5}]


def test_a_metric_another_writer_created_meanwhile_gets_them(api, store, monkeypatch):
    resource = api.post_json('/v1/resource/generic', {'id': 'vm1', 'project_id': 'pa'},
                             headers=ALICE).json
    theirs = store.new_metric('other', 'cpu', resource['id'], 'low')
    create = store.create_metrics

    def another_writer_first(metrics):
        store.index.create_metrics([theirs])
        monkeypatch.setattr(store, 'create_metrics', create)
        return create(metrics)
    monkeypatch.setattr(store, 'create_metrics', another_writer_first)
    api.post_json('/v1/batch/resources/metrics/measures?create_metrics=true', {
        'vm1': {'cpu': {'archive_policy_name': 'low', 'measures': MEASURES},
                'memory': MEASURES}}, headers=ALICE, status=202)
    metrics = store.index.get_resource(resource['id']).metrics
    assert metrics['cpu'] == theirs.id and set(metrics) == {'cpu', 'memory'}
    for metric_id in metrics.values():
        rows = api.get('/v1/metric/%s/measures?refresh=true' % metric_id, headers=ALICE).json
        assert [row[2] for row in rows] == [1.5]
