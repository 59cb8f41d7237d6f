"""CloudWatch's alarm operations on a real AlarmStore (SQLite in the test's directory)."""

import dataclasses
import datetime
import json

import pytest

from telewatch.alarms import storage
from telewatch.cloudwatch import alarm_shapes
from telewatch.cloudwatch import alarms
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import tags
from tests.unit.cloudwatch import alarm_fixtures

# The fixtures (a real AlarmStore; alice's and bob's contexts).
alarm_store, ctx, bob = alarm_fixtures.alarm_store, alarm_fixtures.ctx, alarm_fixtures.bob
HOOK = 'http://127.0.0.1:9/hook'


def metric_alarm(name='cpu-high', **fields):
    params = {'AlarmName': name, 'Namespace': 'App', 'MetricName': 'Latency',
              'Dimensions': [{'Name': 'Service', 'Value': 'web'},
                             {'Name': 'Az', 'Value': 'a'}],
              'Statistic': 'Average', 'Period': 60, 'EvaluationPeriods': 3,
              'DatapointsToAlarm': 2, 'Threshold': 50.0,
              'ComparisonOperator': 'GreaterThanThreshold', 'AlarmActions': [HOOK]}
    params.update(fields)
    return {k: v for k, v in params.items() if v is not None}


def describe(ctx, **params):
    return alarms.describe_alarms(ctx, params)


def test_a_new_alarm_is_insufficient_data_unchecked(ctx):
    assert alarms.put_metric_alarm(ctx, metric_alarm(AlarmDescription='slow')) == {}
    shown, = describe(ctx)['MetricAlarms']
    assert shown['StateValue'] == 'INSUFFICIENT_DATA'
    assert shown['StateReason'] == 'Unchecked: Initial alarm creation'
    assert shown['AlarmArn'] == 'arn:aws:cloudwatch:RegionOne:alice:alarm:cpu-high'
    assert shown['Dimensions'] == [{'Name': 'Az', 'Value': 'a'},
                                   {'Name': 'Service', 'Value': 'web'}]
    assert shown['AlarmActions'] == [HOOK] and shown['OKActions'] == []
    assert shown['ActionsEnabled'] is True
    assert shown['TreatMissingData'] == 'missing'
    assert shown['AlarmDescription'] == 'slow'
    assert shown['AlarmConfigurationUpdatedTimestamp'].tzinfo is not None
    assert 'StateReasonData' not in shown
    stored = ctx.alarms.get(alarm_shapes.alarm_id('alice', 'cpu-high'))
    assert stored['type'] == 'cloudwatch_metric' and stored['alarm_actions'] == [HOOK]


def test_a_put_replaces_the_definition_and_keeps_the_state(ctx):
    alarms.put_metric_alarm(ctx, metric_alarm())
    alarm_id = alarm_shapes.alarm_id('alice', 'cpu-high')
    ctx.alarms.transition(alarm_id, 'insufficient data', 'alarm', 'crossed', None)
    alarms.put_metric_alarm(ctx, metric_alarm(Threshold=70.0, TreatMissingData='breaching'))
    shown, = describe(ctx)['MetricAlarms']
    assert (shown['StateValue'], shown['Threshold'], shown['TreatMissingData']) == (
        'ALARM', 70.0, 'breaching')
    assert len(ctx.alarms.search()) == 1


