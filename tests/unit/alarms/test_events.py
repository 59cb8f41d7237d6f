import json

import pytest

from telewatch.alarms import events
from tests.unit.alarms import golden

CASES = golden.load('event_alarms.yaml')
NOTIFICATIONS = CASES['notifications']


@pytest.mark.parametrize('case', CASES['traits'], ids=lambda case: case['notification'])
def test_traits(case):
    assert events.traits_of(NOTIFICATIONS[case['notification']]) == case['expected']


def _event(case):
    if 'notification' in case:
        return events.from_notification(NOTIFICATIONS[case['notification']])
    return events.Event(case['event']['event_type'], 'm', None, case['event']['traits'])


@pytest.mark.parametrize('case', CASES['matching'], ids=lambda case: case['name'])
def test_matching(case):
    rule = events.EventRule.from_aodh(case['rule'])
    alarm = dict({'state': 'ok', 'repeat_actions': False}, **case.get('alarm', {}))
    assert events.fires(alarm, rule, _event(case)) is case['fires']


@pytest.mark.parametrize('case', CASES['invalid_rules'], ids=lambda case: json.dumps(
    case['rule']))
def test_invalid_rules(case):
    with pytest.raises(events.InvalidEventRule) as caught:
        events.EventRule.from_aodh(case['rule'])
    assert caught.value.field == case['field']


def test_an_event_and_its_project():
    event = events.from_notification(NOTIFICATIONS['instance_error'])
    assert (event.event_type, event.message_id, event.generated, event.project_id) == (
        'compute.instance.update', '1a2b3c4d-0000-4000-8000-00000000000a',
        '2026-12-07 17:00:00.000001', 'proj-a')
    assert events.from_notification(NOTIFICATIONS['orphan']).project_id is None
    with pytest.raises(ValueError, match='without an event_type'):
        events.from_notification({'payload': {}})


def test_the_reason_is_aodhs():
    rule = events.EventRule.from_aodh({
        'event_type': 'compute.instance.update',
        'query': [{'field': 'traits.state', 'op': 'eq', 'value': 'error', 'type': 'string'}]})
    event = events.from_notification(NOTIFICATIONS['instance_active'])
    reason, reason_data = events.firing(rule, event)
    assert reason == (
        'Event <id=m-2,event_type=compute.instance.update> hits the query <query=[{"field": '
        '"traits.state", "op": "eq", "type": "string", "value": "error"}]>.')
    assert reason_data == {'type': 'event', 'event': {
        'message_id': 'm-2', 'event_type': 'compute.instance.update',
        'generated': '2026-12-07 17:05:00', 'raw': {},
        'traits': [['host', 1, 'compute-1'],
                   ['instance_id', 1, '6f8a7c4e-0000-4000-8000-000000000001'],
                   ['memory_mb', 2, 512], ['project_id', 1, 'proj-a'],
                   ['resource_id', 1, '6f8a7c4e-0000-4000-8000-000000000001'],
                   ['service', 1, 'compute'], ['state', 1, 'active'],
                   ['tenant_id', 1, 'proj-a'],
                   ['user_id', 1, 'user-1']]}}


@pytest.mark.parametrize('value, kind, expected', [
    ('5', 'integer', 5), (5.0, 'integer', 5), (True, 'string', 'true'), (5, 'string', '5'),
    ('1e3', 'float', 1000.0), ('Yes', 'boolean', True), (0, 'boolean', False),
    ('2026-12-07 17:00:00', 'datetime', __import__('datetime').datetime(2026, 12, 7, 17)),
])
def test_as_type(value, kind, expected):
    assert events.as_type(value, kind) == expected


@pytest.mark.parametrize('value, kind', [
    (5.5, 'integer'), (True, 'integer'), (True, 'float'), (None, 'integer'),
    ({'a': 1}, 'float'), (17, 'datetime'), ('x', 'nope'),
])
def test_as_type_refuses(value, kind):
    with pytest.raises(ValueError):
        events.as_type(value, kind)
