"""mapping: CloudWatch metrics as archive resources and metrics, on a real ArchiveStore."""

import datetime

import pytest

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metrics

from tests.unit.cloudwatch.conftest import NOW

DIMS = [{'Name': 'Host', 'Value': 'a'}, {'Name': 'App', 'Value': 'web'}]


def put(ctx, *data, namespace='Shop'):
    return metrics.put_metric_data(ctx, {'Namespace': namespace, 'MetricData': list(data)})


def at(minutes_ago, seconds=0):
    return NOW - datetime.timedelta(minutes=minutes_ago) + datetime.timedelta(seconds=seconds)


def test_key_is_order_insensitive_and_refuses_repeated_names():
    assert mapping.metric_key('N', 'm', DIMS) == mapping.metric_key('N', 'm', DIMS[::-1])
    assert mapping.metric_key('N', 'm', DIMS).dimensions == (('App', 'web'), ('Host', 'a'))
    with pytest.raises(errors.InvalidParameterValue, match='duplicate'):
        mapping.metric_key('N', 'm', DIMS + [{'Name': 'App', 'Value': 'x'}])
    with pytest.raises(errors.InvalidParameterValue, match='at most 256'):
        mapping.metric_key('N', 'm', [{'Name': 'D', 'Value': 'x' * 300}])


def test_resource_id_is_deterministic_per_project():
    key = mapping.metric_key('N', 'm', DIMS)
    assert mapping.resource_id('p1', key) == mapping.resource_id('p1', key)
    assert mapping.resource_id('p1', key) != mapping.resource_id('p2', key)
    assert mapping.resource_id('p1', key) != mapping.resource_id('p1', key, 'Sum')
    other = mapping.metric_key('N', 'other', DIMS)  # same resource, another metric
    assert mapping.resource_id('p1', key) == mapping.resource_id('p1', other)


def test_put_creates_an_archive_metric_readable_as_any_other(ctx):
    put(ctx, {'MetricName': 'Latency', 'Dimensions': DIMS, 'Value': 3.0, 'Unit': 'Seconds',
              'Timestamp': at(5)})
    found = mapping.find(ctx, 'Shop', 'Latency', DIMS[::-1])
    assert found is not None and found.unit == 'Seconds'
    resource = ctx.store.index.get_resource(found.metric.resource_id)
    assert resource.type == mapping.RESOURCE_TYPE
    assert resource.project_id == 'alice-project'
    assert resource.attributes == {'namespace': 'Shop',
                                   'dimensions': '{"App":"web","Host":"a"}'}
    assert found.metric.archive_policy_name == mapping.STANDARD_RESOLUTION
    ctx.store.refresh([found.id])
    [(g, stamps, values)] = ctx.store.series(found.metric, 60, 'mean')
    assert list(values) == [3.0]
    assert mapping.find(ctx, 'Shop', 'Latency', DIMS[:1]) is None


def test_policies_follow_cloudwatch_retention_tiers():
    policies = mapping.archive_policies()
    high = policies[mapping.HIGH_RESOLUTION]
    assert [(i.granularity, i.timespan) for i in high.definition] == [
        (1, 3 * 3600), (60, 15 * 86400), (300, 63 * 86400), (3600, 455 * 86400)]
    assert [i.granularity for i in policies[mapping.STANDARD_RESOLUTION].definition] == [
        60, 300, 3600]
    assert {'count', 'sum', 'min', 'max', '99pct', '99.9pct'} <= set(high.methods)


