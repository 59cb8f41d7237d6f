import logging
import uuid

import numpy
import pytest
import sqlalchemy

from telewatch import delivery as delivery_mod
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod
from telewatch.cmd import upgrade
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.storage import file as file_storage
from telewatch import service
from tests.unit.archive import reading

T0 = numpy.datetime64('2024-01-01T10:00:00', 'ns')


@pytest.fixture
def conf(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('sacks', 4, group='archive')
    return conf


@pytest.fixture
def store(conf):
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    yield store
    store.close()


def make_metric(store, policy='medium'):
    metric = indexer_mod.Metric(str(uuid.uuid4()), policy, 'admin', None, 'cpu', 'ns')
    store.index.create_metrics([metric])
    return metric.id


def test_upgrade_creates_the_default_policies_and_rule(store):
    names = {p.name for p in store.index.list_archive_policies()}
    assert {'low', 'medium', 'high', 'bool', 'ceilometer-low-rate'} <= names
    assert store.index.archive_policy_for('anything') == 'low'


def test_upgrade_with_other_policies_creates_them_and_leaves_existing_ones(conf):
    store = store_mod.ArchiveStore.from_conf(conf)
    try:
        store.upgrade()
        store.upgrade(policies=policy_mod.all_in_one_policies())
        assert store.index.get_archive_policy('low', fresh=True).granularities == (
            300 * 10 ** 9,), 'an existing policy is left as it is'
    finally:
        store.close()
    conf.set_override('data_dir', conf.data_dir + '/new')
    store = store_mod.ArchiveStore.from_conf(conf)
    try:
        store.upgrade(policies=policy_mod.all_in_one_policies())
        assert store.index.get_archive_policy('ceilometer-low-rate').granularities == (
            60 * 10 ** 9, 300 * 10 ** 9)
        assert store.index.archive_policy_for('anything') == 'low'
    finally:
        store.close()


def test_measures_are_read_coarsest_granularity_first_after_refresh(store):
    metric_id = make_metric(store)
    stamps = T0 + numpy.arange(4) * numpy.timedelta64(30, 's')
    store.add_measures({metric_id: (stamps, [1.0, 3.0, 5.0, 7.0])})
    assert reading.measures(store, metric_id) == []
    rows = reading.measures(store, metric_id, refresh=True)
    assert [(str(t), g, v) for t, g, v in rows] == [
        ('2024-01-01T10:00:00.000000000', 3600.0, 4.0),
        ('2024-01-01T10:00:00.000000000', 60.0, 2.0),
        ('2024-01-01T10:01:00.000000000', 60.0, 6.0)]
    assert [v for _, _, v in reading.measures(store, metric_id, 60, 'max')] == [3.0, 7.0]


def test_status_counts_what_waits_for_processing(store):
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0, T0 + 1], [1.0, 2.0])})
    assert store.status(details=True) == {'summary': {'metrics': 1, 'measures': 2},
                                          'measures_to_process': {metric_id: 2}}
    store.process()
    assert store.status() == {'summary': {'metrics': 0, 'measures': 0}}


def test_reads_name_what_does_not_exist(store):
    metric_id = make_metric(store)
    with pytest.raises(errors.NoSuchAggregation):
        reading.measures(store, metric_id, method='median')
    with pytest.raises(errors.NoSuchAggregation):
        reading.measures(store, metric_id, granularity=300)


def test_refresh_of_a_locked_sack_says_metric_is_locked(store):
    store.operation_timeout = 0.05
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0], [1.0])})
    with store._storage._claim(store._storage.sack_of(metric_id), None):
        with pytest.raises(errors.MetricLocked, match='Metric is locked'):
            reading.measures(store, metric_id, refresh=True)


def test_the_processor_aggregates_and_counts_late_measures(conf, store):
    processor = processor_mod.ArchiveProcessor(conf, store)
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0 + numpy.timedelta64(3, 'h')], [1.0])})
    processor.run_once()
    store.add_measures({metric_id: ([T0], [2.0])})
    report = processor.run_once()
    assert report.rejected == {metric_id: 1}
    assert (processor.processed, processor.rejected) == (1, 1)
    assert store._storage.get(metric_id).rejected == 1


