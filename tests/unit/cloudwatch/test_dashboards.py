"""CloudWatch's dashboard operations on a real alarm store (SQLite in the test's directory)."""

import json

import pytest

from telewatch.cloudwatch import dashboards
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import tags
from tests.unit.cloudwatch import alarm_fixtures

alarm_store, ctx, bob = alarm_fixtures.alarm_store, alarm_fixtures.ctx, alarm_fixtures.bob
BODY = json.dumps({'widgets': [
    {'type': 'metric', 'x': 0, 'y': 0, 'width': 12, 'height': 6, 'properties': {
        'metrics': [['AWS/EC2', 'CPUUtilization', 'InstanceId', 'i-1']], 'period': 300,
        'stat': 'Average', 'region': 'RegionOne', 'title': 'CPU'}},
    {'type': 'text', 'x': 12, 'y': 0, 'width': 6, 'height': 3,
     'properties': {'markdown': '# Hello'}}]})


def test_put_get_list_delete(ctx, bob):
    assert dashboards.put_dashboard(ctx, {'DashboardName': 'ops', 'DashboardBody': BODY,
                                          'Tags': [{'Key': 'team', 'Value': 'a'}]}) == {
        'DashboardValidationMessages': []}
    assert dashboards.get_dashboard(ctx, {'DashboardName': 'ops'}) == {
        'DashboardArn': 'arn:aws:cloudwatch::alice:dashboard/ops', 'DashboardBody': BODY,
        'DashboardName': 'ops'}
    replaced = json.dumps({'widgets': []})
    dashboards.put_dashboard(ctx, {'DashboardName': 'ops', 'DashboardBody': replaced})
    assert dashboards.get_dashboard(ctx, {'DashboardName': 'ops'})['DashboardBody'] == replaced
    dashboards.put_dashboard(ctx, {'DashboardName': 'db-1', 'DashboardBody': BODY})
    entries = dashboards.list_dashboards(ctx, {})['DashboardEntries']
    assert [(e['DashboardName'], e['Size']) for e in entries] == [
        ('db-1', len(BODY)), ('ops', len(replaced))]
    assert entries[0]['LastModified'].tzinfo is not None
    assert [e['DashboardName'] for e in dashboards.list_dashboards(
        ctx, {'DashboardNamePrefix': 'o'})['DashboardEntries']] == ['ops']
    assert dashboards.list_dashboards(bob, {})['DashboardEntries'] == []
    with pytest.raises(errors.DashboardNotFoundError):
        dashboards.get_dashboard(bob, {'DashboardName': 'ops'})
    with pytest.raises(errors.DashboardNotFoundError, match=r'\[nope\]'):
        dashboards.delete_dashboards(ctx, {'DashboardNames': ['ops', 'nope']})
    assert len(dashboards.list_dashboards(ctx, {})['DashboardEntries']) == 2
    arn = 'arn:aws:cloudwatch::alice:dashboard/ops'
    assert tags.list_tags(ctx, arn) == [{'Key': 'team', 'Value': 'a'}]
    dashboards.delete_dashboards(ctx, {'DashboardNames': ['ops', 'db-1']})
    assert dashboards.list_dashboards(ctx, {})['DashboardEntries'] == []
    assert tags.list_tags(ctx, arn) == []


def test_pages(ctx, monkeypatch):
    monkeypatch.setattr(dashboards, 'PAGE', 2)
    for n in range(5):
        dashboards.put_dashboard(ctx, {'DashboardName': 'd%d' % n, 'DashboardBody': BODY})
    names, token = [], None
    while True:
        page = dashboards.list_dashboards(ctx, {'NextToken': token} if token else {})
        names += [e['DashboardName'] for e in page['DashboardEntries']]
        token = page.get('NextToken')
        if not token:
            break
    assert names == ['d0', 'd1', 'd2', 'd3', 'd4']
    with pytest.raises(errors.InvalidNextToken):
        dashboards.list_dashboards(ctx, {'NextToken': 'x'})


@pytest.mark.parametrize('body, messages', [
    ('{', [('/', 'Should be valid JSON')]),
    ('[]', [('/', 'Should be object')]),
    ('{}', [('', "Should have required property 'widgets'")]),
    ('{"widgets": {}}', [('/widgets', 'Should be array')]),
    ('{"widgets": [], "colour": 1}', [('/colour', 'Should NOT have additional properties')]),
    ('{"widgets": [{"type": "graph", "properties": {}}]}',
     [('/widgets/0/type', 'Should be equal to one of the allowed values')]),
    ('{"widgets": [{"type": "metric"}]}',
     [('/widgets/0', "Should have required property 'properties'")]),
    ('{"widgets": [{"type": "metric", "properties": {}}]}',
     [('/widgets/0/properties', "Should have required property 'metrics'")]),
    ('{"widgets": [{"type": "text", "properties": {}, "x": 30, "width": "6"}]}',
     [('/widgets/0/x', 'Should be <= 23'), ('/widgets/0/width', 'Should be integer')]),
    ('{"widgets": [], "periodOverride": "never"}',
     [('/periodOverride', 'Should be equal to one of the allowed values')]),
])
def test_invalid_bodies(ctx, body, messages):
    with pytest.raises(errors.DashboardInvalidInputError) as caught:
        dashboards.put_dashboard(ctx, {'DashboardName': 'x', 'DashboardBody': body})
    assert caught.value.message == dashboards.INVALID_BODY
    found = caught.value.extra['dashboardValidationMessages']
    assert [(m['DataPath'], m['Message'][:len(text)]) for m, (_, text) in zip(
        found, messages)] == messages
    assert len(found) == len(messages)
    assert dashboards.list_dashboards(ctx, {})['DashboardEntries'] == []


def test_invalid_names(ctx):
    with pytest.raises(errors.DashboardInvalidInputError, match='alphanumerics'):
        dashboards.put_dashboard(ctx, {'DashboardName': 'a b', 'DashboardBody': BODY})