@pytest.mark.parametrize('fields, error, text', [
    ({'Statistic': None}, errors.InvalidParameterCombination, 'Exactly one of the Statistic'),
    ({'ExtendedStatistic': 'p99'}, errors.InvalidParameterCombination, 'Exactly one'),
    ({'Statistic': None, 'ExtendedStatistic': 'tm99'}, errors.InvalidParameterValue,
     'tm99'),
    ({'Period': 45}, errors.InvalidParameterValue, '10, 20, 30 or a multiple of 60'),
    ({'Period': 3000, 'EvaluationPeriods': 30, 'DatapointsToAlarm': 1},
     errors.InvalidParameterValue, 'one day'),
    ({'DatapointsToAlarm': 4}, errors.InvalidParameterValue, 'DatapointsToAlarm'),
    ({'TreatMissingData': 'sometimes'}, errors.InvalidParameterValue, 'sometimes'),
    ({'ComparisonOperator': 'LessThanLowerOrGreaterThanUpperThreshold'},
     errors.InvalidParameterValue, 'Anomaly detection alarms'),
    ({'Threshold': None}, errors.MissingParameter, 'Threshold'),
    ({'MetricName': None}, errors.MissingParameter, 'MetricName'),
    ({'EvaluateLowSampleCountPercentile': 'ignore'}, errors.InvalidParameterCombination,
     'percentile'),
    ({'AlarmActions': ['ftp://x/y']}, errors.InvalidParameterValue, 'Unsupported action'),
    ({'AlarmActions': ['http://169.254.169.254/latest']}, errors.InvalidParameterValue,
     'link-local'),
    ({'AlarmActions': ['arn:aws:sns:us-east-1:1:ops']}, errors.InvalidParameterValue,
     'alarm_action_urls'),
    ({'OKActions': [HOOK + str(n) for n in range(6)]}, errors.InvalidParameterValue,
     'greater than 5'),
    ({'EvaluationCriteria': {}}, errors.InvalidParameterValue, 'not supported'),
])
def test_put_metric_alarm_refuses(ctx, fields, error, text):
    with pytest.raises(error, match=text):
        alarms.put_metric_alarm(ctx, metric_alarm(**fields))
    assert ctx.alarms.search() == []


def test_quotas(ctx, bob):
    ctx.conf.set_override('project_alarm_quota', 2, group='alarms')
    alarms.put_metric_alarm(ctx, metric_alarm('a'))
    alarms.put_metric_alarm(ctx, metric_alarm('b'))
    alarms.put_metric_alarm(ctx, metric_alarm('b', Threshold=1.0))  # a replacement
    with pytest.raises(errors.LimitExceeded, match=r'\(2\)'):
        alarms.put_metric_alarm(ctx, metric_alarm('c'))
    alarms.put_metric_alarm(bob, metric_alarm('c'))
    ctx.alarms.set_quotas('alice', {'alarms': 3})
    alarms.put_metric_alarm(ctx, metric_alarm('c'))


def test_percentile_alarms(ctx):
    alarms.put_metric_alarm(ctx, metric_alarm(
        Statistic=None, ExtendedStatistic='p99.9', EvaluateLowSampleCountPercentile='ignore'))
    shown, = describe(ctx)['MetricAlarms']
    assert shown['ExtendedStatistic'] == 'p99.9' and 'Statistic' not in shown


def test_arn_actions_are_mapped_to_notifier_urls(ctx):
    ctx.conf.register_opts(alarms.OPTS, group='cloudwatch')
    ctx.conf.set_override('alarm_action_urls', [
        'arn:aws:sns:*:*:ops-*=http://127.0.0.1:9/sns/{name}'], group='cloudwatch')
    topic = 'arn:aws:sns:RegionOne:alice:ops-pager'
    alarms.put_metric_alarm(ctx, metric_alarm(AlarmActions=[topic], OKActions=[HOOK]))
    shown, = describe(ctx)['MetricAlarms']
    assert shown['AlarmActions'] == [topic]
    stored = ctx.alarms.get(alarm_shapes.alarm_id('alice', 'cpu-high'))
    assert stored['alarm_actions'] == ['http://127.0.0.1:9/sns/ops-pager']
    assert stored['ok_actions'] == [HOOK]


def test_math_alarms(ctx):
    metrics = [
        {'Id': 'errors', 'ReturnData': False, 'MetricStat': {
            'Metric': {'Namespace': 'App', 'MetricName': 'Errors'}, 'Period': 60,
            'Stat': 'Sum'}},
        {'Id': 'calls', 'ReturnData': False, 'MetricStat': {
            'Metric': {'Namespace': 'App', 'MetricName': 'Calls'}, 'Period': 60,
            'Stat': 'Sum'}},
        {'Id': 'rate', 'Expression': '100 * errors / calls', 'Label': 'Error rate'}]
    params = metric_alarm('error-rate', Metrics=metrics, Namespace=None, MetricName=None,
                          Dimensions=None, Statistic=None, Period=None)
    alarms.put_metric_alarm(ctx, params)
    shown, = describe(ctx)['MetricAlarms']
    assert shown['Metrics'] == metrics and 'Dimensions' not in shown
    with pytest.raises(errors.InvalidParameterValue, match='Exactly one element'):
        alarms.put_metric_alarm(ctx, dict(params, Metrics=metrics[:2] + [
            dict(metrics[2], ReturnData=False)]))
    with pytest.raises(errors.InvalidParameterCombination, match='mutually exclusive'):
        alarms.put_metric_alarm(ctx, dict(params, Period=60))