def test_the_processor_loop_outlives_an_unexpected_error(conf, store, monkeypatch, caplog):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    conf.set_override('processing_delay', 0.01, group='archive')
    processor = processor_mod.ArchiveProcessor(conf, store)
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0], [1.0])})
    process, rounds = store.process, []

    def process_failing_once(*args, **kwargs):
        rounds.append(True)
        if len(rounds) == 1:
            raise FileNotFoundError(2, 'No such file or directory', 'incoming/1/log')
        report = process(*args, **kwargs)
        if report.measures:
            processor.stop()
        return report
    monkeypatch.setattr(store, 'process', process_failing_once)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        processor.start()
        running = processor.threads()[0]
        running.join(timeout=10)
    assert not running.is_alive()
    assert len(rounds) == 2 and processor.processed == 1
    assert processor.loop_errors == {'archive-processor': 1}
    assert 'archive-processor: unexpected error (1 so far)' in caplog.text
    assert 'FileNotFoundError' in caplog.text


def test_telewatch_upgrade_reports_where_the_store_is(tmp_path, capsys):
    config = tmp_path / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n' % tmp_path)
    assert upgrade.main(['--config-file', str(config)]) == 0
    assert 'index.sqlite' in capsys.readouterr().out
    assert isinstance(store_mod.storage_from_url('file:///x', 2),
                      file_storage.FileSeriesStorage)
    with pytest.raises(ValueError, match='file:// or postgresql://'):
        store_mod.storage_from_url('s3://bucket', 2)


def make_resource(store, rid=None):
    rid = rid or str(uuid.uuid4())
    store.index.create_resource('generic', rid, rid, 'admin')
    return rid


def test_create_metrics_takes_the_metric_another_writer_created_first(store):
    rid = make_resource(store)
    theirs = store.new_metric('other', 'cpu', rid)
    store.create_metrics([theirs])
    mine = [store.new_metric('admin', name, rid) for name in ('cpu', 'memory')]
    ids = store.create_metrics(mine)
    assert ids == {rid: {'cpu': theirs.id, 'memory': mine[1].id}}
    assert store.index.get_resource(rid).metrics == ids[rid]


def test_create_metrics_of_a_resource_gone_says_so(store, monkeypatch):
    def taken(metrics):  # as when the resource was deleted under the insert
        raise errors.NamedMetricAlreadyExists('cpu')
    monkeypatch.setattr(store.index, 'create_metrics', taken)
    with pytest.raises(errors.NoSuchResource):
        store.create_metrics([store.new_metric('admin', 'cpu', str(uuid.uuid4()))])


def test_new_metric_takes_its_policy_from_the_rules_and_checks_it(store):
    assert store.new_metric('admin', 'anything').archive_policy_name == 'low'
    with pytest.raises(errors.NoSuchArchivePolicy):
        store.new_metric('admin', 'cpu', archive_policy_name='nonesuch')


def test_resample_regroups_then_cuts(store):
    metric_id = make_metric(store)
    stamps = T0 + numpy.arange(6) * numpy.timedelta64(60, 's')
    store.add_measures({metric_id: (stamps, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])})
    metric = store.index.get_metrics([metric_id])[metric_id]
    (g, keys, values), = store.series(metric, 60, 'mean', refresh=True, resample=180,
                                      start=T0 + numpy.timedelta64(200, 's'))
    assert g == 180 and values.tolist() == [5.0]
    numpy.testing.assert_array_equal(keys, [T0 + numpy.timedelta64(180, 's')])


def test_delete_resources_drops_their_series_too(store):
    rid = make_resource(store)
    metric = store.new_metric('admin', 'cpu', rid, 'medium')
    store.create_metrics([metric])
    store.add_measures({metric.id: ([T0], [1.0])})
    store.process()
    assert store._storage.get(metric.id) is not None
    assert store.delete_resources('generic', {'=': {'id': rid}}) == 1
    assert store._storage.get(metric.id) is None and store.index.get_metrics([metric.id]) == {}


