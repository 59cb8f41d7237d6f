"""Typed errors of the archive core; each carries fields and renders as ``{cause, detail}``.

The REST layer turns ``to_dict()`` into a body without parsing any message, and chooses the
HTTP status from the class (``telewatch.api.app``): the archive knows nothing of HTTP.
"""

import errno


class ArchiveError(ValueError):
    """Base class: ``cause`` is a short fixed text, ``detail`` is JSON-serialisable."""

    cause = 'Archive error'

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.detail = detail

    def to_dict(self):
        return {'cause': self.cause, 'detail': self.detail}


class InvalidArchivePolicy(ArchiveError):
    """One or more fields of an archive policy are invalid.

    ``errors`` is a list of ``(field, reason)``, ``field`` being a path such as
    ``definition[1].timespan``; ``field`` and ``reason`` are those of the first error.
    """

    cause = 'Invalid archive policy'

    def __init__(self, errors):
        self.errors = list(errors)
        self.field, self.reason = self.errors[0]
        super().__init__('; '.join('%s: %s' % e for e in self.errors),
                         [{'field': f, 'reason': r} for f, r in self.errors])


class UnsupportedArchivePolicyChange(InvalidArchivePolicy):
    """An update would change what Gnocchi lets no update change: the granularities.

    ``reason`` is Gnocchi's whole text (``Archive policy X does not support change: ...``).
    """

    cause = 'Unsupported archive policy change'

    def __init__(self, name, reason):
        super().__init__([('definition', 'Archive policy %s does not support change: %s'
                           % (name, reason))])


class InvalidResourceType(InvalidArchivePolicy):
    """The attribute definitions of a resource type are invalid; ``errors`` as above."""

    cause = 'Invalid resource type'


class InvalidAttributes(InvalidArchivePolicy):
    """Attribute values do not match their resource type; ``errors`` as above."""

    cause = 'Invalid attributes'


class UnknownAggregationMethod(ArchiveError):
    """``method`` is not an aggregation method (nor a ``+``/``-`` edit of one)."""

    cause = 'Unknown aggregation method'

    def __init__(self, method):
        self.method = method
        super().__init__('Unknown aggregation method %r' % (method,), method)


class NoSuchAggregation(ArchiveError):
    """The metric's policy has no such ``granularity`` (ns) or no such ``method``.

    Exactly one of the two fields is set: the one that does not exist.
    """

    cause = 'Aggregation method does not exist for this metric'

    def __init__(self, method=None, granularity=None):
        self.method = method
        self.granularity = granularity
        what = ('granularity %g s' % (granularity / 1e9) if method is None
                else 'aggregation method %r' % (method,))
        super().__init__('No %s in the archive policy' % what,
                         {'aggregation_method': method,
                          'granularity': None if granularity is None else granularity / 1e9})


class InvalidMeasures(ArchiveError):
    """A batch of measures cannot be used; ``index`` is the first offending measure or None."""

    cause = 'Invalid measures'

    def __init__(self, reason, index=None):
        self.reason = reason
        self.index = index
        where = '' if index is None else ' (measure %d)' % index
        super().__init__(reason + where, {'reason': reason, 'index': index})


class PolicyMismatch(ArchiveError):
    """A metric state was built for other granularities or methods than the policy has."""

    cause = 'Archive policy does not match the stored state'

    def __init__(self, field, stored, wanted):
        self.field = field
        self.stored = stored
        self.wanted = wanted
        super().__init__('stored %s %r, policy has %r' % (field, stored, wanted),
                         {'field': field, 'stored': list(stored), 'policy': list(wanted)})


class InvalidState(ArchiveError):
    """Bytes that are not a serialised metric state of a version this code reads.

    Always the server's problem, never the client's (the API answers 500). ``damaged``:
    the bytes are broken (truncated, garbled), as opposed to written by another version.
    """

    cause = 'Invalid metric state'
    damaged = True

    def __init__(self, reason):
        self.reason = reason
        super().__init__(reason, reason)


class UnsupportedState(InvalidState):
    """A metric state written by a version of telewatch this one does not read."""

    damaged = False


