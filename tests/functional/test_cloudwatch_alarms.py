"""CloudWatch alarms on the real evaluator: a metric alarm put through the operations (and
through boto3 against a live telewatch-cloudwatch on the real Keystone) goes to ALARM when
breaching data arrive, with the real archive processor, the real evaluator and the real http
notifier calling a local webhook; and every alarm, dashboard and tag operation through one
real client of each protocol (boto3 json and CBOR, botocore 1.42.6 query) and through the
aws CLI and the AWS SDK for JavaScript v3."""

import contextlib
import datetime
import json
import time

import pytest

from telewatch import service
from telewatch.alarms import storage
from telewatch.alarms.evaluator import evaluator as evaluator_mod
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod
from telewatch.cloudwatch import Context
from telewatch.cloudwatch import alarms
from telewatch.cloudwatch import metrics
from tests.functional import api_helpers
from tests.functional import cloudwatch_clients
from tests.functional import test_api_aodh
from tests.functional.test_alarm_evaluator import wait_for
from tests.functional.test_alarm_evaluator import webhook  # noqa: F401

PERIOD = 10  # seconds: high-resolution data, so that a test waits seconds, not a minute


def _conf(argv, data_dir=None):
    conf = service.prepare_service(argv)
    if data_dir is not None:
        conf.set_override('data_dir', str(data_dir))
    conf.set_override('processing_delay', 0.1, group='archive')
    conf.set_override('feed_interval', 0.1, group='alarms')
    conf.set_override('evaluation_interval', 1.0, group='alarms')
    return conf


@contextlib.contextmanager
def evaluating(conf):
    """The real archive processor and alarm evaluator (with its http notifier) on
    ``conf``'s stores."""
    archive = store_mod.ArchiveStore.from_conf(conf)
    archive.upgrade()
    store = storage.AlarmStore.from_conf(conf)
    store.upgrade()
    processor = processor_mod.ArchiveProcessor(conf, archive)
    evaluator = evaluator_mod.AlarmEvaluator(conf, store=store, archive=archive)
    processor.start()
    evaluator.start()
    try:
        yield archive, store, evaluator
    finally:
        evaluator.stop()
        processor.stop()
        store.close()
        archive.close()
    assert not processor.loop_errors and not evaluator.loop_errors, evaluator.loop_errors


def last_period():
    """The start of the last whole period (what the evaluator looks at first)."""
    now = time.time()
    return datetime.datetime.fromtimestamp(now - now % PERIOD - PERIOD,
                                           datetime.timezone.utc)


def datum(value, dimensions=()):
    return {'MetricName': 'Load', 'Dimensions': list(dimensions), 'Value': value,
            'Timestamp': last_period(), 'StorageResolution': 1}


def metric_alarm(name, hook, dimensions=()):
    return {'AlarmName': name, 'Namespace': 'Functional', 'MetricName': 'Load',
            'Dimensions': list(dimensions), 'Statistic': 'Maximum', 'Period': PERIOD,
            'EvaluationPeriods': 1, 'Threshold': 50.0,
            'ComparisonOperator': 'GreaterThanThreshold',
            'AlarmActions': [hook + '/alarm'], 'OKActions': [hook + '/ok']}


def test_a_metric_alarm_through_the_operations_calls_its_webhook(tmp_path, webhook):  # noqa: F811
    conf = _conf([], tmp_path)
    hook = 'http://127.0.0.1:%d' % webhook.server_address[1]
    with evaluating(conf) as (archive, store, _):
        def ctx():
            return Context('project-a', 'alice', 'AKIA', 'req', datetime.datetime.now(
                datetime.timezone.utc), conf, archive, store)
        put_data = metrics.OPERATIONS['PutMetricData']
        alarms.OPERATIONS['PutMetricAlarm'](ctx(), metric_alarm('load-high', hook))
        put_data(ctx(), {'Namespace': 'Functional', 'MetricData': [datum(10.0)]})
        _, body = webhook.received.get(timeout=30)
        assert (body['previous'], body['current']) == ('insufficient data', 'ok')
        put_data(ctx(), {'Namespace': 'Functional', 'MetricData': [datum(99.0)]})
        written = time.monotonic()
        arrived, body = webhook.received.get(timeout=30)
        assert arrived - written < 5.0
        assert (body['previous'], body['current']) == ('ok', 'alarm')
        assert body['alarm_name'] == 'load-high'
        assert body['reason'].startswith('Threshold Crossed: 1 out of the last 1 datapoints '
                                         '[99.0 (')
        shown, = alarms.OPERATIONS['DescribeAlarms'](ctx(), {})['MetricAlarms']
        assert shown['StateValue'] == 'ALARM'
        history = wait_for(lambda: alarms.OPERATIONS['DescribeAlarmHistory'](ctx(), {
            'HistoryItemType': 'Action'})['AlarmHistoryItems'][1:], what='the actions')
        assert history[0]['HistorySummary'].startswith('Successfully executed action ')


