"""CloudWatch alarms through the shared evaluator: metric put with PutMetricData into a real
ArchiveStore, alarms put with PutMetricAlarm / PutCompositeAlarm into a real AlarmStore (SQLite,
the test's directory), the real evaluator (its notifiers faked) deciding on them."""

import dataclasses
import datetime
import json

import pytest

from telewatch.alarms.evaluator import evaluator as evaluator_mod
from telewatch.alarms.evaluator import partition as partition_mod
from telewatch.cloudwatch import alarm_shapes
from telewatch.cloudwatch import alarms
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metrics
from tests.unit.alarms.evaluator import fakes
from tests.unit.cloudwatch import alarm_fixtures
from tests.unit.cloudwatch.conftest import NOW

alarm_store = alarm_fixtures.alarm_store
CLOCK = NOW.timestamp() + 30  # half a minute into the period after NOW's
HOOK = 'http://127.0.0.1:9/hook'


@pytest.fixture
def ctx(store, alarm_store):
    return alarm_fixtures.make_context(store.conf, alarm_store, 'alice', archive=store,
                                       now=NOW + datetime.timedelta(seconds=30))


def put(ctx, name, *values, namespace='App', dimensions=()):
    """One value a minute, the last in the minute before NOW's (oldest first)."""
    data = [{'MetricName': name, 'Dimensions': list(dimensions), 'Value': value,
             'Timestamp': NOW - datetime.timedelta(minutes=len(values) - n)}
            for n, value in enumerate(values) if value is not None]
    metrics.OPERATIONS['PutMetricData'](ctx, {'Namespace': namespace, 'MetricData': data})
    ctx.store.process()


def evaluator(ctx, clock=lambda: CLOCK):
    notifiers = fakes.Notifiers()
    found = evaluator_mod.AlarmEvaluator(ctx.conf, ctx.alarms, ctx.store, notifiers,
                                         partition_mod.Everything(), clock=clock)
    return found, notifiers


def alarm(ctx, name, **fields):
    params = {'AlarmName': name, 'Namespace': 'App', 'MetricName': 'Latency',
              'Dimensions': [{'Name': 'Service', 'Value': 'web'}], 'Statistic': 'Average',
              'Period': 60, 'EvaluationPeriods': 3, 'DatapointsToAlarm': 2,
              'Threshold': 50.0, 'ComparisonOperator': 'GreaterThanThreshold',
              'AlarmActions': [HOOK], 'OKActions': [HOOK + '/ok']}
    params.update(fields)
    alarms.put_metric_alarm(ctx, {k: v for k, v in params.items() if v is not None})
    return alarm_shapes.alarm_id(ctx.project_id, name)


def shown(ctx, name, kind='MetricAlarm'):
    found = alarms.describe_alarms(ctx, {'AlarmNames': [name], 'AlarmTypes': [kind]})
    return (found['MetricAlarms'] + found['CompositeAlarms'])[0]


WEB = [{'Name': 'Service', 'Value': 'web'}]


def test_m_of_n_goes_to_alarm_and_calls_the_actions(ctx):
    put(ctx, 'Latency', 10.0, 70.0, 80.0, dimensions=WEB)
    alarm_id = alarm(ctx, 'slow')
    run, notifiers = evaluator(ctx)
    run.tick()
    found = shown(ctx, 'slow')
    assert found['StateValue'] == 'ALARM'
    assert found['StateReason'].startswith(
        'Threshold Crossed: 2 out of the last 3 datapoints [80.0 (07/12/26 11:59:00), 70.0 '
        '(07/12/26 11:58:00), 10.0 (07/12/26 11:57:00)] were greater than the threshold')
    data = json.loads(found['StateReasonData'])
    assert (data['statistic'], data['period'], data['threshold']) == ('Average', 60, 50.0)
    assert data['recentDatapoints'] == [10.0, 70.0, 80.0]
    assert [p['value'] for p in data['evaluatedDatapoints']] == [80.0, 70.0, 10.0]
    assert notifiers.calls == [(alarm_id, 'insufficient data', 'alarm',
                                found['StateReason'])]
    # A new measure pushes the alarm: the metric's aggregation names it.
    assert run.watch.watching({m.id for m in run.watch.plans[alarm_id].leaves[0].metrics})


