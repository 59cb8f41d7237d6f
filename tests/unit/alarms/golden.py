"""Loading the alarm engine's golden cases (tests/cases/alarms, see its README.md)."""

import copy
import datetime

import yaml

from telewatch.alarms import composite as composite_mod
from telewatch.alarms import evaluation
from telewatch.alarms import rules
from tests.unit.conftest import CASES

CASES_DIR = CASES / 'alarms'
SYMBOLS = {'0': 10.0, 'X': 90.0}
CLOUDWATCH_STATES = {'OK': rules.OK, 'ALARM': rules.ALARM,
                     'INSUFFICIENT_DATA': rules.INSUFFICIENT_DATA}


def load(name):
    with open(CASES_DIR / name) as stream:
        return yaml.safe_load(stream)


def epoch(text):
    moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    return moment.timestamp()


def pattern_points(pattern, granularity, now, symbols=SYMBOLS):
    """``[(timestamp, granularity, value)]`` of a row of periods whose last is the last
    whole period before ``now``."""
    tokens = pattern.split()
    last = (now // granularity - 1) * granularity
    points = []
    for age, token in enumerate(reversed(tokens)):
        if token != '-':
            value = symbols[token] if token in symbols else float(token)
            points.append((last - age * granularity, granularity, value))
    return sorted(points)


def threshold_cases(name):
    document = load(name)
    defaults = document['defaults']
    out = []
    for case in document['cases']:
        case = dict(case)
        for style in ('aodh', 'cloudwatch'):
            if style in defaults:
                case[style] = dict(defaults[style], **(case.get(style) or {}))
        case.setdefault('now', defaults['now'])
        out.append(case)
    return out


def rule_of(case):
    if 'cloudwatch' in case:
        return rules.ThresholdRule.from_cloudwatch(case['cloudwatch'])
    return rules.ThresholdRule.from_aodh(case['aodh'])


def datapoints_of(case, granularity, now):
    # Values as floats, as the archive's series and Gnocchi's JSON give them.
    points = [(epoch(when), g, None if value is None else float(value))
              for when, g, value in case.get('datapoints', ())]
    if 'points' in case:
        points += pattern_points(case['points'], granularity, now)
    return points


def run_threshold(case):
    rule = rule_of(case)
    now = epoch(case['now'])
    return evaluation.evaluate(
        rule, case['previous'], datapoints_of(case, rule.granularity, now), now,
        repeat_actions=case.get('repeat_actions', False),
        time_constraints=case.get('time_constraints', ()))


def truth_table_cells():
    """One case per table, row, operator, treatment and prior state."""
    document = load('cloudwatch_truth_tables.yaml')
    cells = []
    for table in document['tables']:
        for row in table['rows']:
            for operator in document['operators']:
                for treatment in rules.TREAT_MISSING_DATA:
                    for previous in rules.STATES:
                        cells.append(_cell(table, row, operator, treatment, previous))
    return cells


def _cell(table, row, operator, treatment, previous):
    expected = row[treatment]
    return {
        'id': 'N%d-M%d [%s] %s %s from %s' % (
            table['EvaluationPeriods'], table['DatapointsToAlarm'], row['points'],
            operator['ComparisonOperator'], treatment, previous),
        'alarm': {'EvaluationPeriods': table['EvaluationPeriods'],
                  'DatapointsToAlarm': table['DatapointsToAlarm'],
                  'ComparisonOperator': operator['ComparisonOperator'],
                  'Threshold': operator['Threshold'], 'Period': 60,
                  'TreatMissingData': treatment},
        'points': row['points'],
        'symbols': {'0': operator['inside'], 'X': operator['breaching']},
        'filled': row['filled'],
        'previous': previous,
        'state': previous if expected == 'keep' else CLOUDWATCH_STATES[expected],
    }


def composite_cases():
    document = load('composite.yaml')
    leaf = document['defaults']['leaf']
    out = []
    for case in document['cases']:
        case = dict(case, composite=_leaves(case['composite'], leaf))
        case.setdefault('now', document['defaults']['now'])
        out.append(case)
    return out


def _leaves(tree, leaf):
    if tree == 'leaf':
        return copy.deepcopy(leaf)
    if isinstance(tree, dict) and set(tree) & {'and', 'or'}:
        return {key: [_leaves(child, leaf) for child in children]
                for key, children in tree.items()}
    if 'type' in tree:
        return tree
    return dict(leaf, **tree)


def run_composite(case):
    tree = composite_mod.CompositeRule.from_aodh(case['composite'])
    now = epoch(case['now'])
    datapoints = [pattern_points(row, rule.granularity, now)
                  for row, rule in zip(case['points'], tree.rules)]
    return composite_mod.evaluate(
        tree, case['previous'], datapoints, now,
        repeat_actions=case.get('repeat_actions', False),
        time_constraints=case.get('time_constraints', ()))


def expected_reason_data(data):
    """``timestamp`` fields given as ISO times, as the engine's seconds."""
    if isinstance(data, dict):
        return {key: epoch(value) if key == 'timestamp' and isinstance(value, str)
                else expected_reason_data(value) for key, value in data.items()}
    if isinstance(data, list):
        return [expected_reason_data(item) for item in data]
    return data


def check(result, expected):
    """Assert an ``Evaluation`` against a case's ``expected``."""
    assert result.state == expected['state']
    for field in ('notify', 'evaluated'):
        if field in expected:
            assert getattr(result, field) == expected[field], field
    if 'reason' in expected:
        assert result.reason == expected['reason']
    if 'reason_data' in expected:
        assert result.reason_data == expected_reason_data(expected['reason_data'])
