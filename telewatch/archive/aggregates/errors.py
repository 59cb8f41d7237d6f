"""Typed errors of the aggregates language; each renders as Gnocchi's ``{cause, reason,
detail}`` body, so the REST layer answers ``to_dict()`` (with the status it gives the class)
and parses nothing.
"""

from telewatch.archive import errors


class AggregatesError(errors.ArchiveError):
    """Base class: ``cause`` is Gnocchi's fixed text, ``reason`` says what is wrong."""

    cause = 'Aggregates error'

    def __init__(self, reason, detail=None):
        super().__init__(reason, detail)
        self.reason = reason

    def to_dict(self):
        return {'cause': self.cause, 'reason': self.reason, 'detail': self.detail}


class InvalidOperations(AggregatesError):
    """The operations string is not an s-expression: ``detail`` says what was expected
    and where (``at char N``)."""

    cause = 'Invalid operations'

    def __init__(self, detail, reason='Fail to parse the operations string'):
        super().__init__(reason, detail)


class InvalidOperationsInput(InvalidOperations):
    """The operations tree is malformed (unknown operator, wrong arguments).

    ``path`` locates the offending node (``operations[2][1]``); as Gnocchi, ``detail`` is
    ``["operations"]`` and ``reason`` starts with Gnocchi's own text (``'rolling' operation
    invalid``, ``Operation must not be empty``...), followed by the explanation.
    """

    cause = 'Invalid input'

    def __init__(self, message, explanation=None, path='operations'):
        self.message = message
        self.explanation = explanation
        self.path = path
        reason = "%s for dictionary value @ data['operations']" % message
        if explanation:
            reason = '%s: %s (at %s)' % (reason, explanation, path)
        super().__init__(['operations'], reason)


class NoMetricInOperations(InvalidOperations):
    """Valid operations that read no metric, such as ``(+ 1 2)``."""

    cause = 'Operations is invalid'

    def __init__(self, operations):
        super().__init__(operations, "At least one 'metric' is required")


class InvalidParameter(AggregatesError):
    """A query parameter (``fill``, ``resample``, ``reaggregation``...) has a bad value;
    ``detail`` names it, as Gnocchi's "Argument value error"."""

    cause = 'Argument value error'

    def __init__(self, name, reason):
        self.name = name
        super().__init__(reason, name)


class MetricsCannotBeAggregated(AggregatesError):
    """Gnocchi's ``UnAggregableTimeseries``: ``detail`` lists the references involved,
    each ``[name, aggregation]`` (or ``[name, aggregation, granularity]``)."""

    cause = 'Metrics cannot be aggregated'

    def __init__(self, reason, references):
        self.references = [list(r) for r in references]
        super().__init__(reason, self.references)


class NoGranularityMatch(MetricsCannotBeAggregated):
    """No granularity is common to every referenced series."""

    def __init__(self, references):
        super().__init__('No granularity match', references)


class GranularitiesMissing(MetricsCannotBeAggregated):
    """The requested granularity is missing from some series; ``references`` are
    ``[name, aggregation, granularity seconds]``."""

    def __init__(self, references):
        super().__init__('Granularities are missing', references)


class NoOverlap(MetricsCannotBeAggregated):
    """Without ``fill``, no timestamp has a value in every series."""

    def __init__(self, references):
        super().__init__('No overlap', references)


class NotEnoughOverlap(MetricsCannotBeAggregated):
    """Without ``fill``, fewer timestamps than ``needed_overlap`` percent have a value in
    every series; ``overlap`` is the percentage found."""

    def __init__(self, needed, overlap, references):
        self.needed = needed
        self.overlap = overlap
        super().__init__('Less than %f%% of datapoints overlap in this timespan (%.2f%%)'
                         % (needed, overlap), references)


class OperandsMismatch(MetricsCannotBeAggregated):
    """Two series operands of one operation have different timestamps or granularity
    (or column counts that cannot be paired)."""

    def __init__(self, operands, references, what='granularity'):
        super().__init__("Can't compute timeseries with different %s %s"
                         % (what, ' <> '.join(str(o) for o in operands)), references)


class RollingWindowTooLarge(MetricsCannotBeAggregated):
    """``(rolling m N ...)`` over a series of fewer than N points."""

    def __init__(self, window, length, references):
        self.window = window
        self.length = length
        super().__init__("Rolling window '%d' is greater than serie length '%d'"
                         % (window, length), references)


class NoSuchAggregationGranularity(AggregatesError):
    """Legacy ``/v1/aggregation``: a metric has no such granularity (Gnocchi's 404, whose
    body is the plain text ``description``)."""

    cause = 'Aggregation method does not exist for this metric'

    def __init__(self, metric, method, granularity_ns):
        self.metric = metric
        self.method = method
        self.granularity = granularity_ns / 1e9
        self.description = ("Aggregation method '%s' at granularity '%s' for metric %s does "
                            'not exist' % (method, self.granularity, metric))
        super().__init__(self.description, {'metric': metric, 'aggregation_method': method,
                                            'granularity': self.granularity})
