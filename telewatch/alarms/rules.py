"""Threshold rules as the evaluation engine sees them: states, comparison operators, and
Aodh's and CloudWatch's rule fields mapped onto one validated ``ThresholdRule``. Pure.
"""

import dataclasses
import math
import operator

OK = 'ok'
ALARM = 'alarm'
INSUFFICIENT_DATA = 'insufficient data'
STATES = (OK, ALARM, INSUFFICIENT_DATA)
# Why a verdict is insufficient data (or, for ALL_MISSING under ``ignore``, kept).
NO_DATAPOINT = 'no datapoint'  # none at the rule's granularity (Aodh's handling)
TOO_FEW = 'too few'  # fewer than N (Aodh's handling)
ALL_MISSING = 'all missing'  # every period of the range missing

COMPARATORS = {
    'lt': operator.lt, 'le': operator.le, 'eq': operator.eq,
    'ne': operator.ne, 'ge': operator.ge, 'gt': operator.gt,
}
DEFAULT_OPERATOR = 'eq'  # Aodh's default
# CloudWatch's non-anomaly operators, as Aodh's.
CLOUDWATCH_OPERATORS = {
    'GreaterThanOrEqualToThreshold': 'ge',
    'GreaterThanThreshold': 'gt',
    'LessThanThreshold': 'lt',
    'LessThanOrEqualToThreshold': 'le',
}
_CLOUDWATCH_FIELDS = {
    'threshold': 'Threshold', 'evaluation_periods': 'EvaluationPeriods',
    'granularity': 'Period', 'datapoints_to_alarm': 'DatapointsToAlarm',
    'treat_missing_data': 'TreatMissingData',
}
TREAT_MISSING_DATA = ('missing', 'ignore', 'breaching', 'notBreaching')
# Aodh's decision (OK only when no evaluated point breaches, a mixed window keeps the
# state) or CloudWatch's (fewer than M breaching points is OK).
AODH = 'aodh'
CLOUDWATCH = 'cloudwatch'
STYLES = (AODH, CLOUDWATCH)
# Periods fetched beyond the N evaluated (CloudWatch's evaluation range; see doc/alarms.md).
EXTRA_PERIODS = 2


class InvalidRule(ValueError):
    """A rule field the engine cannot evaluate; ``field`` names it."""

    def __init__(self, field, detail):
        super().__init__('%s: %s' % (field, detail))
        self.field = field
        self.detail = detail


@dataclasses.dataclass(frozen=True)
class ThresholdRule:
    """One threshold rule. ``granularity`` is the period in seconds; ``datapoints_to_alarm``
    (M) defaults to ``evaluation_periods`` (N); ``treat_missing_data`` None is Aodh's
    handling (fewer than N points at the granularity: insufficient data).
    ``aggregation_method`` is for the caller's reading; the engine never looks at it."""

    threshold: float
    comparison_operator: str = DEFAULT_OPERATOR
    evaluation_periods: int = 1
    granularity: float = 60
    datapoints_to_alarm: int = None
    treat_missing_data: str = None
    aggregation_method: str = 'mean'
    style: str = AODH

    def __post_init__(self):
        if self.datapoints_to_alarm is None:
            object.__setattr__(self, 'datapoints_to_alarm', self.evaluation_periods)
        _validate(self)

    @classmethod
    def from_aodh(cls, rule):
        """From an Aodh ``threshold_rule`` dict (with the two extensions Aodh lacks)."""
        return cls(
            threshold=rule.get('threshold'),
            comparison_operator=rule.get('comparison_operator') or DEFAULT_OPERATOR,
            evaluation_periods=rule.get('evaluation_periods', 1),
            granularity=rule.get('granularity', 60),
            datapoints_to_alarm=rule.get('datapoints_to_alarm'),
            treat_missing_data=rule.get('treat_missing_data'),
            aggregation_method=rule.get('aggregation_method', 'mean'),
            style=AODH)

    @classmethod
    def from_cloudwatch(cls, alarm):
        """From PutMetricAlarm's fields (``Threshold``, ``ComparisonOperator``, ...)."""
        name = alarm.get('ComparisonOperator')
        if name not in CLOUDWATCH_OPERATORS:
            raise InvalidRule('ComparisonOperator', 'one of %s, not %r'
                              % (', '.join(CLOUDWATCH_OPERATORS), name))
        try:
            return cls(
                threshold=alarm.get('Threshold'),
                comparison_operator=CLOUDWATCH_OPERATORS[name],
                evaluation_periods=alarm.get('EvaluationPeriods'),
                granularity=alarm.get('Period'),
                datapoints_to_alarm=alarm.get('DatapointsToAlarm'),
                treat_missing_data=alarm.get('TreatMissingData') or 'missing',
                aggregation_method=alarm.get('Statistic', 'Average'),
                style=CLOUDWATCH)
        except InvalidRule as error:
            raise InvalidRule(_CLOUDWATCH_FIELDS[error.field], error.detail) from None

    @property
    def evaluation_range(self):
        """How many whole periods are looked at when a missing-data treatment is set."""
        return self.evaluation_periods + EXTRA_PERIODS

    @property
    def uses_periods(self):
        """Whether points are placed on the period grid (a treatment of missing data needs
        to know which periods are missing); Aodh's handling just takes the last N."""
        return self.treat_missing_data is not None

    def breaches(self, value):
        return COMPARATORS[self.comparison_operator](value, self.threshold)

    def query_window(self, additional_ingestion_lag=0):
        """Seconds before ``now`` the caller reads: Aodh's ``granularity *
        (evaluation_periods + 1) + additional_ingestion_lag``; with a missing-data
        treatment the evaluation range's whole periods plus the current one."""
        periods = self.evaluation_range if self.uses_periods else self.evaluation_periods
        return self.granularity * (periods + 1) + additional_ingestion_lag


def _number(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRule(field, 'a number is required, not %r' % (value,))
    if not math.isfinite(value):
        raise InvalidRule(field, 'a finite number is required, not %r' % (value,))
    return value


def _positive_int(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRule(field, 'a whole number of at least 1 is required, not %r' % (value,))


def _validate(rule):
    _number('threshold', rule.threshold)
    if rule.comparison_operator not in COMPARATORS:
        raise InvalidRule('comparison_operator', 'one of %s, not %r'
                          % (', '.join(COMPARATORS), rule.comparison_operator))
    _positive_int('evaluation_periods', rule.evaluation_periods)
    _positive_int('datapoints_to_alarm', rule.datapoints_to_alarm)
    if rule.datapoints_to_alarm > rule.evaluation_periods:
        raise InvalidRule('datapoints_to_alarm', 'at most evaluation_periods (%d), not %d'
                          % (rule.evaluation_periods, rule.datapoints_to_alarm))
    if _number('granularity', rule.granularity) <= 0:
        raise InvalidRule('granularity', 'must be positive, not %r' % (rule.granularity,))
    if rule.treat_missing_data not in (None,) + TREAT_MISSING_DATA:
        raise InvalidRule('treat_missing_data', 'one of %s, not %r'
                          % (', '.join(TREAT_MISSING_DATA), rule.treat_missing_data))
    if rule.style not in STYLES:
        raise InvalidRule('style', 'one of %s, not %r' % (', '.join(STYLES), rule.style))
