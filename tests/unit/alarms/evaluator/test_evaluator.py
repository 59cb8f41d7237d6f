"""The evaluator over a real archive store (SQLite and files), with the alarm store and the
notifiers faked: what it reads for each alarm type, what it decides and tells, push and
tick, partitioning, and an alarm or a store that fails."""

import datetime
import gc
import json
import uuid

import numpy
import pytest

from telewatch import service
from telewatch.alarms.evaluator import evaluator as evaluator_mod
from telewatch.archive import errors as archive_errors
from telewatch.archive import store as store_mod
from tests.unit.alarms.evaluator import fakes

NOW = 1_796_637_630.0  # 2026-12-07 10:00:30 UTC: half a minute into a period


@pytest.fixture
def conf(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('sacks', 4, group='archive')
    return conf


@pytest.fixture
def archive(conf):
    archive = store_mod.ArchiveStore.from_conf(conf)
    archive.upgrade()
    yield archive
    archive.close()


def resource(archive, policy='medium', group=None, name='cpu'):
    """A new resource with one metric; (resource id, metric id)."""
    rid = str(uuid.uuid4())
    metric = archive.new_metric('admin', name, rid, policy)
    archive.index.create_resource('generic', rid, rid, 'admin', 'u', 'p',
                                  {}, metrics={name: metric})
    if group is not None:
        archive.index.update_resource(rid, user_id=group)
    return rid, metric.id


def write(archive, metric_id, *values, period=60):
    """Values for the last len(values) whole periods before NOW, oldest first."""
    last = NOW - NOW % period - period
    stamps = [last - period * n for n in reversed(range(len(values)))]
    archive.add_measures({metric_id: (numpy.array(stamps, float).astype('int64') * 10 ** 9,
                                      numpy.array(values, float))})
    archive.process()


def threshold(**fields):
    rule = {'threshold': 50.0, 'comparison_operator': 'gt', 'evaluation_periods': 1,
            'granularity': 60, 'aggregation_method': 'mean'}
    rule.update(fields)
    return rule


def make(conf, archive, *alarms, partition=None):
    store, notifiers = fakes.AlarmStore(*alarms), fakes.Notifiers()
    evaluator = evaluator_mod.AlarmEvaluator(conf, store, archive, notifiers,
                                             partition or fakes.Partition(
                                                 [a['alarm_id'] for a in alarms]),
                                             clock=lambda: NOW)
    return evaluator, store, notifiers


def test_a_breaching_metric_fires_its_alarm_and_its_actions(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 90.0)
    alarm = fakes.alarm('gnocchi_resources_threshold',
                        threshold(metric='cpu', resource_id=rid, resource_type='generic'))
    evaluator, store, notifiers = make(conf, archive, alarm)
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'alarm'
    assert store.alarms[alarm['alarm_id']]['state_reason'] == (
        'Transition to alarm due to 1 samples outside threshold, most recent: 90.0')
    assert notifiers.calls == [(alarm['alarm_id'], 'insufficient data', 'alarm',
                                store.alarms[alarm['alarm_id']]['state_reason'])]
    assert store.evaluated == [[alarm['alarm_id']]]
    evaluator.tick()  # nothing new: no transition, no action
    assert len(notifiers.calls) == 1 and evaluator.counters['transitions'] == 1


def test_a_metric_aggregated_evaluates_the_alarms_watching_it_at_once(conf, archive):
    rid, metric = resource(archive)
    other_rid, _ = resource(archive)
    write(archive, metric, 10.0)
    watching = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    elsewhere = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=other_rid), state='ok')
    evaluator, store, notifiers = make(conf, archive, watching, elsewhere)
    evaluator.tick()
    assert not evaluator.feed()
    write(archive, metric, 95.0)  # the same period again: the last write wins
    assert evaluator.feed()
    assert evaluator.counters['pushed'] == 1
    assert store.alarms[watching['alarm_id']]['state'] == 'alarm'
    assert notifiers.calls[-1][1:3] == ('ok', 'alarm')
    assert store.alarms[elsewhere['alarm_id']]['state'] == 'insufficient data'


