import logging
import uuid

import numpy
import pytest

from telewatch import loops
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod
from telewatch.cmd import upgrade
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.storage import file as file_storage
from telewatch import service

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
    store.indexer.create_metrics([metric])
    return metric.id


def test_upgrade_creates_the_default_policies_and_rule(store):
    names = {p.name for p in store.indexer.list_archive_policies()}
    assert {'low', 'medium', 'high', 'bool', 'ceilometer-low-rate'} <= names
    assert store.indexer.archive_policy_for('anything') == 'low'


def test_upgrade_with_other_policies_creates_them_and_leaves_existing_ones(conf):
    store = store_mod.ArchiveStore.from_conf(conf)
    try:
        store.upgrade()
        store.upgrade(policies=policy_mod.all_in_one_policies())
        assert store.indexer.get_archive_policy('low', fresh=True).granularities == (
            300 * 10 ** 9,), 'an existing policy is left as it is'
    finally:
        store.close()
    conf.set_override('data_dir', conf.data_dir + '/new')
    store = store_mod.ArchiveStore.from_conf(conf)
    try:
        store.upgrade(policies=policy_mod.all_in_one_policies())
        assert store.indexer.get_archive_policy('ceilometer-low-rate').granularities == (
            60 * 10 ** 9, 300 * 10 ** 9)
        assert store.indexer.archive_policy_for('anything') == 'low'
    finally:
        store.close()


def test_measures_are_read_coarsest_granularity_first_after_refresh(store):
    metric_id = make_metric(store)
    stamps = T0 + numpy.arange(4) * numpy.timedelta64(30, 's')
    store.add_measures({metric_id: (stamps, [1.0, 3.0, 5.0, 7.0])})
    assert store.measures(metric_id) == []
    rows = store.measures(metric_id, refresh=True)
    assert [(str(t), g, v) for t, g, v in rows] == [
        ('2024-01-01T10:00:00.000000000', 3600.0, 4.0),
        ('2024-01-01T10:00:00.000000000', 60.0, 2.0),
        ('2024-01-01T10:01:00.000000000', 60.0, 6.0)]
    assert [v for _, _, v in store.measures(metric_id, 60, 'max')] == [3.0, 7.0]


def test_status_counts_what_waits_for_processing(store):
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0, T0 + 1], [1.0, 2.0])})
    assert store.status(details=True) == {'summary': {'metrics': 1, 'measures': 2},
                                          'measures_to_process': {metric_id: 2}}
    store.process()
    assert store.status() == {'summary': {'metrics': 0, 'measures': 0}}


def test_reads_name_what_does_not_exist(store):
    metric_id = make_metric(store)
    with pytest.raises(errors.NoSuchMetric):
        store.measures(str(uuid.uuid4()))
    with pytest.raises(errors.NoSuchAggregation):
        store.measures(metric_id, method='median')
    with pytest.raises(errors.NoSuchAggregation):
        store.measures(metric_id, granularity=300)


def test_refresh_of_a_locked_sack_says_metric_is_locked(store):
    store.operation_timeout = 0.05
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0], [1.0])})
    with store.storage._claim(store.storage.sack_of(metric_id), None):
        with pytest.raises(errors.MetricLocked, match='Metric is locked'):
            store.measures(metric_id, refresh=True)


def test_the_processor_aggregates_and_counts_late_measures(conf, store):
    processor = processor_mod.ArchiveProcessor(conf, store)
    metric_id = make_metric(store)
    store.add_measures({metric_id: ([T0 + numpy.timedelta64(3, 'h')], [1.0])})
    processor.run_once()
    store.add_measures({metric_id: ([T0], [2.0])})
    report = processor.run_once()
    assert report.rejected == {metric_id: 1}
    assert (processor.processed, processor.rejected) == (1, 1)
    assert store.storage.get(metric_id).rejected == 1


def test_the_processor_loop_outlives_an_unexpected_error(conf, store, monkeypatch, caplog):
    monkeypatch.setattr(loops, 'MIN_DELAY', 0.01)
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
