"""The AlarmRule parser against its golden cases (tests/cases/cloudwatch/alarm_rule.yaml)."""

import pytest
import yaml

from telewatch.cloudwatch import alarm_rule
from tests.unit.conftest import CASES

with open(CASES / 'cloudwatch' / 'alarm_rule.yaml') as stream:
    GOLDEN = yaml.safe_load(stream)


def _lists(tree):
    return [_lists(part) if isinstance(part, tuple) else part for part in tree]


@pytest.mark.parametrize('case', GOLDEN['parses'], ids=lambda case: case['rule'])
def test_parses(case):
    tree = alarm_rule.parse(case['rule'])
    assert _lists(tree) == case['tree']
    assert alarm_rule.names(tree) == case['names']
    for states, expected in case.get('holds', []):
        assert alarm_rule.evaluate(tree, states) is expected, states


@pytest.mark.parametrize('case', GOLDEN['errors'], ids=lambda case: case['rule'])
def test_errors(case):
    with pytest.raises(alarm_rule.InvalidAlarmRule) as caught:
        alarm_rule.parse(case['rule'])
    assert str(caught.value) == case['error']


def test_limits():
    many = ' OR '.join('ALARM(a%d)' % n for n in range(alarm_rule.MAX_ALARMS + 1))
    with pytest.raises(alarm_rule.InvalidAlarmRule, match='more than 100 alarms'):
        alarm_rule.parse(many)
    with pytest.raises(alarm_rule.InvalidAlarmRule, match='longer than 10240'):
        alarm_rule.parse('TRUE OR ' * 2000 + 'TRUE')
    with pytest.raises(alarm_rule.InvalidAlarmRule, match='deeper than 64'):
        alarm_rule.parse('(' * 100 + 'TRUE' + ')' * 100)
    with pytest.raises(alarm_rule.InvalidAlarmRule, match='deeper than 64'):
        alarm_rule.parse('NOT ' * 100 + 'TRUE')