def test_a_metric_alarm_through_boto3(cloudwatch, webhook):  # noqa: F811
    hook = 'http://127.0.0.1:%d' % webhook.server_address[1]
    boto = cloudwatch_clients.Client('boto3-json', cloudwatch, None).boto3(cloudwatch.alice)
    host = [{'Name': 'Host', 'Value': 'h1'}]
    conf = _conf(['--config-file', str(cloudwatch.config)])
    with evaluating(conf):
        boto.put_metric_alarm(**metric_alarm('boto-load-high', hook, host))
        shown, = boto.describe_alarms(AlarmNames=['boto-load-high'])['MetricAlarms']
        assert (shown['StateValue'], shown['StateReason']) == (
            'INSUFFICIENT_DATA', 'Unchecked: Initial alarm creation')
        boto.put_metric_data(Namespace='Functional', MetricData=[datum(99.0, host)])
        _, body = webhook.received.get(timeout=30)
        assert (body['previous'], body['current']) == ('insufficient data', 'alarm')
        shown, = boto.describe_alarms(AlarmNames=['boto-load-high'])['MetricAlarms']
        assert shown['StateValue'] == 'ALARM'
        assert json.loads(shown['StateReasonData'])['recentDatapoints'] == [99.0]
        bob = cloudwatch_clients.Client('boto3-json', cloudwatch, None).boto3(cloudwatch.bob)
        assert bob.describe_alarms(AlarmNames=['boto-load-high'])['MetricAlarms'] == []
        items = wait_for(lambda: boto.describe_alarm_history(
            AlarmName='boto-load-high', HistoryItemType='Action')['AlarmHistoryItems'],
            what='the action in the history')
        assert items[0]['AlarmName'] == 'boto-load-high'
    boto.delete_alarms(AlarmNames=['boto-load-high'])


# One client of each protocol, and the two programs people run besides the SDKs.
PROTOCOL_CLIENTS = ('boto3-json', 'boto3-cbor', 'botocore-query', 'aws-cli', 'js-sdk')


@pytest.fixture(params=PROTOCOL_CLIENTS)
def protocol_client(request, cloudwatch, cbor_models, cloudwatch_clients_installed):
    return cloudwatch_clients.Client(request.param, cloudwatch, cbor_models)


