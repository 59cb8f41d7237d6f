"""AWS/EC2 from what telewatch polls: the all-in-one polls libvirt's test driver (whose
domains' CPU time grows with the wall clock: one vCPU's worth), the shipped pipeline
derives the rates, and the CloudWatch operations read them per InstanceId: in-process, and
through boto3 against a telewatch-cloudwatch on the same store."""

import datetime

import pytest

from telewatch import service
from telewatch.archive import store as archive_store
from telewatch.cloudwatch import Context
from telewatch.cloudwatch import metrics
from tests.functional import cloudwatch_clients
from tests.functional.test_allinone import NODE, AllInOne

ONE_VCPU = 'b4c1f2a0-0000-4000-8000-000000000001'
TWO_VCPUS = 'b4c1f2a0-0000-4000-8000-000000000002'
OTHER_PROJECT = 'b4c1f2a0-0000-4000-8000-000000000003'  # project-b's


@pytest.fixture(scope='module')
def polled(tmp_path_factory):
    """The data directory of an all-in-one that polled the test driver a few times."""
    tmp_path = tmp_path_factory.mktemp('ec2')
    chain = AllInOne(tmp_path, '--interval', '1', libvirt_uri='test://%s' % NODE)
    try:
        assert chain.wait_for(lambda: len(chain.timestamps()['cpu_util']) >= 6), \
            chain.stderr.read_text()
        assert chain.stop() == 0, chain.stderr.read_text()
    finally:
        chain.kill()
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(chain.data))
    store = archive_store.ArchiveStore.from_conf(conf)
    yield conf, store
    store.close()


def context(polled, project):
    conf, store = polled
    return Context(project_id=project, user_id='user', access_key='AK', request_id='r',
                   now=datetime.datetime.now(datetime.timezone.utc), conf=conf, store=store,
                   alarms=None)


def statistics(ctx, instance, name, stats):
    return metrics.OPERATIONS['GetMetricStatistics'](ctx, {
        'Namespace': 'AWS/EC2', 'MetricName': name,
        'Dimensions': [{'Name': 'InstanceId', 'Value': instance}],
        'StartTime': ctx.now - datetime.timedelta(minutes=10), 'EndTime': ctx.now,
        'Period': 60, 'Statistics': stats})['Datapoints']


def test_cpu_utilization_is_the_mean_percent_of_the_polled_cpu_time(polled):
    ctx = context(polled, 'project-a')
    one = statistics(ctx, ONE_VCPU, 'CPUUtilization', ['Average', 'SampleCount', 'Maximum'])
    two = statistics(ctx, TWO_VCPUS, 'CPUUtilization', ['Average'])
    assert one and two
    # one vCPU busy all the time: 100 %; the same CPU time over two vCPUs: 50 %
    assert all(95 <= p['Average'] <= 100 and p['Unit'] == 'Percent' for p in one)
    assert all(45 <= p['Average'] <= 55 for p in two)


def test_disk_and_network_sums_and_listing(polled):
    ctx = context(polled, 'project-a')
    listed = metrics.OPERATIONS['ListMetrics'](ctx, {'Namespace': 'AWS/EC2'})['Metrics']
    names = {(m['MetricName'], m['Dimensions'][0]['Value']) for m in listed}
    assert ('CPUUtilization', ONE_VCPU) in names and ('NetworkIn', TWO_VCPUS) in names
    assert {n for n, _ in names} == {
        'CPUUtilization', 'DiskReadOps', 'DiskWriteOps', 'DiskReadBytes', 'DiskWriteBytes',
        'NetworkIn', 'NetworkOut', 'NetworkPacketsIn', 'NetworkPacketsOut'}
    assert all(i != OTHER_PROJECT for _, i in names)
    for name in ('DiskReadOps', 'NetworkIn'):
        points = statistics(ctx, ONE_VCPU, name, ['Sum', 'SampleCount'])
        assert points and all(p['Sum'] >= 0 and p['SampleCount'] >= 1 for p in points)


def test_another_projects_instances_are_invisible(polled):
    ctx = context(polled, 'project-b')
    assert statistics(ctx, ONE_VCPU, 'CPUUtilization', ['Average']) == []
    assert statistics(ctx, OTHER_PROJECT, 'CPUUtilization', ['Average'])


def test_boto3_reads_cpu_utilization(polled, tmp_path):
    """A telewatch-cloudwatch on the all-in-one's store; its key acts for project-a (the
    test driver's instances belong to project-a, not to a Keystone project)."""
    conf, _ = polled
    keys = tmp_path / 'keys'
    keys.write_text('[a]\naws_access_key_id = AKIAPROJECTA\naws_secret_access_key = s3cr3t\n'
                    'project_id = project-a\nuser_id = user-a\n')
    data = tmp_path / 'data'
    data.symlink_to(conf.data_dir)
    extra = 'auth_strategy = keys_file\nkeys_file = %s\n' % keys
    with cloudwatch_clients.running_cloudwatch(data, extra) as server:
        server.alice = cloudwatch_clients.Key('AKIAPROJECTA', 's3cr3t', 'project-a')
        client = cloudwatch_clients.Client('boto3-json', server, None)
        now = datetime.datetime.now(datetime.timezone.utc)
        answer = client.call('GetMetricStatistics', {
            'Namespace': 'AWS/EC2', 'MetricName': 'CPUUtilization',
            'Dimensions': [{'Name': 'InstanceId', 'Value': ONE_VCPU}],
            'StartTime': now - datetime.timedelta(minutes=10), 'EndTime': now,
            'Period': 60, 'Statistics': ['Average']})
        assert answer['Datapoints']
        assert all(95 <= p['Average'] <= 100 and p['Unit'] == 'Percent'
                   for p in answer['Datapoints'])
