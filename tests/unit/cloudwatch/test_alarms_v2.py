"""CloudWatch alarms seen through the Aodh v2 API of the same store: listed and shown with
their own type (their rule under ``<type>_rule``), readable, their state settable and their
deletion possible; a replacement through /v2 is refused, since /v2 cannot express them."""

import pytest
import webtest

from telewatch.api import app as app_mod
from telewatch.cloudwatch import alarm_shapes
from telewatch.cloudwatch import alarms
from tests.unit.cloudwatch import alarm_fixtures

alarm_store = alarm_fixtures.alarm_store
ALICE = {'Accept': 'application/json', 'X-User-Id': 'alice', 'X-Project-Id': 'pa'}
BOB = dict(ALICE, **{'X-User-Id': 'bob', 'X-Project-Id': 'pb'})


@pytest.fixture
def v2(store, alarm_store):
    store.conf.set_override('auth_strategy', 'noauth', group='api')
    return webtest.TestApp(app_mod.make_app(store.conf, store, alarms=alarm_store))


def test_cloudwatch_alarms_in_the_aodh_api(store, alarm_store, v2):
    ctx = alarm_fixtures.make_context(store.conf, alarm_store, 'pa', archive=store)
    alarms.put_metric_alarm(ctx, {
        'AlarmName': 'cpu', 'Namespace': 'App', 'MetricName': 'CPU', 'Statistic': 'Average',
        'Period': 60, 'EvaluationPeriods': 1, 'Threshold': 1.0,
        'ComparisonOperator': 'GreaterThanThreshold'})
    alarms.put_composite_alarm(ctx, {'AlarmName': 'any', 'AlarmRule': 'ALARM(cpu)'})
    listed = v2.get('/v2/alarms', headers=ALICE).json
    assert sorted((a['name'], a['type']) for a in listed) == [
        ('any', 'cloudwatch_composite'), ('cpu', 'cloudwatch_metric')]
    alarm_id = alarm_shapes.alarm_id('pa', 'cpu')
    shown = v2.get('/v2/alarms/' + alarm_id, headers=ALICE).json
    assert shown['state'] == 'insufficient data'
    assert shown['state_reason'] == 'Unchecked: Initial alarm creation'
    assert shown['cloudwatch_metric_rule']['MetricName'] == 'CPU'
    assert v2.get('/v2/alarms', headers=BOB).json == []
    refused = v2.put_json('/v2/alarms/' + alarm_id, shown, headers=ALICE, status=400)
    assert 'cloudwatch_metric' in refused.json['error_message']['faultstring']
    v2.put_json('/v2/alarms/%s/state' % alarm_id, 'alarm', headers=ALICE)
    found = alarms.describe_alarms(ctx, {'AlarmNames': ['cpu']})['MetricAlarms']
    assert found[0]['StateValue'] == 'ALARM'
    v2.delete('/v2/alarms/' + alarm_id, headers=ALICE, status=204)
    assert alarms.describe_alarms(ctx, {})['MetricAlarms'] == []
