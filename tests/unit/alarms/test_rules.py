"""Threshold rules: the two vocabularies mapped onto one, validation, the query window."""

import pytest

from telewatch.alarms import composite
from telewatch.alarms import constraints
from telewatch.alarms import evaluation
from telewatch.alarms import rules


def test_an_aodh_rule_takes_aodhs_defaults():
    rule = rules.ThresholdRule.from_aodh({'threshold': 3.5})
    assert (rule.comparison_operator, rule.evaluation_periods, rule.granularity) == ('eq', 1, 60)
    assert (rule.datapoints_to_alarm, rule.treat_missing_data, rule.style) == (1, None, 'aodh')
    assert not rule.uses_periods


def test_a_cloudwatch_alarm_maps_onto_aodhs_operators():
    for name, operator in rules.CLOUDWATCH_OPERATORS.items():
        rule = rules.ThresholdRule.from_cloudwatch({
            'Threshold': 1, 'ComparisonOperator': name, 'EvaluationPeriods': 4, 'Period': 300})
        assert rule.comparison_operator == operator
        assert (rule.datapoints_to_alarm, rule.treat_missing_data) == (4, 'missing')
        assert (rule.style, rule.evaluation_range, rule.uses_periods) == ('cloudwatch', 6, True)


def test_the_query_window_is_aodhs_and_covers_the_evaluation_range():
    rule = rules.ThresholdRule.from_aodh(
        {'threshold': 1, 'evaluation_periods': 3, 'granularity': 60})
    assert rule.query_window() == 240
    assert rule.query_window(additional_ingestion_lag=30) == 270
    extended = rules.ThresholdRule.from_aodh(
        {'threshold': 1, 'evaluation_periods': 3, 'granularity': 60,
         'treat_missing_data': 'missing'})
    assert extended.query_window() == 60 * (5 + 1)


@pytest.mark.parametrize('fields, field', [
    ({}, 'threshold'),
    ({'threshold': 'high'}, 'threshold'),
    ({'threshold': float('nan')}, 'threshold'),
    ({'threshold': 1, 'comparison_operator': 'gte'}, 'comparison_operator'),
    ({'threshold': 1, 'evaluation_periods': 0}, 'evaluation_periods'),
    ({'threshold': 1, 'evaluation_periods': True}, 'evaluation_periods'),
    ({'threshold': 1, 'evaluation_periods': 2, 'datapoints_to_alarm': 3}, 'datapoints_to_alarm'),
    ({'threshold': 1, 'datapoints_to_alarm': 0}, 'datapoints_to_alarm'),
    ({'threshold': 1, 'granularity': 0}, 'granularity'),
    ({'threshold': 1, 'treat_missing_data': 'zero'}, 'treat_missing_data'),
])
def test_a_rule_the_engine_cannot_evaluate_is_refused_naming_its_field(fields, field):
    with pytest.raises(rules.InvalidRule) as caught:
        rules.ThresholdRule.from_aodh(fields)
    assert caught.value.field == field


@pytest.mark.parametrize('fields, field', [
    ({'Threshold': None}, 'Threshold'),
    ({'Period': None}, 'Period'),
    ({'EvaluationPeriods': 0}, 'EvaluationPeriods'),
    ({'DatapointsToAlarm': 4}, 'DatapointsToAlarm'),
    ({'TreatMissingData': 'zero'}, 'TreatMissingData'),
])
def test_a_cloudwatch_alarm_error_names_cloudwatchs_field(fields, field):
    alarm = dict({'Threshold': 1, 'ComparisonOperator': 'GreaterThanThreshold',
                  'EvaluationPeriods': 3, 'Period': 60}, **fields)
    with pytest.raises(rules.InvalidRule) as caught:
        rules.ThresholdRule.from_cloudwatch(alarm)
    assert caught.value.field == field


def test_an_anomaly_band_operator_is_refused():
    with pytest.raises(rules.InvalidRule) as caught:
        rules.ThresholdRule.from_cloudwatch({
            'Threshold': 1, 'ComparisonOperator': 'LessThanLowerThreshold',
            'EvaluationPeriods': 1, 'Period': 60})
    assert caught.value.field == 'ComparisonOperator'


def test_an_unknown_state_is_refused():
    rule = rules.ThresholdRule.from_aodh({'threshold': 1})
    with pytest.raises(ValueError):
        evaluation.evaluate(rule, 'insufficient_data', [], 0)


def test_a_composite_leaf_error_names_its_path():
    with pytest.raises(rules.InvalidRule) as caught:
        composite.CompositeRule.from_aodh(
            {'and': [{'threshold': 1}, {'or': [{'threshold': 1}, {'threshold': 'x'}]}]})
    assert caught.value.field == 'composite_rule.and[1].or[1].threshold'
    with pytest.raises(rules.InvalidRule) as caught:
        composite.CompositeRule.from_aodh({'or': []})
    assert caught.value.field == 'composite_rule.or'


def test_a_composite_needs_one_datapoint_list_per_leaf():
    tree = composite.CompositeRule.from_aodh({'and': [{'threshold': 1}, {'threshold': 2}]})
    with pytest.raises(ValueError):
        composite.evaluate(tree, 'ok', [[]], 0)


@pytest.mark.parametrize('constraint, field', [
    ({'start': 'every day', 'duration': 60}, 'time_constraints[0].start'),
    ({'start': '0 9 * * *', 'duration': -1}, 'time_constraints[0].duration'),
    ({'start': '0 9 * * *', 'duration': 60, 'timezone': 'Mars/Olympus'},
     'time_constraints[0].timezone'),
])
def test_a_time_constraint_that_cannot_be_evaluated_is_refused(constraint, field):
    with pytest.raises(rules.InvalidRule) as caught:
        constraints.check([constraint])
    assert caught.value.field == field


def test_a_valid_time_constraint_passes_the_check():
    constraints.check([{'start': '0 22 * * *', 'duration': 14400, 'timezone': 'Europe/Paris'},
                       {'start': '*/5 * * * *', 'duration': 60}])
