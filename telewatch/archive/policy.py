"""Archive policies as Gnocchi defines them: a back window, aggregation methods, and a
definition of (granularity, points, timespan) items: any two of them, or a granularity alone
(every bucket kept, as Gnocchi's ``points: null``). Validated once, at construction.

Durations are given as seconds (int or float), ``datetime.timedelta`` or
``numpy.timedelta64``, and kept as whole nanoseconds. Text durations (``"5 minutes"``) are
parsed by the REST layer, not here.

Methods: ``mean min max sum std count median first last``, percentiles (Gnocchi's
``95pct``; ``p95`` and fractional ``p99.9`` / ``99.9pct`` are accepted as well, canonical
name ``<q>pct``), and ``rate:<any of these>``. ``*`` is every method Gnocchi knows (the nine
above, ``1pct`` .. ``99pct``, and their ``rate:`` forms). When every entry is ``+m``/``-m``
they edit the default set; otherwise they edit the explicit set (Gnocchi's rule).
"""

import dataclasses
import datetime
import math
import re

import numpy

from telewatch.archive import errors

BASIC_METHODS = ('mean', 'min', 'max', 'sum', 'std', 'count', 'median', 'first', 'last')
DEFAULT_METHODS = frozenset(('mean', 'min', 'max', 'sum', 'std', 'count'))
RATE_PREFIX = 'rate:'
_PERCENTILE = re.compile(r'(?:p([0-9]{1,2}(?:\.[0-9]{1,4})?)|([0-9]{1,2}(?:\.[0-9]{1,4})?)pct)\Z')
NS_PER_SECOND = 1_000_000_000
# What a datetime64[ns] and the index's integers hold: timespans up to ~292 years.
MAX_INT64 = 2 ** 63 - 1


@dataclasses.dataclass(frozen=True)
class Method:
    """A parsed aggregation method: ``base`` is a basic method or ``pct`` (then ``q`` is set)."""

    name: str
    base: str
    rate: bool = False
    q: float = None

    def __hash__(self):
        # The name says all the rest; batched reads hash it with every series they key.
        return hash(self.name)

    @property
    def min_count(self):
        """Values a bucket needs for this method to have a value (sample std needs two)."""
        return 2 if self.base == 'std' else 1


def parse_method(text):
    """The ``Method`` for ``text``; UnknownAggregationMethod if it is not one."""
    if not isinstance(text, str):
        raise errors.UnknownAggregationMethod(text)
    rate = text.startswith(RATE_PREFIX)
    base = text[len(RATE_PREFIX):] if rate else text
    prefix = RATE_PREFIX if rate else ''
    if base in BASIC_METHODS:
        return Method(text, base, rate)
    match = _PERCENTILE.match(base)
    if match:
        q = float(match.group(1) or match.group(2))
        if 0 < q < 100:
            return Method('%s%gpct' % (prefix, q), 'pct', rate, q)
    raise errors.UnknownAggregationMethod(text)


def _every_method():
    plain = list(BASIC_METHODS) + ['%dpct' % q for q in range(1, 100)]
    return frozenset(plain + [RATE_PREFIX + m for m in plain])


ALL_METHODS = _every_method()


def parse_aggregation_methods(entries, default=DEFAULT_METHODS, field='aggregation_methods'):
    """The normalised frozenset of canonical method names for a list of entries.

    ``None`` and an empty list give ``default`` (Gnocchi: ``all()`` of nothing is true).
    Raises InvalidArchivePolicy listing every bad entry as ``aggregation_methods[i]``.
    """
    if entries is None:
        return frozenset(default)
    if isinstance(entries, (str, bytes)) or not hasattr(entries, '__iter__'):
        raise errors.InvalidArchivePolicy([(field, 'must be a list of method names')])
    plain, edits, problems = [], [], []
    for i, entry in enumerate(entries):
        sign = entry[:1] if isinstance(entry, str) and entry[:1] in ('+', '-') else ''
        try:
            name = '*' if entry == '*' else parse_method(entry[1:] if sign else entry).name
        except errors.UnknownAggregationMethod:
            problems.append(('%s[%d]' % (field, i), 'unknown aggregation method %r' % (entry,)))
            continue
        (edits if sign else plain).append((sign, name))
    if problems:
        raise errors.InvalidArchivePolicy(problems)
    methods = {name for _, name in plain if name != '*'}
    if ('', '*') in plain:
        methods |= ALL_METHODS
    elif not plain:
        methods = set(default)
    for sign, name in edits:
        if sign == '+':
            methods.add(name)
        else:
            methods.discard(name)
    return frozenset(methods)