def test_aggregation_by_metrics_reads_rate_across_metrics(conf, archive):
    metrics = [resource(archive, 'medium')[1] for _ in range(2)]
    for n, metric in enumerate(metrics):  # Gnocchi's rates: 60 and 180 a period, mean 120
        write(archive, metric, 0.0, 60.0 * (1 + 2 * n), 120.0 * (1 + 2 * n))
    alarm = fakes.alarm('gnocchi_aggregation_by_metrics_threshold', threshold(
        metrics=metrics, aggregation_method='rate:mean', threshold=150.0,
        evaluation_periods=2))
    evaluator, store, _ = make(conf, archive, alarm)
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'ok'
    assert store.alarms[alarm['alarm_id']]['reason_data']['most_recent'] == 120.0


def test_aggregation_by_resources_searches_and_follows_the_group(conf, archive):
    members = [resource(archive, group='scaling') for _ in range(2)]
    resource(archive, group='other')
    write(archive, members[0][1], 70.0)
    write(archive, members[1][1], 40.0)
    alarm = fakes.alarm('gnocchi_aggregation_by_resources_threshold', threshold(
        metric='cpu', resource_type='generic',
        query=json.dumps({'=': {'user_id': 'scaling'}})))
    evaluator, store, _ = make(conf, archive, alarm)
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'alarm'  # mean 55 > 50
    joined = resource(archive, group='scaling')
    write(archive, joined[1], 0.0)
    evaluator.tick()  # the search is made again: mean 36.7
    assert store.alarms[alarm['alarm_id']]['state'] == 'ok'
    assert joined[1] in evaluator.watch._by_metric


def test_a_composite_alarm_reads_each_leaf(conf, archive):
    (rid1, m1), (rid2, m2) = resource(archive), resource(archive)
    write(archive, m1, 90.0)
    write(archive, m2, 10.0)
    leaf = {'type': 'gnocchi_resources_threshold', 'metric': 'cpu',
            'resource_type': 'generic'}
    alarm = fakes.alarm('composite', {'or': [
        threshold(resource_id=rid1, **leaf), threshold(resource_id=rid2, **leaf)]})
    evaluator, store, _ = make(conf, archive, alarm)
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'alarm'
    assert store.alarms[alarm['alarm_id']]['reason_data']['composition_form'] == (
        '(rule1 or rule2)')
    write(archive, m2, 60.0)
    assert evaluator.feed()
    assert evaluator.counters['pushed'] == 1


def test_an_alarm_whose_data_cannot_be_read_keeps_its_state_and_says_why(conf, archive):
    rid, metric = resource(archive)
    gone = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=str(uuid.uuid4())), state='alarm')
    no_method = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid, aggregation_method='rate:mean'), state='ok')
    evaluator, store, notifiers = make(conf, archive, gone, no_method)
    evaluator.tick()
    evaluator.tick()
    assert store.alarms[gone['alarm_id']]['state'] == 'alarm'
    assert store.alarms[gone['alarm_id']]['state_reason'] == (
        'State kept: the datapoints cannot be read (resource %s does not exist)'
        % gone['rule']['resource_id'])
    assert store.alarms[no_method['alarm_id']]['state'] == 'ok'
    assert "No aggregation method 'rate:mean'" in store.alarms[no_method['alarm_id']][
        'state_reason']
    assert store.alarms[no_method['alarm_id']]['reason_data']['type'] == 'unreadable'
    assert notifiers.calls == []
    assert len(store.history) == 2, 'the reason is written once, not at every pass'
    assert evaluator.counters['unreadable'] == 4


def test_a_rule_that_cannot_be_evaluated_keeps_the_state(conf, archive):
    bad = fakes.alarm('gnocchi_resources_threshold', threshold(threshold='high'),
                      state='ok')
    evaluator, store, notifiers = make(conf, archive, bad)
    evaluator.tick()
    assert store.alarms[bad['alarm_id']]['state'] == 'ok'
    assert store.alarms[bad['alarm_id']]['state_reason'] == (
        "State kept: the rule cannot be evaluated (threshold: a number is required, "
        "not 'high')")
    assert notifiers.calls == []


def test_an_evaluator_evaluates_only_the_alarms_it_owns(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 90.0)
    rule = threshold(metric='cpu', resource_id=rid)
    mine, theirs = (fakes.alarm('gnocchi_resources_threshold', rule) for _ in range(2))
    evaluator, store, _ = make(conf, archive, mine, theirs,
                               partition=fakes.Partition([mine['alarm_id']]))
    evaluator.tick()
    write(archive, metric, 95.0)
    evaluator.feed()
    assert evaluator.counters['pushed'] == 1
    assert store.evaluated == [[mine['alarm_id']]]  # by the tick
    assert store.alarms[theirs['alarm_id']]['state'] == 'insufficient data'