def test_composite_alarms(ctx):
    for name in ('cpu', 'disk'):
        alarms.put_metric_alarm(ctx, metric_alarm(name))
    rule = 'ALARM(cpu) AND NOT OK("disk")'
    alarms.put_composite_alarm(ctx, {'AlarmName': 'both', 'AlarmRule': rule,
                                     'AlarmActions': [HOOK]})
    assert describe(ctx)['CompositeAlarms'] == []  # MetricAlarm unless AlarmTypes says
    found = describe(ctx, AlarmTypes=['CompositeAlarm', 'MetricAlarm'])
    composite, = found['CompositeAlarms']
    assert [a['AlarmName'] for a in found['MetricAlarms']] == ['cpu', 'disk']
    assert composite['AlarmRule'] == rule
    assert composite['StateReason'] == 'Unchecked: Initial alarm creation'
    children = describe(ctx, ChildrenOfAlarmName='both')
    assert [a['AlarmName'] for a in children['MetricAlarms']] == ['cpu', 'disk']
    parents = describe(ctx, ParentsOfAlarmName='cpu', AlarmTypes=['CompositeAlarm'])
    assert [a['AlarmName'] for a in parents['CompositeAlarms']] == ['both']
    with pytest.raises(errors.InvalidParameterCombination):
        describe(ctx, ChildrenOfAlarmName='both', StateValue='OK')
    with pytest.raises(errors.InvalidParameterValue, match=r'\["nope"\]'):
        alarms.put_composite_alarm(ctx, {'AlarmName': 'x', 'AlarmRule': 'ALARM(nope)'})
    with pytest.raises(errors.InvalidParameterValue, match='AlarmRule is not valid'):
        alarms.put_composite_alarm(ctx, {'AlarmName': 'x', 'AlarmRule': 'ALARM(cpu) XOR'})
    with pytest.raises(errors.InvalidParameterValue, match='itself'):
        alarms.put_composite_alarm(ctx, {'AlarmName': 'both', 'AlarmRule': 'OK(both)'})
    with pytest.raises(errors.InvalidParameterValue, match='exists already'):
        alarms.put_metric_alarm(ctx, metric_alarm('both'))


def test_describe_filters_and_pages(ctx, bob):
    for n in range(7):
        alarms.put_metric_alarm(ctx, metric_alarm('alarm-%d' % n))
    alarms.put_metric_alarm(ctx, metric_alarm('other', AlarmActions=['http://127.0.0.2:9/']))
    alarms.put_metric_alarm(bob, metric_alarm('alarm-0'))
    ctx.alarms.transition(alarm_shapes.alarm_id('alice', 'alarm-3'), 'insufficient data',
                          'ok', 'fine', None)
    names = []
    token = None
    while True:
        page = describe(ctx, AlarmNamePrefix='alarm-', MaxRecords=3,
                        **({'NextToken': token} if token else {}))
        names += [a['AlarmName'] for a in page['MetricAlarms']]
        token = page.get('NextToken')
        if not token:
            break
    assert names == ['alarm-%d' % n for n in range(7)]
    assert [a['AlarmName'] for a in describe(ctx, StateValue='OK')['MetricAlarms']] == [
        'alarm-3']
    assert [a['AlarmName'] for a in describe(
        ctx, AlarmNames=['alarm-5', 'other', 'missing'])['MetricAlarms']] == [
        'alarm-5', 'other']
    assert [a['AlarmName'] for a in describe(
        ctx, ActionPrefix='http://127.0.0.2')['MetricAlarms']] == ['other']
    assert [a['AlarmArn'] for a in describe(bob)['MetricAlarms']] == [
        'arn:aws:cloudwatch:RegionOne:bob:alarm:alarm-0']
    with pytest.raises(errors.InvalidNextToken):
        describe(ctx, NextToken='garbage!')


