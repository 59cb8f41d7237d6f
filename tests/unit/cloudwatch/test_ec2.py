"""AWS/EC2 as a view over instance resources' polled rates, on a real ArchiveStore."""

import datetime

import numpy

from telewatch.cloudwatch import ec2
from telewatch.cloudwatch import mapping
from telewatch.cloudwatch import metrics

from tests.unit.cloudwatch.conftest import NOW

INSTANCE = 'b4c1f2a0-0000-4000-8000-000000000001'


def minute(k):
    return NOW - datetime.timedelta(minutes=10 - k)


def resource(kind, rid, project, attributes, names):
    return rid, mapping._Resource(rid, kind, 'user', project, attributes, {
        n: mapping._Metric(n, None, 'medium') for n in names})


def measures(store, ids, name, values):
    """One measure a minute (at its middle) of ``values``."""
    stamps = numpy.array([(minute(k) + datetime.timedelta(seconds=30)).replace(tzinfo=None)
                          for k in range(len(values))], 'datetime64[ns]')
    store.add_measures({ids[name]: (stamps, numpy.array(values, float))})


def polled(store, project='alice-project'):
    store.index.create_resource_type('instance', {})
    store.index.create_resource_type('instance_network_interface', {
        'instance_id': {'type': 'string', 'required': False}})
    ids = store.ensure_metrics([
        resource('instance', INSTANCE, project, {}, ['cpu_util', 'disk.read.requests.rate']),
        resource('instance_network_interface', 'b4c1f2a0-0000-4000-8000-0000000000a1',
                 project, {'instance_id': INSTANCE}, ['network.incoming.bytes.rate']),
        resource('instance_network_interface', 'b4c1f2a0-0000-4000-8000-0000000000a2',
                 project, {'instance_id': INSTANCE}, ['network.incoming.bytes.rate'])],
        'creator')
    measures(store, ids[INSTANCE], 'cpu_util', [10, 30, 50])
    measures(store, ids[INSTANCE], 'disk.read.requests.rate', [1, 2, 3])
    for nic in ('a1', 'a2'):
        measures(store, ids['b4c1f2a0-0000-4000-8000-0000000000' + nic],
                 'network.incoming.bytes.rate', [100, 100, 100])


def gms(ctx, name, period, stats):
    return sorted(metrics.get_metric_statistics(ctx, {
        'Namespace': 'AWS/EC2', 'MetricName': name,
        'Dimensions': [{'Name': 'InstanceId', 'Value': INSTANCE}],
        'StartTime': minute(0), 'EndTime': NOW, 'Period': period,
        'Statistics': stats})['Datapoints'], key=lambda p: p['Timestamp'])


def test_cpu_is_the_mean_and_counters_what_was_done(ctx, bob):
    polled(ctx.store)
    cpu = gms(ctx, 'CPUUtilization', 180, ['Average', 'Maximum', 'SampleCount'])
    assert [(p['Average'], p['Maximum'], p['SampleCount'], p['Unit']) for p in cpu] == [
        (30.0, 50.0, 3.0, 'Percent')]
    reads = gms(ctx, 'DiskReadOps', 60, ['Sum'])
    assert [p['Sum'] for p in reads] == [60.0, 120.0, 180.0]  # per second x 60 s
    network = gms(ctx, 'NetworkIn', 180, ['Sum'])
    assert [(p['Sum'], p['Unit']) for p in network] == [(2 * 3 * 100 * 60.0, 'Bytes')]
    assert gms(bob, 'CPUUtilization', 180, ['Average']) == []
    assert gms(ctx, 'NetworkOut', 60, ['Sum']) == []


def test_listing(ctx, bob):
    polled(ctx.store)
    listed = metrics.OPERATIONS['ListMetrics'](ctx, {'Namespace': 'AWS/EC2'})['Metrics']
    assert [m['MetricName'] for m in listed] == ['CPUUtilization', 'DiskReadOps', 'NetworkIn']
    assert listed[0]['Dimensions'] == [{'Name': 'InstanceId', 'Value': INSTANCE}]
    assert metrics.OPERATIONS['ListMetrics'](bob, {})['Metrics'] == []
    assert ec2.find(ctx, mapping.metric_key('AWS/EC2', 'CPUUtilization')) is None