def test_repeat_actions_call_again_once_a_period(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 90.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), repeat_actions=True)
    evaluator, store, notifiers = make(conf, archive, alarm)
    evaluator.tick()
    evaluator.tick()
    assert len(notifiers.calls) == 1
    evaluator.clock = lambda: NOW + 60
    write(archive, metric, 91.0)
    evaluator.tick()
    calls = [call[1:3] for call in notifiers.calls]
    assert calls == [('insufficient data', 'alarm'), ('alarm', 'alarm')]


def test_a_state_another_writer_changed_first_calls_no_action(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 90.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    evaluator, store, notifiers = make(conf, archive, alarm)
    evaluator.watch.refresh(store.evaluable(), archive.index)
    store.alarms[alarm['alarm_id']]['state'] = 'insufficient data'  # PUT .../state
    evaluator.evaluate(list(evaluator.watch.plans.values()), NOW)
    assert notifiers.calls == [] and evaluator.counters['conflicts'] == 1
    assert evaluator.watch.plans[alarm['alarm_id']].alarm['state'] == 'insufficient data'


def test_the_loop_outlives_a_store_that_fails(conf, archive, caplog):
    rid, metric = resource(archive)
    write(archive, metric, 90.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid))
    conf.set_override('feed_interval', 0.01, group='alarms')
    evaluator, store, notifiers = make(conf, archive, alarm)
    store.fail = archive_errors.StorageUnavailable('alarm store: gone')
    evaluator.start()
    try:
        for _ in range(500):
            if evaluator.loop_errors['alarm-evaluator'] >= 2:
                break
            evaluator._stopping.wait(0.01)
        assert evaluator.loop_errors['alarm-evaluator'] >= 2
        store.fail = None
        for _ in range(500):
            if store.alarms[alarm['alarm_id']]['state'] == 'alarm':
                break
            evaluator._stopping.wait(0.01)
        assert store.alarms[alarm['alarm_id']]['state'] == 'alarm'
    finally:
        evaluator.stop()
    assert notifiers.started and notifiers.stopped
    assert 'alarm store: gone' in caplog.text


def test_ticks_expire_the_history_once_an_hour(conf, archive, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(evaluator_mod.time, 'monotonic', lambda: clock[0])
    evaluator, store, _ = make(conf, archive)
    evaluator.tick()
    evaluator.tick()
    assert store.expired == [evaluator_mod.utc(NOW)]
    clock[0] += evaluator_mod.HISTORY_EXPIRY_INTERVAL
    evaluator.tick()
    assert len(store.expired) == 2


def test_actions_are_recorded_on_behalf_of_the_alarms_project(conf, archive, tmp_path):
    from telewatch.alarms import storage
    store = storage.AlarmStore('sqlite:///%s' % (tmp_path / 'alarms.db'))
    store.upgrade()
    alarm = store.create(fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id='r', resource_type='generic'), project_id='pa'))
    evaluator = evaluator_mod.AlarmEvaluator(conf, store, archive, fakes.Notifiers(),
                                             fakes.Partition([]), clock=lambda: NOW)
    evaluator.record_action(alarm, 'action', {'url': 'http://heat/signal',
                                              'outcome': 'delivered'})
    seen = store.history(alarm['alarm_id'], on_behalf_of='pa')
    assert [entry['type'] for entry in seen] == ['action', 'creation']
    assert store.history(alarm['alarm_id'], on_behalf_of='pb') == []
    store.close()


class CountingArchive:
    """The archive store, counting the series many_series is asked for."""

    def __init__(self, archive):
        self._archive = archive
        self.asked = []

    def many_series(self, wanted):
        self.asked.append(len(wanted))
        return self._archive.many_series(wanted)

    def __getattr__(self, name):
        return getattr(self._archive, name)