def test_every_alarm_dashboard_and_tag_operation(protocol_client):
    call = protocol_client.call
    name = 'ops-%s' % protocol_client.name
    params = metric_alarm(name, 'http://127.0.0.1:9')
    params['Tags'] = [{'Key': 'team', 'Value': 'ops'}]
    assert call('PutMetricAlarm', params) == {}
    call('PutCompositeAlarm', {'AlarmName': name + '-any', 'AlarmRule': 'ALARM("%s")' % name})
    found = call('DescribeAlarms', {'AlarmNamePrefix': name,
                                    'AlarmTypes': ['MetricAlarm', 'CompositeAlarm']})
    assert [a['AlarmName'] for a in found['MetricAlarms']] == [name]
    assert [a['AlarmRule'] for a in found['CompositeAlarms']] == ['ALARM("%s")' % name]
    by_metric = call('DescribeAlarmsForMetric', {'Namespace': 'Functional',
                                                 'MetricName': 'Load', 'Period': PERIOD})
    assert name in [a['AlarmName'] for a in by_metric['MetricAlarms']]
    call('SetAlarmState', {'AlarmName': name, 'StateValue': 'OK', 'StateReason': 'drill',
                           'StateReasonData': '{"by": "test"}'})
    call('DisableAlarmActions', {'AlarmNames': [name]})
    shown, = call('DescribeAlarms', {'AlarmNames': [name]})['MetricAlarms']
    assert (shown['StateValue'], shown['StateReason'], shown['ActionsEnabled']) == (
        'OK', 'drill', False)
    call('EnableAlarmActions', {'AlarmNames': [name]})
    history = call('DescribeAlarmHistory', {'AlarmName': name, 'ScanBy': 'TimestampAscending'})
    assert [i['HistoryItemType'] for i in history['AlarmHistoryItems']][:2] == [
        'ConfigurationUpdate', 'StateUpdate']
    arn = shown['AlarmArn']
    call('TagResource', {'ResourceARN': arn, 'Tags': [{'Key': 'env', 'Value': 'test'}]})
    call('UntagResource', {'ResourceARN': arn, 'TagKeys': ['team']})
    assert call('ListTagsForResource', {'ResourceARN': arn})['Tags'] == [
        {'Key': 'env', 'Value': 'test'}]
    with pytest.raises(cloudwatch_clients.ClientError) as raised:
        call('DeleteAlarms', {'AlarmNames': [name, name + '-nope']})
    # The aws CLI says the code, not the HTTP status.
    assert (raised.value.code, raised.value.status) == (
        'ResourceNotFound', None if protocol_client.name == 'aws-cli' else 404)
    call('DeleteAlarms', {'AlarmNames': [name + '-any', name]})
    assert call('DescribeAlarms', {'AlarmNamePrefix': name})['MetricAlarms'] == []
    body = json.dumps({'widgets': [{'type': 'text', 'properties': {'markdown': 'hi'}}]})
    assert call('PutDashboard', {'DashboardName': name, 'DashboardBody': body}).get(
        'DashboardValidationMessages', []) == []
    assert call('GetDashboard', {'DashboardName': name})['DashboardBody'] == body
    listed = call('ListDashboards', {'DashboardNamePrefix': name})['DashboardEntries']
    assert [(e['DashboardName'], e['Size']) for e in listed] == [(name, len(body))]
    with pytest.raises(cloudwatch_clients.ClientError) as raised:
        call('PutDashboard', {'DashboardName': name, 'DashboardBody': '{"widgets": 1}'})
    assert raised.value.code == 'InvalidParameterInput'
    call('DeleteDashboards', {'DashboardNames': [name]})
    with pytest.raises(cloudwatch_clients.ClientError) as raised:
        call('GetDashboard', {'DashboardName': name})
    assert raised.value.code == 'ResourceNotFound'


def test_the_aodh_cli_lists_and_shows_cloudwatch_alarms(tmp_path):
    """One store, two faces: the real aodh CLI against telewatch-api sees a project's
    CloudWatch alarms with their type, and is refused a replacement it cannot express."""
    with api_helpers.running_api(tmp_path) as url:
        conf = _conf(['--config-file', str(tmp_path / 'telewatch.conf')])
        store = storage.AlarmStore.from_conf(conf)
        try:
            ctx = Context('p1', 'u1', 'AKIA', 'req', datetime.datetime.now(
                datetime.timezone.utc), conf, None, store)
            alarms.OPERATIONS['PutMetricAlarm'](ctx, metric_alarm('cw-cli', 'http://h:9'))
        finally:
            store.close()
        listed = test_api_aodh.aodh(url, 'alarm', 'list', '-f', 'json')
        assert [(a['name'], a['type'], a['state']) for a in listed] == [
            ('cw-cli', 'cloudwatch_metric', 'insufficient data')]
        shown = test_api_aodh.aodh(url, 'alarm', 'show', '--name', 'cw-cli', '-f', 'json')
        assert shown['state_reason'] == 'Unchecked: Initial alarm creation'
        refused = test_api_aodh.aodh(url, 'alarm', 'update', '--name', 'cw-cli',
                                     '--severity', 'critical', expect_ok=False)
        assert 'cloudwatch_metric' in refused