def test_a_push_evaluates_a_new_measure(ctx):
    put(ctx, 'Latency', 10.0, 10.0, 10.0, dimensions=WEB)
    alarm_id = alarm(ctx, 'slow', EvaluationPeriods=1, DatapointsToAlarm=None)
    run, notifiers = evaluator(ctx)
    run.tick()
    assert shown(ctx, 'slow')['StateValue'] == 'OK'
    run.cursor, _ = ctx.store.aggregated_since(None)
    put(ctx, 'Latency', 90.0, 90.0, 90.0, dimensions=WEB)  # the same minute: a mean of 50
    put(ctx, 'Latency', 95.0, dimensions=WEB)
    assert run.feed()
    assert shown(ctx, 'slow')['StateValue'] == 'ALARM'
    assert [call[2] for call in notifiers.calls] == ['ok', 'alarm']
    assert run.counters['pushed'] >= 1 and alarm_id in run.watch.plans


def test_missing_data_and_an_unknown_metric(ctx):
    alarm(ctx, 'nothing', MetricName='Absent')
    alarm(ctx, 'breaching', MetricName='Absent', TreatMissingData='breaching')
    run, notifiers = evaluator(ctx)
    run.tick()
    assert shown(ctx, 'nothing')['StateValue'] == 'INSUFFICIENT_DATA'
    found = shown(ctx, 'breaching')
    assert found['StateValue'] == 'ALARM'
    assert found['StateReason'] == ('Threshold Crossed: no datapoints were received for 3 '
                                    'periods and 3 missing datapoints were treated as '
                                    '[Breaching].')
    # The metric appears later: the alarm is planned again and watches it.
    put(ctx, 'Absent', 1.0, 2.0, 3.0, dimensions=WEB)
    run.tick()
    assert shown(ctx, 'nothing')['StateValue'] == 'OK'


def test_percentiles_sums_and_math(ctx):
    put(ctx, 'Errors', 1.0, 5.0, 9.0)
    put(ctx, 'Calls', 100.0, 100.0, 100.0)
    alarm(ctx, 'sum', MetricName='Errors', Dimensions=None, Statistic='Sum', Threshold=4.0)
    alarm(ctx, 'p99', MetricName='Errors', Dimensions=None, Statistic=None,
          ExtendedStatistic='p99', Threshold=8.0, DatapointsToAlarm=1)
    alarm(ctx, 'rate', Namespace=None, MetricName=None, Dimensions=None, Statistic=None,
          Period=None, Threshold=4.5, Metrics=[
              {'Id': 'e', 'ReturnData': False, 'MetricStat': {
                  'Metric': {'Namespace': 'App', 'MetricName': 'Errors'}, 'Period': 60,
                  'Stat': 'Sum'}},
              {'Id': 'c', 'ReturnData': False, 'MetricStat': {
                  'Metric': {'Namespace': 'App', 'MetricName': 'Calls'}, 'Period': 60,
                  'Stat': 'Sum'}},
              {'Id': 'pct', 'Expression': '100 * e / c'}])
    run, _ = evaluator(ctx)
    run.tick()
    assert shown(ctx, 'sum')['StateValue'] == 'ALARM'
    assert shown(ctx, 'p99')['StateValue'] == 'ALARM'
    found = shown(ctx, 'rate')
    assert found['StateValue'] == 'ALARM', found['StateReason']
    assert '[9.0 (' in found['StateReason'] and '5.0 (' in found['StateReason']


def test_composite_alarms_follow_their_children(ctx, monkeypatch):
    monkeypatch.setattr(alarms, 'notifiers', lambda ctx: fakes.Notifiers())
    put(ctx, 'Latency', 90.0, 90.0, 90.0, dimensions=WEB)
    alarm(ctx, 'slow')
    alarm(ctx, 'quiet', MetricName='Absent', TreatMissingData='notBreaching')
    alarms.put_composite_alarm(ctx, {'AlarmName': 'page', 'AlarmActions': [HOOK],
                                     'AlarmRule': 'ALARM(slow) AND NOT ALARM("quiet")'})
    run, notifiers = evaluator(ctx)
    run.tick()  # the children move; the composite reads their states at the next tick
    run.tick()
    found = shown(ctx, 'page', 'CompositeAlarm')
    assert found['StateValue'] == 'ALARM'
    # Both children changed at the same time; either decides.
    assert found['StateReason'] == ('arn:aws:cloudwatch:RegionOne:alice:alarm:slow '
                                    'transitioned to ALARM at Monday 07 December, 2026 '
                                    '12:00:30 UTC')
    assert [a['arn'].rsplit(':', 1)[1] for a in json.loads(found['StateReasonData'])[
        'triggeringAlarms']] == ['slow', 'quiet']
    page = alarm_shapes.alarm_id('alice', 'page')
    assert [call[1:3] for call in notifiers.calls if call[0] == page][-1] == ('ok', 'alarm')
    alarms.set_alarm_state(ctx, {'AlarmName': 'quiet', 'StateValue': 'ALARM',
                                 'StateReason': 'a test'})
    run.tick()
    assert shown(ctx, 'page', 'CompositeAlarm')['StateValue'] == 'OK'


