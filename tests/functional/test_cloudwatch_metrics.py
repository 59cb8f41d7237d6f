"""The metric operations through every real client (boto3 json and CBOR, botocore 1.42.6
query, the aws CLI, the JS SDK) against a live telewatch-cloudwatch on the real Keystone:
what one puts, the statistics, GetMetricData with metric math and the listing give back,
and the errors, in each protocol."""

import datetime

import pytest

from tests.functional import services
from tests.functional.cloudwatch_clients import ClientError


def when(value):
    """A timestamp as a client gives it: a datetime, or epoch seconds (the aws CLI prints
    the json protocol's numbers as they are)."""
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value


def test_put_then_read_back_in_every_protocol(client, cloudwatch):
    namespace = services.unique('Metrics')
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    minute = now - datetime.timedelta(minutes=2)
    dims = [{'Name': 'Client', 'Value': client.name}]
    client.call('PutMetricData', {'Namespace': namespace, 'MetricData': [
        {'MetricName': 'Latency', 'Dimensions': dims, 'Timestamp': minute, 'Value': 3.0,
         'Unit': 'Milliseconds'},
        {'MetricName': 'Latency', 'Dimensions': dims, 'Timestamp': minute,
         'StatisticValues': {'SampleCount': 4, 'Sum': 40, 'Minimum': 1, 'Maximum': 20},
         'Unit': 'Milliseconds'},
        {'MetricName': 'Latency', 'Dimensions': dims, 'Timestamp': minute,
         'Values': [5, 7], 'Counts': [2, 1], 'Unit': 'Milliseconds'}]})
    answer = client.call('GetMetricStatistics', {
        'Namespace': namespace, 'MetricName': 'Latency', 'Dimensions': dims,
        'StartTime': now - datetime.timedelta(minutes=10), 'EndTime': now, 'Period': 60,
        'Statistics': ['SampleCount', 'Sum', 'Minimum', 'Maximum', 'Average']})
    [point] = answer['Datapoints']
    assert (point['SampleCount'], point['Sum'], point['Minimum'], point['Maximum']) == (
        8.0, 60.0, 1.0, 20.0)
    assert point['Average'] == 7.5 and point['Unit'] == 'Milliseconds'
    assert when(point['Timestamp']) == minute
    data = client.call('GetMetricData', {
        'StartTime': now - datetime.timedelta(minutes=10), 'EndTime': now,
        'MetricDataQueries': [
            {'Id': 'sum', 'ReturnData': False, 'MetricStat': {
                'Metric': {'Namespace': namespace, 'MetricName': 'Latency',
                           'Dimensions': dims}, 'Period': 60, 'Stat': 'Sum'}},
            {'Id': 'twice', 'Expression': 'sum * 2', 'Label': 'Twice'}]})
    [result] = data['MetricDataResults']
    assert (result['Id'], result['Label'], result['Values']) == ('twice', 'Twice', [120.0])
    assert [when(t) for t in result['Timestamps']] == [minute]
    assert result['StatusCode'] == 'Complete'
    listed = client.call('ListMetrics', {'Namespace': namespace, 'RecentlyActive': 'PT3H'})
    assert listed['Metrics'] == [{'Namespace': namespace, 'MetricName': 'Latency',
                                  'Dimensions': dims}]
    assert client.call('GetMetricStatistics', {
        'Namespace': namespace, 'MetricName': 'Latency', 'Dimensions': dims,
        'StartTime': now - datetime.timedelta(minutes=10), 'EndTime': now, 'Period': 60,
        'Statistics': ['Sum']}, key=cloudwatch.bob)['Datapoints'] == []


def test_errors_in_every_protocol(client):
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(ClientError) as caught:
        client.call('PutMetricData', {'Namespace': 'Errors', 'MetricData': [
            {'MetricName': 'm', 'Value': 1.0, 'Timestamp': now - datetime.timedelta(days=20)}]})
    assert caught.value.code == 'InvalidParameterValue'
    assert 'two weeks in the past' in caught.value.message
    with pytest.raises(ClientError) as caught:
        client.call('GetMetricStatistics', {
            'Namespace': 'Errors', 'MetricName': 'm', 'StartTime': now - datetime.timedelta(
                days=2), 'EndTime': now, 'Period': 60, 'Statistics': ['Sum']})
    assert caught.value.code == 'InvalidParameterCombination'
    assert caught.value.status in (400, None)
