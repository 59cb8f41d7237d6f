"""Gnocchi's ``/v1/aggregates`` operations language and the legacy ``/v1/aggregation``
cross-metric aggregation, over series the caller has loaded. Pure numpy: no I/O, no config.

    tree = parse_operations('(aggregate mean (metric (cpu mean) (mem max)))')
    refs = references(tree)          # [('cpu', 'mean'), ('mem', 'max')]: load these
    measures = evaluate(tree, {ref: {granularity_ns: (timestamps, values)} ...})

``history``: the ``use_history`` groupby (revisions grouped, each over its own span).
"""

from telewatch.archive.aggregates import history
from telewatch.archive.aggregates.engine import evaluate
from telewatch.archive.aggregates.engine import format_timestamps
from telewatch.archive.aggregates.engine import legacy_aggregation
from telewatch.archive.aggregates.errors import AggregatesError
from telewatch.archive.aggregates.errors import GranularitiesMissing
from telewatch.archive.aggregates.errors import InvalidOperations
from telewatch.archive.aggregates.errors import InvalidOperationsInput
from telewatch.archive.aggregates.errors import InvalidParameter
from telewatch.archive.aggregates.errors import MetricsCannotBeAggregated
from telewatch.archive.aggregates.errors import NoGranularityMatch
from telewatch.archive.aggregates.errors import NoMetricInOperations
from telewatch.archive.aggregates.errors import NoOverlap
from telewatch.archive.aggregates.errors import NoSuchAggregationGranularity
from telewatch.archive.aggregates.errors import NotEnoughOverlap
from telewatch.archive.aggregates.errors import OperandsMismatch
from telewatch.archive.aggregates.errors import RollingWindowTooLarge
from telewatch.archive.aggregates.parser import parse_operations
from telewatch.archive.aggregates.parser import references
from telewatch.archive.aggregates.series import Match

__all__ = [
    'AggregatesError', 'GranularitiesMissing', 'InvalidOperations', 'InvalidOperationsInput',
    'InvalidParameter', 'Match', 'MetricsCannotBeAggregated', 'NoGranularityMatch',
    'NoMetricInOperations', 'NoOverlap', 'NoSuchAggregationGranularity', 'NotEnoughOverlap',
    'OperandsMismatch', 'RollingWindowTooLarge', 'evaluate', 'format_timestamps', 'history',
    'legacy_aggregation', 'parse_operations', 'references',
]
