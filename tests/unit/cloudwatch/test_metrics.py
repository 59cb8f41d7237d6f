"""The metric operations on a real ArchiveStore: PutMetricData's checks, ListMetrics,
GetMetricStatistics and GetMetricData."""

import datetime

import pytest

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import metrics

from tests.unit.cloudwatch.conftest import NOW

OPS = metrics.OPERATIONS


def at(minutes_ago):
    return NOW - datetime.timedelta(minutes=minutes_ago)


def put(ctx, *data, namespace='Shop'):
    return OPS['PutMetricData'](ctx, {'Namespace': namespace, 'MetricData': list(data)})


def dims(**pairs):
    return [{'Name': k, 'Value': v} for k, v in pairs.items()]


@pytest.mark.parametrize('datum, error, text', [
    ({'Value': float('nan')}, 'InvalidParameterValue', 'The value nan for parameter '
     'MetricData.member.1.Value is invalid.'),
    ({'Value': float('inf')}, 'InvalidParameterValue', 'Value is invalid'),
    ({'Value': 2.0 ** 361}, 'InvalidParameterValue', 'Value is invalid'),
    ({'Value': 1.0, 'StatisticValues': {'SampleCount': 1, 'Sum': 1, 'Minimum': 1,
                                        'Maximum': 1}},
     'InvalidParameterCombination', 'mutually exclusive'),
    ({}, 'MissingParameter', 'MetricData.member.1.Value is required'),
    ({'Values': [1.0, 2.0], 'Counts': [1.0]}, 'InvalidParameterValue', 'same size'),
    ({'Values': [1.0] * 151}, 'InvalidParameterValue', 'greater than 150'),
    ({'StatisticValues': {'SampleCount': 2, 'Sum': 1, 'Minimum': 3, 'Maximum': 1}},
     'InvalidParameterValue', 'Maximum must be greater'),
    ({'Value': 1.0, 'Timestamp': NOW - datetime.timedelta(days=15)},
     'InvalidParameterValue', 'two weeks in the past'),
    ({'Value': 1.0, 'Timestamp': NOW + datetime.timedelta(hours=3)},
     'InvalidParameterValue', 'two hours in the future'),
    ({'Value': 1.0, 'StorageResolution': 10}, 'InvalidParameterValue', 'StorageResolution'),
])
def test_put_refuses_bad_data_and_writes_nothing(ctx, datum, error, text):
    good = {'MetricName': 'ok', 'Value': 1.0}
    with pytest.raises(errors.CloudWatchError, match=text.replace('.', r'\.')) as caught:
        put(ctx, dict(datum, MetricName='bad'), good)
    assert caught.value.code == error
    assert OPS['ListMetrics'](ctx, {})['Metrics'] == []


def test_put_limits(ctx):
    with pytest.raises(errors.InvalidParameterValue, match='greater than 1000'):
        put(ctx, *[{'MetricName': 'm', 'Value': 1.0}] * 1001)
    with pytest.raises(errors.InvalidParameterValue, match='Namespace'):
        put(ctx, {'MetricName': 'm', 'Value': 1.0}, namespace='AWS/EC2')
    assert put(ctx, *[{'MetricName': 'm', 'Value': 1.0}] * 1000) == {}


def test_list_metrics_filters_and_pages(ctx, bob, monkeypatch):
    put(ctx, *[{'MetricName': 'm%d' % (i % 3), 'Dimensions': dims(Host='h%d' % i), 'Value': 1.0}
               for i in range(7)])
    put(ctx, {'MetricName': 'm0', 'Dimensions': dims(Host='h0', App='x'), 'Value': 1.0},
        namespace='Other')
    put(bob, {'MetricName': 'bobs', 'Value': 1.0})
    listed = OPS['ListMetrics'](ctx, {})['Metrics']
    assert len(listed) == 8 and 'bobs' not in {m['MetricName'] for m in listed}
    assert listed[0] == {'Namespace': 'Other', 'MetricName': 'm0',
                         'Dimensions': dims(App='x', Host='h0')}
    assert len(OPS['ListMetrics'](ctx, {'Namespace': 'Shop'})['Metrics']) == 7
    assert len(OPS['ListMetrics'](ctx, {'MetricName': 'm0'})['Metrics']) == 4
    assert OPS['ListMetrics'](ctx, {'Dimensions': [{'Name': 'App'}]})['Metrics'] == [
        listed[0]]
    assert len(OPS['ListMetrics'](ctx, {'Dimensions': [
        {'Name': 'Host', 'Value': 'h0'}]})['Metrics']) == 2
    monkeypatch.setattr('telewatch.cloudwatch.metric_list.PAGE', 3)
    pages, token = [], None
    while True:
        answer = OPS['ListMetrics'](ctx, {'NextToken': token} if token else {})
        pages.append(answer['Metrics'])
        token = answer.get('NextToken')
        if token is None:
            break
    assert [len(p) for p in pages] == [3, 3, 2]
    assert [m for p in pages for m in p] == listed
    with pytest.raises(errors.InvalidNextToken):
        OPS['ListMetrics'](ctx, {'NextToken': 'not a token'})


def test_list_recently_active(ctx):
    put(ctx, {'MetricName': 'old', 'Value': 1.0, 'Timestamp': at(5 * 60)})
    put(ctx, {'MetricName': 'new', 'Value': 1.0, 'Timestamp': at(5)})
    names = [m['MetricName'] for m in OPS['ListMetrics'](ctx, {'RecentlyActive': 'PT3H'})[
        'Metrics']]
    assert names == ['new']