def test_statistics_are_exact_with_values_sets_and_same_timestamps(ctx):
    stamp = at(10, 5)
    put(ctx, {'MetricName': 'm', 'Value': 1.0, 'Timestamp': stamp},
        {'MetricName': 'm', 'Value': 2.0, 'Timestamp': stamp},
        {'MetricName': 'm', 'StatisticValues': {'SampleCount': 1000, 'Sum': 5000,
                                                'Minimum': 0.5, 'Maximum': 40},
         'Timestamp': stamp},
        {'MetricName': 'm', 'Values': [7, 9], 'Counts': [2, 1], 'Timestamp': stamp})
    put(ctx, {'MetricName': 'm', 'Value': 100.0, 'Timestamp': stamp})  # another request
    found = mapping.find(ctx, 'Shop', 'm')
    [point] = mapping.statistics(ctx, found, at(60), NOW, 60,
                                 ['SampleCount', 'Sum', 'Minimum', 'Maximum', 'Average'])
    assert point['SampleCount'] == 1000 + 2 + 3 + 1
    assert point['Sum'] == 5000 + 1 + 2 + 7 * 2 + 9 + 100
    assert point['Minimum'] == 0.5 and point['Maximum'] == 100
    assert point['Average'] == pytest.approx(point['Sum'] / point['SampleCount'])
    assert point['Timestamp'] == at(10).replace(second=0)
    assert point['Unit'] == 'None'


def test_percentiles_from_values_and_none_where_a_set_hides_them(ctx):
    put(ctx, *[{'MetricName': 'lat', 'Value': float(v), 'Timestamp': at(30)}
               for v in range(1, 101)])
    put(ctx, {'MetricName': 'lat', 'StatisticValues': {'SampleCount': 3, 'Sum': 6,
                                                       'Minimum': 1, 'Maximum': 3},
              'Timestamp': at(20)})
    found = mapping.find(ctx, 'Shop', 'lat')
    points = mapping.statistics(ctx, found, at(60), NOW, 60, ['p50', 'p100', 'p0'])
    by_minute = {p["Timestamp"]: p for p in points}
    assert by_minute[at(30)]['ExtendedStatistics'] == {'p50': 50.5, 'p100': 100.0, 'p0': 1.0}
    assert by_minute[at(20)]['ExtendedStatistics'] == {'p100': 3.0, 'p0': 1.0}
    # a period that is no granularity has exact extremes, no percentile
    [point] = mapping.statistics(ctx, found, at(60), NOW, 3600 - 0, ['p50', 'Maximum'])
    assert 'ExtendedStatistics' not in point and point['Maximum'] == 100


def test_high_resolution_metrics_have_one_second_points(ctx):
    put(ctx, *[{'MetricName': 'hr', 'Value': float(i), 'StorageResolution': 1,
                'Timestamp': at(1, i)} for i in range(10)])
    found = mapping.find(ctx, 'Shop', 'hr')
    assert found.metric.archive_policy_name == mapping.HIGH_RESOLUTION
    points = mapping.statistics(ctx, found, at(1), NOW, 5, ['Sum'])
    assert sorted((p['Timestamp'], p['Sum']) for p in points) == [
        (at(1), 10.0), (at(1, 5), 35.0)]


def test_projects_see_only_their_metrics(ctx, bob):
    put(ctx, {'MetricName': 'secret', 'Value': 1.0, 'Timestamp': at(3)})
    assert mapping.find(ctx, 'Shop', 'secret') is not None
    assert mapping.find(bob, 'Shop', 'secret') is None
    put(bob, {'MetricName': 'secret', 'Value': 5.0, 'Timestamp': at(3)})
    mine = mapping.statistics(ctx, mapping.find(ctx, 'Shop', 'secret'), at(10), NOW, 60,
                              ['Sum'])
    assert [p['Sum'] for p in mine] == [1.0]


def test_series_for_alarms(ctx):
    put(ctx, *[{'MetricName': 's', 'Value': float(i), 'Timestamp': at(i)} for i in (1, 2, 3)])
    stamps, values = mapping.series(ctx, mapping.find(ctx, 'Shop', 's'), at(10), NOW, 60,
                                    'Maximum')
    assert list(values) == [3.0, 2.0, 1.0]
    assert list(stamps) == sorted(stamps)