def test_describe_alarms_for_metric(ctx):
    alarms.put_metric_alarm(ctx, metric_alarm('a'))
    alarms.put_metric_alarm(ctx, metric_alarm('b', Period=300, EvaluationPeriods=2,
                                              DatapointsToAlarm=1))
    alarms.put_metric_alarm(ctx, metric_alarm('c', MetricName='Other'))
    params = {'Namespace': 'App', 'MetricName': 'Latency', 'Dimensions': [
        {'Name': 'Service', 'Value': 'web'}, {'Name': 'Az', 'Value': 'a'}]}
    names = [a['AlarmName'] for a in alarms.describe_alarms_for_metric(ctx, params)[
        'MetricAlarms']]
    assert names == ['a', 'b']
    only = alarms.describe_alarms_for_metric(ctx, dict(params, Period=300))
    assert [a['AlarmName'] for a in only['MetricAlarms']] == ['b']
    other = alarms.describe_alarms_for_metric(ctx, dict(params, Dimensions=[]))
    assert other['MetricAlarms'] == []


def test_delete_is_all_or_nothing_and_keeps_the_history(ctx, bob):
    alarms.put_metric_alarm(ctx, metric_alarm('a', Tags=[{'Key': 'team', 'Value': 'x'}]))
    alarms.put_metric_alarm(bob, metric_alarm('b'))
    with pytest.raises(errors.ResourceNotFound, match='1 of the alarms to delete was not '
                                                      'found: b'):
        alarms.delete_alarms(ctx, {'AlarmNames': ['a', 'b']})
    assert describe(ctx)['MetricAlarms']
    arn = 'arn:aws:cloudwatch:RegionOne:alice:alarm:a'
    assert tags.list_tags(ctx, arn) == [{'Key': 'team', 'Value': 'x'}]
    alarms.delete_alarms(ctx, {'AlarmNames': ['a']})
    assert describe(ctx)['MetricAlarms'] == []
    assert tags.list_tags(ctx, arn) == []
    history = alarms.OPERATIONS['DescribeAlarmHistory'](ctx, {'AlarmName': 'a'})
    assert [i['HistorySummary'] for i in history['AlarmHistoryItems']] == [
        'Alarm "a" deleted', 'Alarm "a" created']
    assert len(describe(bob)['MetricAlarms']) == 1
    with pytest.raises(errors.InvalidParameterValue, match='100'):
        alarms.delete_alarms(ctx, {'AlarmNames': ['n%d' % n for n in range(101)]})


def test_enable_and_disable_actions(ctx):
    alarms.put_metric_alarm(ctx, metric_alarm('a', OKActions=[HOOK + '/ok']))
    alarm_id = alarm_shapes.alarm_id('alice', 'a')
    alarms.disable_alarm_actions(ctx, {'AlarmNames': ['a', 'missing']})
    stored = ctx.alarms.get(alarm_id)
    assert stored['alarm_actions'] == [] and stored['ok_actions'] == []
    shown, = describe(ctx)['MetricAlarms']
    assert shown['ActionsEnabled'] is False and shown['AlarmActions'] == [HOOK]
    alarms.enable_alarm_actions(ctx, {'AlarmNames': ['a']})
    stored = ctx.alarms.get(alarm_id)
    assert stored['alarm_actions'] == [HOOK] and stored['ok_actions'] == [HOOK + '/ok']
    alarms.put_metric_alarm(ctx, metric_alarm('b', ActionsEnabled=False))
    assert ctx.alarms.get(alarm_shapes.alarm_id('alice', 'b'))['alarm_actions'] == []


class _Recorder:
    def __init__(self):
        self.calls = []

    def notify(self, *args):
        self.calls.append(args)