def gms(ctx, **params):
    base = {'Namespace': 'Shop', 'MetricName': 'm', 'StartTime': at(60), 'EndTime': NOW,
            'Period': 60, 'Statistics': ['Sum']}
    base.update(params)
    return OPS['GetMetricStatistics'](ctx, base)


def test_get_metric_statistics(ctx):
    put(ctx, *[{'MetricName': 'm', 'Value': float(i), 'Unit': 'Count', 'Timestamp': at(i)}
               for i in range(1, 6)])
    answer = gms(ctx, Period=300, StartTime=at(65), Statistics=['Sum', 'SampleCount'])
    assert answer['Label'] == 'm'
    assert sorted((p['Timestamp'], p['Sum'], p['SampleCount']) for p in answer['Datapoints']) \
        == [(at(5), 15.0, 5.0)]  # periods start at StartTime
    assert answer['Datapoints'][0]['Unit'] == 'Count'
    assert len(gms(ctx, Unit='Count')['Datapoints']) == 5
    assert gms(ctx, Unit='Seconds')['Datapoints'] == []
    assert gms(ctx, Dimensions=dims(Host='x'))['Datapoints'] == []
    extended = gms(ctx, Statistics=[], ExtendedStatistics=['p99', 'p100'])
    assert extended['Datapoints'][0]['ExtendedStatistics']['p100'] > 0
    with pytest.raises(errors.InvalidParameterCombination, match='either Statistics'):
        gms(ctx, ExtendedStatistics=['p99'])
    with pytest.raises(errors.InvalidParameterValue, match='p42 of parameter'):
        gms(ctx, Statistics=[], ExtendedStatistics=['p42'])
    with pytest.raises(errors.InvalidParameterCombination, match='1,441 datapoints'):
        gms(ctx, StartTime=NOW - datetime.timedelta(minutes=1441))
    # older than 3 hours: a period under a minute finds nothing kept
    assert gms(ctx, StartTime=at(200), Period=10)['Datapoints'] == []


def query(qid, metric='m', stat='Sum', period=60, **extra):
    stat = {'Metric': {'Namespace': 'Shop', 'MetricName': metric}, 'Period': period,
            'Stat': stat}
    return dict({'Id': qid, 'MetricStat': stat}, **extra)


def gmd(ctx, queries, **params):
    return OPS['GetMetricData'](ctx, dict({'MetricDataQueries': queries,
                                           'StartTime': at(10), 'EndTime': NOW}, **params))


def test_get_metric_data_with_math_and_paging(ctx):
    put(ctx, *[{'MetricName': 'errors', 'Value': 1.0, 'Timestamp': at(i)} for i in (1, 2, 3)])
    put(ctx, *[{'MetricName': 'calls', 'Value': 10.0, 'Timestamp': at(i)} for i in (1, 2, 3)])
    answer = gmd(ctx, [query('e', 'errors', ReturnData=False), query('c', 'calls'),
                       {'Id': 'rate', 'Expression': 'e / c * 100', 'Label': 'Error rate'}])
    results = {r['Id']: r for r in answer['MetricDataResults']}
    assert set(results) == {'c', 'rate'}
    assert results['rate']['Values'] == [10.0, 10.0, 10.0]
    assert results['rate']['Label'] == 'Error rate' and results['c']['Label'] == 'calls'
    assert results['c']['Timestamps'] == [at(1), at(2), at(3)]  # newest first
    assert results['c']['StatusCode'] == 'Complete'
    ascending = gmd(ctx, [query('c', 'calls')], ScanBy='TimestampAscending')
    assert ascending['MetricDataResults'][0]['Timestamps'] == [at(3), at(2), at(1)]
    first = gmd(ctx, [query('c', 'calls'), query('e', 'errors')], MaxDatapoints=4)
    assert [len(r['Values']) for r in first['MetricDataResults']] == [3, 1]
    second = gmd(ctx, [query('c', 'calls'), query('e', 'errors')], MaxDatapoints=4,
                 NextToken=first['NextToken'])
    assert [len(r['Values']) for r in second['MetricDataResults']] == [0, 2]
    assert 'NextToken' not in second


@pytest.mark.parametrize('queries, text', [
    ([query('a'), query('a')], 'not unique'),
    ([query('A1')], 'Invalid metric id A1'),
    ([{'Id': 'x', 'Expression': 'y'}], 'Unrecognized metric id y'),
    ([{'Id': 'x', 'Expression': 'y + 1'}, {'Id': 'y', 'Expression': 'x * 2'}], 'Circular'),
    ([{'Id': 'x', 'Expression': 'SUM(('}], 'Error in expression x'),
    ([query('a', stat='p42')], 'Query a: The percentile p42'),
    ([query('a', period=7)], 'Period must be'),
])
def test_get_metric_data_errors(ctx, queries, text):
    with pytest.raises(errors.CloudWatchError, match=text):
        gmd(ctx, queries)


def test_nonces_differ_between_workers(monkeypatch):
    monkeypatch.setattr(metrics.os, 'getpid', lambda: 4001)
    first = [next(metrics._nonce_counter()) for _ in range(3)]
    monkeypatch.setattr(metrics.os, 'getpid', lambda: 4002)  # a forked worker
    second = [next(metrics._nonce_counter()) for _ in range(3)]
    assert {n % 1000 for n in first} == {1} and {n % 1000 for n in second} == {2}
    assert len(set(first)) == 3 and first[1] - first[0] == 1000