def test_set_alarm_state_lasts_until_the_next_evaluation(ctx, monkeypatch):
    monkeypatch.setattr(alarms, 'notifiers', lambda ctx: fakes.Notifiers())
    put(ctx, 'Latency', 10.0, 10.0, 10.0, dimensions=WEB)
    alarm(ctx, 'slow')
    clock = [CLOCK + 1]
    run, _ = evaluator(ctx, lambda: clock[0])
    run.tick()
    assert shown(ctx, 'slow')['StateValue'] == 'OK'
    alarms.set_alarm_state(dataclasses.replace(ctx, now=ctx.now + datetime.timedelta(
        seconds=2)), {'AlarmName': 'slow', 'StateValue': 'ALARM', 'StateReason': 'drill'})
    assert shown(ctx, 'slow')['StateValue'] == 'ALARM'
    clock[0] += 2
    run.tick()
    assert shown(ctx, 'slow')['StateValue'] == 'OK'
    history = alarms.OPERATIONS['DescribeAlarmHistory'](ctx, {
        'AlarmName': 'slow', 'HistoryItemType': 'StateUpdate'})['AlarmHistoryItems']
    assert [i['HistorySummary'] for i in history] == [
        'Alarm updated from ALARM to OK', 'Alarm updated from OK to ALARM',
        'Alarm updated from INSUFFICIENT_DATA to OK']


def test_percentiles_of_too_few_samples_can_be_ignored(ctx):
    stamp = NOW - datetime.timedelta(minutes=1)
    for name, count in (('Few', 3), ('Many', 120)):
        metrics.OPERATIONS['PutMetricData'](ctx, {'Namespace': 'App', 'MetricData': [
            {'MetricName': name, 'Values': [95.0], 'Counts': [float(count)],
             'Timestamp': stamp}]})
    ctx.store.process()
    for name in ('Few', 'Many'):
        for low in ('ignore', 'evaluate'):
            alarm(ctx, '%s-%s' % (name, low), MetricName=name, Dimensions=None, Statistic=None,
                  ExtendedStatistic='p90', EvaluationPeriods=1, DatapointsToAlarm=None,
                  EvaluateLowSampleCountPercentile=low)
    run, _ = evaluator(ctx)
    run.tick()
    # p90 needs 10 / (1 - 0.9) = 100 samples to mean something.
    assert shown(ctx, 'Few-ignore')['StateValue'] == 'INSUFFICIENT_DATA'
    assert shown(ctx, 'Few-evaluate')['StateValue'] == 'ALARM'
    assert shown(ctx, 'Many-ignore')['StateValue'] == 'ALARM'
    assert shown(ctx, 'Many-evaluate')['StateValue'] == 'ALARM'


def test_what_an_alarm_found_and_read_is_kept_until_its_metrics_change(ctx, monkeypatch):
    """A tick finds and reads nothing again for an alarm whose metrics were not aggregated
    since; a statistic set put later (its companion metrics created then) is seen."""
    put(ctx, 'Latency', 10.0, 10.0, 10.0, dimensions=WEB)
    alarm(ctx, 'slow', Statistic='Maximum')
    run, notifiers = evaluator(ctx)
    run.tick()
    assert shown(ctx, 'slow')['StateValue'] == 'OK'
    finds = []
    find_many = mapping.find_many
    monkeypatch.setattr(mapping, 'find_many', lambda *a: finds.append(a) or find_many(*a))
    run.tick(afresh=False)
    assert finds == [] and run.counters['evaluations'] == 2
    # A statistic set whose Maximum breaches: only its companion metrics are aggregated.
    metrics.OPERATIONS['PutMetricData'](ctx, {'Namespace': 'App', 'MetricData': [{
        'MetricName': 'Latency', 'Dimensions': WEB, 'Timestamp': NOW - datetime.timedelta(
            minutes=minutes), 'StatisticValues': {'SampleCount': 2, 'Sum': 180.0,
                                                  'Minimum': 85.0, 'Maximum': 95.0}}
        for minutes in (1, 2)]})
    ctx.store.process()
    run.feed()
    run.tick(afresh=False)
    assert finds and shown(ctx, 'slow')['StateValue'] == 'ALARM'
