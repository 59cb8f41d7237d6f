"""Typed errors of the archive core; each carries fields and renders as ``{cause, detail}``.

The REST layer turns ``to_dict()`` into the body of a 400 without parsing any message.
"""


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
    """Bytes that are not a serialised metric state of a version this code reads."""

    cause = 'Invalid metric state'

    def __init__(self, reason):
        self.reason = reason
        super().__init__(reason, reason)