def test_set_alarm_state_fires_the_actions_of_a_new_state(ctx, monkeypatch):
    recorder = _Recorder()
    monkeypatch.setattr(alarms, 'notifiers', lambda ctx: recorder)
    alarms.put_metric_alarm(ctx, metric_alarm('a'))
    alarms.set_alarm_state(ctx, {'AlarmName': 'a', 'StateValue': 'ALARM',
                                 'StateReason': 'testing', 'StateReasonData': '{"x": 1}'})
    shown, = describe(ctx)['MetricAlarms']
    assert (shown['StateValue'], shown['StateReason'], shown['StateReasonData']) == (
        'ALARM', 'testing', '{"x": 1}')
    (alarm, previous, current, reason, data), = recorder.calls
    assert (previous, current, reason) == ('insufficient data', 'alarm', 'testing')
    assert alarm['alarm_actions'] == [HOOK]
    alarms.set_alarm_state(ctx, {'AlarmName': 'a', 'StateValue': 'ALARM',
                                 'StateReason': 'again'})
    assert len(recorder.calls) == 1  # the same state: no action
    with pytest.raises(errors.ResourceNotFound):
        alarms.set_alarm_state(ctx, {'AlarmName': 'b', 'StateValue': 'OK',
                                     'StateReason': ''})
    with pytest.raises(errors.InvalidFormat):
        alarms.set_alarm_state(ctx, {'AlarmName': 'a', 'StateValue': 'OK',
                                     'StateReason': '', 'StateReasonData': '{'})


def test_alarm_history(ctx, bob):
    alarms.put_metric_alarm(dataclasses.replace(ctx, now=ctx.now - datetime.timedelta(
        seconds=1)), metric_alarm('a'))
    alarms.put_metric_alarm(ctx, metric_alarm('a', Threshold=60.0))
    alarm_id = alarm_shapes.alarm_id('alice', 'a')
    ctx.alarms.transition(alarm_id, 'insufficient data', 'ok', 'Threshold Crossed: fine',
                          None)
    ctx.alarms.transition(alarm_id, 'ok', 'alarm', 'Threshold Crossed: bad', None)
    ctx.alarms.record_action(ctx.alarms.get(alarm_id), storage.ACTION, {
        'url': HOOK, 'state': 'alarm', 'outcome': 'delivered', 'attempts': 1})
    alarms.put_metric_alarm(bob, metric_alarm('a'))
    history = alarms.OPERATIONS['DescribeAlarmHistory']
    items = history(ctx, {})['AlarmHistoryItems']
    assert [i['HistorySummary'] for i in items] == [
        'Successfully executed action %s' % HOOK, 'Alarm updated from OK to ALARM',
        'Alarm updated from INSUFFICIENT_DATA to OK', 'Alarm "a" updated',
        'Alarm "a" created']
    assert {i['AlarmName'] for i in items} == {'a'}
    assert {i['AlarmType'] for i in items} == {'MetricAlarm'}
    state = json.loads(items[1]['HistoryData'])
    assert state['oldState'] == {'stateValue': 'OK'}
    assert state['newState']['stateReason'] == 'Threshold Crossed: bad'
    updated = json.loads(items[3]['HistoryData'])
    assert updated['type'] == 'Update' and updated['updatedAlarm']['Threshold'] == 60.0
    states = history(ctx, {'HistoryItemType': 'StateUpdate', 'ScanBy': 'TimestampAscending'})
    assert [i['HistorySummary'] for i in states['AlarmHistoryItems']] == [
        'Alarm updated from INSUFFICIENT_DATA to OK', 'Alarm updated from OK to ALARM']
    first = history(ctx, {'MaxRecords': 2})
    assert len(first['AlarmHistoryItems']) == 2
    rest = history(ctx, {'MaxRecords': 10, 'NextToken': first['NextToken']})
    assert [i['HistorySummary'] for i in first['AlarmHistoryItems'] + rest[
        'AlarmHistoryItems']] == [i['HistorySummary'] for i in items]
    assert 'NextToken' not in rest
    assert history(ctx, {'AlarmTypes': ['CompositeAlarm']})['AlarmHistoryItems'] == []
    assert len(history(bob, {})['AlarmHistoryItems']) == 1
    later = items[0]['Timestamp']
    assert len(history(ctx, {'StartDate': later})['AlarmHistoryItems']) >= 1
    with pytest.raises(errors.InvalidNextToken):
        history(ctx, {'NextToken': alarm_shapes.encode_token({'event': 'nope'})})