def duration_ns(value):
    """Whole nanoseconds of a duration; ValueError if it is not one."""
    if isinstance(value, bool) or value is None:
        raise ValueError('not a duration: %r' % (value,))
    if isinstance(value, numpy.timedelta64):
        if numpy.isnat(value):
            raise ValueError('not a duration: NaT')
        return int(value.astype('timedelta64[ns]').astype(numpy.int64))
    if isinstance(value, datetime.timedelta):
        return ((value.days * 86400 + value.seconds) * NS_PER_SECOND
                + value.microseconds * 1000)
    if isinstance(value, (int, numpy.integer)):
        return int(value) * NS_PER_SECOND
    if isinstance(value, (float, numpy.floating)) and math.isfinite(value):
        return int(round(float(value) * NS_PER_SECOND))
    raise ValueError('not a duration: %r' % (value,))


@dataclasses.dataclass(frozen=True)
class ArchivePolicyItem:
    """One definition item: buckets of ``granularity_ns``, the newest ``points`` kept.

    ``points`` None (a granularity alone, Gnocchi's ``points: null, timespan: null``)
    keeps every bucket: ``timespan_ns`` and ``timespan`` are None then.
    """

    granularity_ns: int
    points: int = None

    @property
    def timespan_ns(self):
        return None if self.points is None else self.granularity_ns * self.points

    @property
    def granularity(self):
        """Seconds, as Gnocchi's JSON gives them."""
        return self.granularity_ns / NS_PER_SECOND

    @property
    def timespan(self):
        return None if self.points is None else self.timespan_ns / NS_PER_SECOND

    def to_dict(self):
        return {'granularity': self.granularity, 'points': self.points,
                'timespan': self.timespan}

    @classmethod
    def from_dict(cls, spec, path='definition'):
        """Item and the list of ``(field, reason)`` problems (item is None if any)."""
        if isinstance(spec, cls):
            return spec, []
        if not isinstance(spec, dict):
            return None, [(path, 'must be a mapping of granularity, points, timespan')]
        unknown = sorted(set(spec) - {'granularity', 'points', 'timespan'})
        if unknown:
            return None, [('%s.%s' % (path, k), 'unknown key') for k in unknown]
        given = {k: v for k, v in spec.items() if v is not None}
        problems = []
        g = _positive(given, 'granularity', path, problems, duration_ns)
        p = _positive(given, 'points', path, problems, _whole)
        t = _positive(given, 'timespan', path, problems, duration_ns)
        if problems:
            return None, problems
        if len(given) < 2 and g is None:
            # A granularity alone keeps everything; without one, both others are needed.
            return None, [('%s.granularity' % path,
                           'At least two of granularity/points/timespan must be provided')]
        return _derive(cls, g, p, t, path)


def _whole(value):
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise ValueError('not a whole number: %r' % (value,))
    return int(value)


def _positive(given, key, path, problems, convert):
    if key not in given:
        return None
    try:
        value = convert(given[key])
    except ValueError as exc:
        problems.append(('%s.%s' % (path, key), str(exc)))
        return None
    if value <= 0:
        problems.append(('%s.%s' % (path, key), 'must be > 0'))
        return None
    return value


def _derive(cls, g, p, t, path):
    field = '%s.timespan' % path
    if p is None and t is None:
        return cls(g), []
    if g is None:
        if t % p:
            return None, [(field, 'timespan / points is not a whole number of nanoseconds')]
        g = t // p
    elif p is None:
        # As Gnocchi: the whole points that fit, the timespan cut to them (1 h of 7 s
        # buckets: 514 points, 0:59:58).
        p = t // g
        if not p:
            return None, [(field, 'timespan must be at least the granularity')]
    elif t is not None and t != g * p:
        return None, [(field, 'timespan ≠ granularity × points')]
    if g * p > MAX_INT64:
        return None, [(field, 'must be at most %d ns (292 years)' % MAX_INT64)]
    return cls(g, p), []


