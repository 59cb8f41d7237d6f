"""Resource types' custom attributes, as Gnocchi types them: their definitions, and the
checking of values against them. Pure: no I/O.

A definition is ``{name: {"type": T, "required": bool (default true), options...}}`` with
T one of ``string`` (``min_length`` 0, ``max_length`` 256, at most 256), ``number``
(``min``, ``max``),
``uuid``, ``bool`` and ``datetime``. Errors are InvalidResourceType / InvalidAttributes
listing every bad field.
"""

import datetime
import re
import uuid

from telewatch.archive import errors

# Gnocchi's attribute names: a letter, then letters, digits, '_' or '-'.
_NAME = re.compile(r'[A-Za-z][A-Za-z0-9_-]*\Z')
RESERVED = frozenset((
    'id', 'type', 'metrics', 'revision', 'revision_start', 'revision_end', 'started_at',
    'ended_at', 'user_id', 'project_id', 'created_by_user_id', 'created_by_project_id',
    'creator', 'original_resource_id'))
_OPTIONS = {
    'string': {'min_length': 0, 'max_length': 256},
    'number': {'min': None, 'max': None},
    'uuid': {},
    'bool': {},
    'datetime': {},
}


def _number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool))


# Gnocchi's ranges of a string's lengths.
_LENGTHS = {'min_length': (0, 256), 'max_length': (1, 256)}


def _bounds_problems(path, normal):
    """What is wrong with a definition's bounds: not numbers (whole ones for lengths, in
    Gnocchi's ranges), or a lower one above the upper one (Gnocchi's words)."""
    problems = []
    for key in ('min_length', 'max_length', 'min', 'max'):
        value = normal.get(key)
        if value is None:
            continue
        if not _number(value) or (key in _LENGTHS and not isinstance(value, int)):
            problems.append(('%s.%s' % (path, key), 'must be a number'))
        elif key in _LENGTHS and not _LENGTHS[key][0] <= value <= _LENGTHS[key][1]:
            problems.append(('%s.%s' % (path, key), 'value must be between %d and %d'
                             % _LENGTHS[key]))
    for low, high in (('min_length', 'max_length'), ('min', 'max')):
        bounds = normal.get(low), normal.get(high)
        if not problems and None not in bounds and bounds[0] > bounds[1]:
            problems.append(('%s.%s' % (path, low), 'Resource attribute value min (or '
                             'min_length) %s must be less than or equal to max (or '
                             'max_length) %s!' % bounds))
    return problems


def normalise_definition(attributes):
    """The attributes' definitions with every default filled in; InvalidResourceType."""
    problems, out = [], {}
    if not isinstance(attributes, dict):
        raise errors.InvalidResourceType([('attributes', 'must be a mapping')])
    for name, spec in attributes.items():
        path = 'attributes.%s' % name
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            problems.append((path, 'is not a valid attribute name'))
            continue
        kind = spec.get('type') if isinstance(spec, dict) else None
        if not isinstance(kind, str) or kind not in _OPTIONS:  # a list or dict is no type
            problems.append((path + '.type', 'must be one of %s' % ', '.join(_OPTIONS)))
            continue
        allowed = dict(_OPTIONS[kind], type=kind, required=True)
        for key in sorted(set(spec) - set(allowed)):
            problems.append(('%s.%s' % (path, key), 'unknown option for a %s' % kind))
        normal = dict(allowed, **{k: v for k, v in spec.items() if k in allowed})
        if not isinstance(normal['required'], bool):
            problems.append((path + '.required', 'must be true or false'))
        problems.extend(_bounds_problems(path, normal))
        out[name] = normal
    if problems:
        raise errors.InvalidResourceType(problems)
    return out


def _check_value(spec, value):
    """The value stored for ``value`` of an attribute, or raises ValueError(reason); the
    reasons are Gnocchi's (its voluptuous schema's words: clients match on them)."""
    kind = spec['type']
    if kind == 'string':
        if not isinstance(value, str):
            raise ValueError('expected str')
        _check_bounds(len(value), spec['min_length'], spec['max_length'], 'length of value')
        return value
    if kind == 'number':
        if not _number(value):
            raise ValueError('expected Real')
        _check_bounds(value, spec['min'], spec['max'], 'value')
        return value
    if kind == 'uuid':
        return str(uuid.UUID(str(value)))
    if kind == 'bool':
        if not isinstance(value, bool):
            raise ValueError('expected bool')
        return value
    return _utc_datetime(value)


def _check_bounds(measure, low, high, what):
    if low is not None and measure < low:
        raise ValueError('%s must be at least %s' % (what, low))
    if high is not None and measure > high:
        raise ValueError('%s must be at most %s' % (what, high))


def _utc_datetime(value):
    moment = datetime.datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 moved out of range by its offset
            raise ValueError('is out of range in UTC') from None
    return moment.isoformat()


def check_attributes(definition, values, partial=False):
    """``values`` checked and normalised against a type's ``definition``.

    None is allowed for an optional attribute; a required one must be present unless
    ``partial`` (an update). Unknown attributes and bad values: InvalidAttributes.
    """
    problems, out = [], {}
    for name, value in values.items():
        spec = definition.get(name)
        if spec is None:
            problems.append((name, 'is not an attribute of this resource type'))
        elif value is None:
            if spec['required']:
                problems.append((name, 'is required'))
            else:
                out[name] = None
        else:
            try:
                out[name] = _check_value(spec, value)
            except ValueError as exc:
                problems.append((name, str(exc) or 'invalid value'))
    if not partial:
        problems += [(name, 'is required') for name, spec in definition.items()
                     if spec['required'] and name not in values]
    if problems:
        raise errors.InvalidAttributes(problems)
    return out