class CorruptSeries(InvalidState):
    """The stored series of ``metric_id`` cannot be read (``reason``, ``damaged`` as the
    InvalidState that said so)."""

    cause = 'Corrupt series'

    def __init__(self, metric_id, cause):
        self.metric_id = str(metric_id)
        self.damaged = cause.damaged
        super().__init__(cause.reason)
        self.detail = {'metric_id': self.metric_id, 'reason': cause.reason}
        self.args = ('metric %s: %s' % (self.metric_id, cause.reason),)


class InvalidIncoming(ArchiveError):
    """Bytes of the incoming buffer that are not a record this code reads."""

    cause = 'Invalid incoming record'

    def __init__(self, reason):
        self.reason = reason
        super().__init__(reason, reason)


class StorageUnavailable(Exception):
    """The series storage or the index cannot be reached now; the same call may succeed
    later (retry, do not acknowledge)."""


class InsufficientStorage(StorageUnavailable):
    """The storage has no room for a write now (a full disk or quota): nothing of the call
    was acknowledged, and it may succeed once space is freed (HTTP 507)."""


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def from_os_error(exc, what):
    """The retryable error of an ``OSError`` met by ``what`` (a storage): a full disk is
    InsufficientStorage, anything else StorageUnavailable."""
    kind = InsufficientStorage if exc.errno in _NO_SPACE else StorageUnavailable
    return kind('%s: %s' % (what, exc))


class MetricLocked(Exception):
    """Another processor holds the metric's sack and did not let go in time (Gnocchi's 503
    "Metric is locked")."""

    def __init__(self, metric_id):
        super().__init__('Unable to refresh metric: %s. Metric is locked. '
                         'Please try again.' % metric_id)
        self.metric_id = metric_id


class IndexEntryError(ArchiveError):
    """Base of the index's errors; the message is Gnocchi's text, which clients match on
    (the API answers it as the description)."""

    def __init__(self, message, detail=None):
        super().__init__(message, detail)
        self.description = message


class NamedEntryError(IndexEntryError):
    """An error about named entries: ``text`` has a ``%s`` per name; ``detail`` is the
    names."""

    text = '%s'

    def __init__(self, *names):
        super().__init__(self.text % names, list(names))


class NoSuchArchivePolicy(NamedEntryError):
    """No such policy."""

    cause = 'Archive policy'
    text = 'Archive policy %s does not exist'


class ArchivePolicyAlreadyExists(NamedEntryError):
    """A policy of that name exists."""

    cause = 'Archive policy'
    text = 'Archive policy %s already exists'


class ArchivePolicyInUse(NamedEntryError):
    """Metrics or rules use the policy."""

    cause = 'Archive policy'
    text = 'Archive policy %s is still in use'


class NoSuchArchivePolicyRule(NamedEntryError):
    """No such rule."""

    cause = 'Archive policy rule'
    text = 'Archive policy rule %s does not exist'


class ArchivePolicyRuleAlreadyExists(NamedEntryError):
    """A rule of that name exists."""

    cause = 'Archive policy rule'
    text = 'Archive policy rule %s already exists'


class NoSuchResourceType(NamedEntryError):
    """No such resource type."""

    cause = 'Resource type'
    text = 'Resource type %s does not exist'


class ResourceTypeAlreadyExists(NamedEntryError):
    """A resource type of that name exists."""

    cause = 'Resource type'
    text = 'Resource type %s already exists'


class ResourceTypeInUse(NamedEntryError):
    """Resources of the type exist."""

    cause = 'Resource type'
    text = 'Resource type %s is still in use'


class NoSuchResource(NamedEntryError):
    """No such resource."""

    cause = 'Resource'
    text = 'Resource %s does not exist'


class ResourceAlreadyExists(NamedEntryError):
    """A resource of that id exists."""

    cause = 'Resource'
    text = 'Resource %s already exists'


class NoSuchMetric(NamedEntryError):
    """No such metric."""

    cause = 'Metric'
    text = 'Metric %s does not exist'


class NamedMetricAlreadyExists(NamedEntryError):
    """The resource has a metric of that name."""

    cause = 'Named metric'
    text = 'Named metric %s already exists'


class NoArchivePolicyRuleMatch(NamedEntryError):
    """A metric needs a policy, given or from a rule."""

    cause = ('No archive policy name specified and no archive policy rule '
             'found matching the metric name')
    text = ('No archive policy name specified and no archive policy rule '
            'found matching the metric name %s')