@dataclasses.dataclass(frozen=True)
class ArchivePolicy:
    """A validated archive policy; InvalidArchivePolicy lists every bad field.

    ``aggregation_methods`` becomes a frozenset of canonical names and ``definition`` a
    tuple of ArchivePolicyItem in the given order. ``methods`` (sorted names) and
    ``granularities`` (ascending ns) fix the layout of a metric's state.
    """

    name: str
    back_window: int = 0
    aggregation_methods: frozenset = None
    definition: tuple = ()

    def __post_init__(self):
        problems = []
        if not isinstance(self.name, str) or not self.name:
            problems.append(('name', 'must be a non-empty string'))
        if (isinstance(self.back_window, bool)
                or not isinstance(self.back_window, (int, numpy.integer))
                or not 0 <= self.back_window <= MAX_INT64):
            problems.append(('back_window', 'must be a whole number >= 0'))
        try:
            methods = parse_aggregation_methods(self.aggregation_methods)
        except errors.InvalidArchivePolicy as exc:
            problems.extend(exc.errors)
            methods = frozenset()
        else:
            if not methods:
                problems.append(('aggregation_methods', 'no aggregation method left'))
        items = self._items(problems)
        if problems:
            raise errors.InvalidArchivePolicy(problems)
        specs = tuple(parse_method(m) for m in sorted(methods))
        normalised = {
            'back_window': int(self.back_window),
            'aggregation_methods': methods,
            'definition': items,
            'methods': tuple(m.name for m in specs),
            'method_specs': specs,
            'granularities': tuple(sorted(i.granularity_ns for i in items)),
            '_points': {i.granularity_ns: i.points for i in items},
        }
        for key, value in normalised.items():
            object.__setattr__(self, key, value)

    def _items(self, problems):
        definition = self.definition
        if isinstance(definition, (str, bytes, dict)) or not hasattr(definition, '__iter__'):
            problems.append(('definition', 'must be a list of items'))
            return ()
        items = []
        for i, spec in enumerate(definition):
            item, bad = ArchivePolicyItem.from_dict(spec, 'definition[%d]' % i)
            problems.extend(bad)
            if item is not None:
                if any(o.granularity_ns == item.granularity_ns for o in items):
                    problems.append(('definition[%d].granularity' % i,  # Gnocchi's words
                                     "More than one archive policy uses granularity `%s'"
                                     % float(item.granularity)))
                items.append(item)
        if not items and not problems:
            problems.append(('definition', 'needs at least one item'))
        return tuple(items)

    @property
    def max_granularity_ns(self):
        return self.granularities[-1]

    @property
    def has_rate(self):
        return any(m.rate for m in self.method_specs)

    @property
    def effective_back_window(self):
        """Gnocchi keeps (and accepts) one more block when a ``rate:`` method is present."""
        return self.back_window + (1 if self.has_rate else 0)

    def points_of(self, granularity_ns):
        """Points kept at a granularity given in nanoseconds (None: every bucket is
        kept); KeyError if none."""
        return self._points[granularity_ns]

    def item(self, granularity):
        """The item for a granularity (a duration, see ``duration_ns``); KeyError if none."""
        g = duration_ns(granularity)
        for item in self.definition:
            if item.granularity_ns == g:
                return item
        raise KeyError(granularity)

    def unsupported_change(self, new):
        """Why ``new`` may not replace this policy (only points and timespans may change),
        in Gnocchi's words; None when it may."""
        if len(new.granularities) != len(self.granularities):
            return 'Cannot add or drop granularities'
        for current, wanted in zip(self.granularities, new.granularities):
            if current != wanted:
                return '%s granularity interval was changed' % (current / NS_PER_SECOND)
        return None

    def to_dict(self):
        return {'name': self.name, 'back_window': self.back_window,
                'aggregation_methods': sorted(self.aggregation_methods),
                'definition': [i.to_dict() for i in self.definition]}


_DAY = 86400


def _policy(name, items, methods=None, back_window=0):
    return ArchivePolicy(name, back_window, methods,
                         [{'granularity': g, 'timespan': t} for g, t in items])


def builtin_policies():
    """Gnocchi's default policies and Ceilometer's, by name (see the reference, section 2)."""
    policy = _policy
    high = [(1, 3600), (60, 7 * _DAY), (3600, 365 * _DAY)]
    ceilometer_high = [(1, 3600), (60, _DAY), (3600, 365 * _DAY)]
    policies = [
        policy('bool', [(1, 365 * _DAY)], ['last'], 3600),
        policy('low', [(300, 30 * _DAY)]),
        policy('medium', [(60, 7 * _DAY), (3600, 365 * _DAY)]),
        policy('high', high),
        policy('ceilometer-low', [(300, 30 * _DAY)], ['mean']),
        policy('ceilometer-low-rate', [(300, 30 * _DAY)], ['mean', 'rate:mean']),
        policy('ceilometer-high', ceilometer_high, ['mean']),
        policy('ceilometer-high-rate', ceilometer_high, ['mean', 'rate:mean']),
    ]
    return {p.name: p for p in policies}


#: The policies the all-in-one adds 1-minute points to: the 5-minute ones that the default
#: rule and the shipped archive_resources.yaml name.
MINUTE_POINTS_POLICIES = ('low', 'ceilometer-low', 'ceilometer-low-rate')


def all_in_one_policies():
    """builtin_policies, where those of MINUTE_POINTS_POLICIES also keep 1-minute points for
    a day: a person watching the all-in-one sees a curve within minutes, and
    ``granularity=60`` reads work. telewatch-upgrade keeps Gnocchi's and Ceilometer's."""
    policies = builtin_policies()
    for name in MINUTE_POINTS_POLICIES:
        policy = policies[name]
        items = [(60, _DAY)] + [(item.granularity, item.timespan)
                                for item in policy.definition]
        policies[name] = _policy(name, items, sorted(policy.aggregation_methods),
                                 policy.back_window)
    return policies
