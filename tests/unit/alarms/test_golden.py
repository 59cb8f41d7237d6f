"""The alarm engine against its golden cases (tests/cases/alarms), and proof that a wrong
engine fails them."""

import pytest

from telewatch.alarms import constraints
from telewatch.alarms import evaluation
from telewatch.alarms import rules
from tests.unit.alarms import golden

CELLS = golden.truth_table_cells()
CLOUDWATCH = golden.threshold_cases('cloudwatch.yaml')
AODH = golden.threshold_cases('aodh_threshold.yaml')
COMPOSITE = golden.composite_cases()
TIME_CONSTRAINTS = golden.load('time_constraints.yaml')['cases']


def _run_cell(cell):
    rule = rules.ThresholdRule.from_cloudwatch(cell['alarm'])
    now = golden.epoch('2026-12-07T10:00:30Z')
    points = golden.pattern_points(cell['points'], 60, now, cell['symbols'])
    return evaluation.evaluate(rule, cell['previous'], points, now)


def _failures_of_cell(cell):
    result = _run_cell(cell)
    filled = sum(1 for point in result.reason_data['evaluatedDatapoints']
                 if 'value' not in point)
    return [] if (result.state, result.notify, filled) == (
        cell['state'], cell['state'] != cell['previous'], cell['filled']) else [cell['id']]


@pytest.mark.parametrize('cell', CELLS, ids=lambda cell: cell['id'])
def test_cloudwatch_truth_table_cell(cell):
    result = _run_cell(cell)
    assert result.state == cell['state']
    assert result.notify == (cell['state'] != cell['previous'])
    filled = [p for p in result.reason_data['evaluatedDatapoints'] if 'value' not in p]
    assert len(filled) == cell['filled']


def test_the_truth_tables_are_complete():
    document = golden.load('cloudwatch_truth_tables.yaml')
    assert [len(table['rows']) for table in document['tables']] == [5, 5]
    assert len(CELLS) == 10 * len(document['operators']) * 4 * 3
    for table in document['tables']:
        rule = rules.ThresholdRule.from_cloudwatch({
            'Threshold': 0, 'ComparisonOperator': 'GreaterThanThreshold', 'Period': 60,
            'EvaluationPeriods': table['EvaluationPeriods']})
        for row in table['rows']:  # a row is the whole evaluation range
            assert len(row['points'].split()) == rule.evaluation_range


@pytest.mark.parametrize('case', CLOUDWATCH, ids=lambda case: case['name'])
def test_cloudwatch_case(case):
    golden.check(golden.run_threshold(case), case['expected'])


@pytest.mark.parametrize('case', AODH, ids=lambda case: case['name'])
def test_aodh_threshold_case(case):
    golden.check(golden.run_threshold(case), case['expected'])


@pytest.mark.parametrize('case', CLOUDWATCH + AODH, ids=lambda case: case['name'])
def test_evaluate_acting_is_evaluate_where_something_is_done(case):
    """What an evaluator stores and calls is the same through evaluate_acting: None exactly
    where evaluate keeps the state and notifies nothing."""
    full = golden.run_threshold(case)
    rule, now = golden.rule_of(case), golden.epoch(case['now'])
    acting = evaluation.evaluate_acting(
        rule, case['previous'], golden.datapoints_of(case, rule.granularity, now), now,
        repeat_actions=case.get('repeat_actions', False),
        time_constraints=case.get('time_constraints', ()))
    if full.evaluated and not full.changed and not full.notify:
        assert acting is None
    else:
        assert acting == full


@pytest.mark.parametrize('cell', CELLS, ids=lambda cell: cell['id'])
def test_evaluate_acting_on_the_truth_tables(cell):
    full = _run_cell(cell)
    rule = rules.ThresholdRule.from_cloudwatch(cell['alarm'])
    now = golden.epoch('2026-12-07T10:00:30Z')
    points = golden.pattern_points(cell['points'], 60, now, cell['symbols'])
    acting = evaluation.evaluate_acting(rule, cell['previous'], points, now)
    assert acting == (None if not full.changed else full)


@pytest.mark.parametrize('case', COMPOSITE, ids=lambda case: case['name'])
def test_composite_case(case):
    golden.check(golden.run_composite(case), case['expected'])


@pytest.mark.parametrize('case', TIME_CONSTRAINTS, ids=lambda case: case['name'])
def test_time_constraints_case(case):
    assert constraints.within(case['constraints'], golden.epoch(case['now'])) is case['inside']


def _failing(cases, run):
    failed = []
    for case in cases:
        try:
            golden.check(run(case), case['expected'])
        except AssertionError:
            failed.append(case['name'])
    return failed


def _every_failure():
    return (sum((_failures_of_cell(cell) for cell in CELLS), [])
            + _failing(CLOUDWATCH, golden.run_threshold)
            + _failing(AODH, golden.run_threshold)
            + _failing(COMPOSITE, golden.run_composite))


def _no_premature_alarm(rule, in_range):
    return False


def _ok_on_mixed(rule, points, breaching, inside, filled):
    found = dict(points=tuple(points), breaching=breaching, inside=inside, filled=filled)
    state = rules.ALARM if breaching >= rule.datapoints_to_alarm else rules.OK
    return evaluation.Verdict(state, **found)


def _periods_with_the_current_one(rule, points, now):
    return _TRUE_PERIODS(rule, points, now + rule.granularity)


_TRUE_PERIODS = evaluation.periods


@pytest.mark.parametrize('mutation', [
    ('_premature', _no_premature_alarm),
    ('_decide', _ok_on_mixed),
    ('periods', _periods_with_the_current_one),
    ('next_state', lambda verdict, previous: verdict.state or previous),
], ids=lambda mutation: mutation[0])
def test_a_wrong_engine_fails_the_golden_cases(monkeypatch, mutation):
    assert _every_failure() == []
    monkeypatch.setattr(evaluation, *mutation)
    assert _every_failure() != []