def test_a_tick_reads_again_only_the_series_aggregated_since(conf, archive):
    (rid1, m1), (rid2, m2) = resource(archive), resource(archive)
    write(archive, m1, 10.0)
    write(archive, m2, 10.0)
    alarms = [fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok') for rid in (rid1, rid2)]
    counting = CountingArchive(archive)
    evaluator, store, notifiers = make(conf, counting, *alarms)
    evaluator.tick()
    assert counting.asked == [2]
    evaluator.tick()  # nothing aggregated: what was read stands
    assert counting.asked == [2] and evaluator.counters['evaluations'] == 4
    write(archive, m1, 95.0)  # aggregated: the stream names it, the next read sees it
    evaluator.tick()
    assert counting.asked == [2, 1]
    assert store.alarms[alarms[0]['alarm_id']]['state'] == 'alarm'
    assert store.alarms[alarms[1]['alarm_id']]['state'] == 'ok'
    write(archive, m2, 96.0)
    assert evaluator.feed()  # a push reads it again too
    assert counting.asked == [2, 1, 1]
    assert store.alarms[alarms[1]['alarm_id']]['state'] == 'alarm'
    evaluator.tick()
    assert counting.asked == [2, 1, 1] and len(notifiers.calls) == 2


def test_every_few_ticks_one_reads_every_series_again(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 10.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    counting = CountingArchive(archive)
    evaluator, store, _ = make(conf, counting, alarm)
    for _ in range(evaluator_mod.AFRESH_EVERY + 1):
        evaluator.tick()
    assert counting.asked == [1, 1]
    assert store.reads == [None, None], 'every alarm read when afresh, none else'
    evaluator.tick(afresh=True)
    assert counting.asked == [1, 1, 1]


def test_an_afresh_tick_takes_what_lives_out_of_the_collectors_sight(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 10.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    evaluator, store, _ = make(conf, archive, alarm)
    gc.unfreeze()
    try:
        evaluator.tick(afresh=False)  # the first tick is afresh whatever it is asked
        frozen = gc.get_freeze_count()
        assert frozen > 0
        gc.unfreeze()
        evaluator.tick(afresh=False)
        assert gc.get_freeze_count() == 0, 'only afresh ticks'
        evaluator.tick(afresh=True)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_changed_definition_is_taken_at_the_next_tick(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 60.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    other = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid, threshold=10.0))
    evaluator, store, _ = make(conf, archive, alarm, other,
                               partition=fakes.Partition([alarm['alarm_id']]))
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'alarm'  # 60 > 50
    store.alarms[alarm['alarm_id']].update(  # PUT /v2/alarms/{id}
        rule=threshold(metric='cpu', resource_id=rid, threshold=70.0),
        timestamp=fakes.T0 + datetime.timedelta(seconds=1))
    evaluator.tick()
    assert store.reads[-1] == [alarm['alarm_id']], 'only the changed alarm is read'
    assert store.alarms[alarm['alarm_id']]['state'] == 'ok'  # 60 <= 70
    assert store.alarms[other['alarm_id']]['state'] == 'insufficient data'  # not owned
    store.alarms[alarm['alarm_id']]['enabled'] = False
    evaluator.tick()
    assert evaluator.watch.plans == {} and evaluator.watch._by_metric == {}
    write(archive, metric, 99.0)
    evaluator.feed()
    assert evaluator.counters['pushed'] == 0


def test_a_state_set_by_another_writer_is_taken_at_the_next_tick(conf, archive):
    rid, metric = resource(archive)
    write(archive, metric, 60.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    evaluator, store, notifiers = make(conf, archive, alarm)
    evaluator.tick()
    store.transition(alarm['alarm_id'], 'alarm', 'ok', 'Manually set via API', None,
                     fakes.T0)
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'alarm'
    assert [call[1:3] for call in notifiers.calls] == [('ok', 'alarm'), ('ok', 'alarm')]


def test_a_change_the_index_could_not_plan_is_read_again(conf, archive, monkeypatch):
    rid, metric = resource(archive)
    write(archive, metric, 60.0)
    alarm = fakes.alarm('gnocchi_resources_threshold', threshold(
        metric='cpu', resource_id=rid), state='ok')
    evaluator, store, _ = make(conf, archive, alarm)
    evaluator.tick()
    store.alarms[alarm['alarm_id']].update(
        rule=threshold(metric='cpu', resource_id=rid, threshold=70.0),
        timestamp=fakes.T0 + datetime.timedelta(seconds=1))

    def unreachable(ids):
        raise archive_errors.StorageUnavailable('archive index: gone')

    monkeypatch.setattr(archive.index, 'get_resources', unreachable)
    with pytest.raises(archive_errors.StorageUnavailable):
        evaluator.tick()
    monkeypatch.undo()
    evaluator.tick()
    assert store.alarms[alarm['alarm_id']]['state'] == 'ok'