def _mapped(rid, names, **attributes):
    from telewatch.publishers import resource_mapping
    return rid, resource_mapping.MappedResource(
        rid, 'vm', 'u', 'p', attributes, {n: resource_mapping.MappedMetric(
            n, 'ns', None, [], []) for n in names})


def _inserts(store, table):
    """A list that records each INSERT INTO ``table`` the store's index executes."""
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith('INSERT INTO %s ' % table):
            seen.append(len(parameters) if executemany else 1)
    sqlalchemy.event.listen(store.index.engine, 'before_cursor_execute', count)
    return seen


def test_first_sight_of_many_resources_is_a_few_bulk_inserts(store, monkeypatch):
    monkeypatch.setattr(store_mod, 'CREATE_BATCH', 40)
    store.index.create_resource_type('vm', {'host': {'type': 'string', 'required': False}})
    inserts = _inserts(store, 'resource')
    resources = [_mapped(str(uuid.uuid4()), ['cpu', 'memory'], host='h%d' % (n % 3))
                 for n in range(100)]
    ids = store.ensure_metrics(resources, 'admin', 'low')
    assert inserts == [40, 40, 20]
    found = store.index.get_resources([rid for rid, _ in resources])
    assert {rid: r.metrics for rid, r in found.items()} == ids
    assert {r.attributes['host'] for r in found.values()} == {'h0', 'h1', 'h2'}
    assert store.known_metrics(resources) == ids
    # A new metric of known resources: in one go too, and known after.
    grown = [_mapped(rid, ['cpu', 'memory', 'disk']) for rid, _ in resources]
    assert store.known_metrics(grown) == {}
    metric_inserts = _inserts(store, 'metric')
    ids = store.ensure_metrics(grown, 'admin', 'low')
    assert metric_inserts == [100] and all(len(m) == 3 for m in ids.values())
    assert store.known_metrics(grown) == ids
    assert store.known_metrics([_mapped(resources[0][0], ['cpu'], host='new')]) == {}


def test_a_batch_meeting_another_writers_resource_still_gives_every_id(conf, store,
                                                                       monkeypatch):
    store.index.create_resource_type('vm', {})
    resources = [_mapped(str(uuid.uuid4()), ['cpu']) for _ in range(5)]
    other = store_mod.ArchiveStore.from_conf(conf)
    try:
        first = other.ensure_metrics(resources[2:3], 'admin', 'low')
    finally:
        other.close()
    # As if the other writer created it between this one's look-up and its insert.
    looked_up, calls = store.index.get_resources, []
    monkeypatch.setattr(store.index, 'get_resources', lambda ids: (
        calls.append(ids) or {}) if not calls else looked_up(ids))
    inserts = _inserts(store, 'resource')
    ids = store.ensure_metrics(resources, 'admin', 'low')
    assert inserts == [5, 1, 1, 1, 1, 1]  # the batch, then one at a time
    assert ids[resources[2][0]] == first[resources[2][0]]
    assert {rid: r.metrics for rid, r in store.index.get_resources(ids).items()} == ids


def test_the_backlog_says_how_old_its_oldest_measure_is(store):
    metric_id = make_metric(store)
    now = (T0 + numpy.timedelta64(90, 's')).astype('int64') / 1e9
    assert store.backlog(now=now)[1] == {'metrics': 0, 'measures': 0,
                                         'oldest_measure_age': None}
    store.add_measures({metric_id: ([T0 + 30 * 10 ** 9, T0], [1.0, 2.0])})
    status, backlog = store.backlog(details=True, now=now)
    assert status == store.status(details=True)
    assert backlog == {'metrics': 1, 'measures': 2, 'oldest_measure_age': 90.0}
    store.process()
    assert store.backlog(now=now)[1]['oldest_measure_age'] is None
