"""The transformer contract, and the pieces the built-in transformers share.

A transformer sits in a sink's chain. The framework calls ``handle(sample)`` for every
sample that reaches it (in order) and ``flush()`` after every batch and on a timer, from one
thread at a time. ``handle`` returns the sample to pass down the chain, a new one, or None
to hold or drop it; ``flush`` returns the samples it releases, which continue down the rest of
the chain. Samples are immutable: build new ones (``Sample.derive``). A transformer counts
what it drops in ``self.counters`` (reason -> number); the sink reports them.
"""

import collections
import operator
import re
import time

import voluptuous as vol

from telewatch import expression
from telewatch import sample as sample_mod

DEFAULT_SERIES_TTL = 3600.0


class Transformer:
    """Base class of every transformer (entry-point group ``telewatch.transformer``).

    Subclasses set ``PARAMETERS`` (a voluptuous schema that validates and converts the
    ``parameters`` mapping of pipeline.yaml, raising Invalid with a path) and ``EXAMPLE``
    (parameters that work, for the docs and the tests), and take the validated parameters in
    ``__init__``.
    """

    PARAMETERS = vol.Schema({})
    EXAMPLE = {}

    def __init__(self, parameters, series_ttl=DEFAULT_SERIES_TTL):
        self.parameters = parameters
        self.series_ttl = series_ttl
        self.counters = collections.Counter()

    def handle(self, sample):
        """Return the sample to pass on (this one or a new one), or None."""
        return sample

    def flush(self):
        """Return the samples this transformer releases now (default: none)."""
        return []


class SeriesState:
    """Per-series state that forgets a series not seen for ``ttl`` seconds (at most 2 ttl).

    Two generations of dicts: reading or writing a key keeps it in the current one, and
    ``expire()`` (called from flush) drops the older generation once per ``ttl``. Memory
    stays bounded under churning resources and the hot path pays one dict lookup.
    """

    def __init__(self, ttl=DEFAULT_SERIES_TTL, clock=time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._current = {}
        self._previous = {}
        self._rotated_at = clock()

    def __len__(self):
        return len(self._current) + len(self._previous)

    def get(self, key, default=None):
        value = self._current.get(key, self)
        if value is self:
            if key not in self._previous:
                return default
            value = self._current[key] = self._previous.pop(key)
        return value

    def swap(self, key, value):
        """Store ``value`` under ``key`` and return what was there (or None)."""
        current = self._current
        old = current.get(key)
        if old is None and self._previous:
            old = self._previous.pop(key, None)
        current[key] = value
        return old

    def __setitem__(self, key, value):
        self._current[key] = value
        if self._previous:
            # A stale copy left behind would be counted twice and come back after pop().
            self._previous.pop(key, None)

    def pop(self, key, default=None):
        value = self._current.pop(key, self)
        return self._previous.pop(key, default) if value is self else value

    def items(self):
        yield from self._previous.items()
        yield from self._current.items()

    def expire(self):
        """Drop series not touched for a whole ttl; return how many were dropped."""
        now = self._clock()
        if now - self._rotated_at < self._ttl:
            return 0
        dropped = len(self._previous)
        self._previous, self._current = self._current, {}
        self._rotated_at = now
        return dropped


def resolve_sample_name(name, attributes):
    """Names an expression over one sample may use: the sample's fields."""
    if name not in sample_mod.FIELDS:
        raise expression.ExpressionError(
            'unknown name %r (a sample has %s)' % (name, ', '.join(sample_mod.FIELDS)))
    # The field's index, found once by name: an item read is faster than an attribute read
    # (38 ns against 57 ns a call, measured), and this runs for every sample of a sink.
    return expression.path_getter(operator.itemgetter(sample_mod.FIELDS.index(name)),
                                  attributes)


def Expression(resolve_name):
    """A voluptuous validator that compiles a string into an Expression."""
    def compile_text(value):
        if not isinstance(value, str):
            raise vol.Invalid('expected an expression string')
        try:
            return expression.compile_expression(value, resolve_name)
        except expression.ExpressionError as exc:
            raise vol.Invalid(str(exc))
    return compile_text


def Scale(value):
    """``scale``: a number k, an expression over the sample's fields, or null (none)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise vol.Invalid('expected a number or an expression, got a boolean')
    if isinstance(value, (int, float)):
        return float(value)
    return Expression(resolve_sample_name)(value)


def Regex(value):
    try:
        return re.compile(value)
    except (re.error, TypeError) as exc:
        raise vol.Invalid('not a regular expression: %s' % exc)


TYPE = vol.In(sorted(sample_mod.TYPES), msg='expected one of cumulative, delta, gauge')
MAPPING = {vol.Optional('name'): str, vol.Optional('unit'): str}


def source_schema(with_unit):
    keys = {vol.Optional('map_from'): {vol.Optional('name'): Regex,
                                       vol.Optional('unit'): Regex}}
    if with_unit:
        keys[vol.Optional('unit')] = str
    return keys


def target_schema(required_keys=(), with_scale=True):
    keys = {vol.Optional('name'): str, vol.Optional('unit'): str,
            vol.Optional('type'): TYPE, vol.Optional('max'): vol.Coerce(float),
            vol.Optional('map_to'): MAPPING}
    if with_scale:
        keys[vol.Optional('scale')] = Scale
    for key in required_keys:
        keys[vol.Required(key)] = keys.pop(vol.Optional(key))
    return keys


def check_mappings(parameters):
    """map_from and map_to go in pairs, attribute by attribute."""
    map_from = parameters.get('source', {}).get('map_from', {})
    map_to = parameters.get('target', {}).get('map_to', {})
    for attribute in ('name', 'unit'):
        if (attribute in map_from) != (attribute in map_to):
            present = 'source.map_from' if attribute in map_from else 'target.map_to'
            counterpart = 'target.map_to' if present == 'source.map_from' else 'source.map_from'
            raise vol.Invalid('needs its counterpart %s.%s' % (counterpart, attribute),
                              path=present.split('.') + [attribute])
    return parameters


class NameUnitMapper:
    """The output name and unit of a sample: map_from/map_to regexes, else target's values.

    As in Ceilometer, when a map_from pattern does not match, the input's value is kept and
    the target's ignored. Results are cached per (name, unit): meters are few.
    """

    def __init__(self, parameters):
        target = parameters.get('target', {})
        map_from = parameters.get('source', {}).get('map_from', {})
        map_to = target.get('map_to', {})
        self._rules = {
            attribute: (map_from.get(attribute), map_to.get(attribute), target.get(attribute))
            for attribute in ('name', 'unit')}
        self._cache = {}

    def _map(self, attribute, value):
        pattern, replacement, fixed = self._rules[attribute]
        if pattern is not None:
            mapped, count = pattern.subn(replacement, value)
            return mapped if count else value
        return fixed if fixed is not None else value

    def __call__(self, name, unit):
        key = (name, unit)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) > 10000:
                self._cache.clear()
            found = self._cache[key] = (self._map('name', name), self._map('unit', unit))
        return found
