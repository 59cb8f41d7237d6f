"""An Aodh v2 alarm body checked as Aodh checks it, with Aodh's defaults and texts, into
the store's alarm document: the alarm's fields, its time constraints, and its rule (the
engine's ``ThresholdRule.from_aodh`` and ``CompositeRule.from_aodh`` decide what a threshold
rule may be, ``constraints.check`` what a time constraint may be)."""

import re

from telewatch.alarms import composite
from telewatch.alarms import constraints
from telewatch.alarms import rules
from telewatch.api.controllers import aodh

RESOURCES = 'gnocchi_resources_threshold'
BY_METRICS = 'gnocchi_aggregation_by_metrics_threshold'
BY_RESOURCES = 'gnocchi_aggregation_by_resources_threshold'
COMPOSITE = 'composite'
EVENT = 'event'
THRESHOLD_TYPES = (RESOURCES, BY_METRICS, BY_RESOURCES)
TYPES = THRESHOLD_TYPES + (COMPOSITE, EVENT)
SEVERITIES = ('low', 'moderate', 'critical')
NOT_EVALUATED = 'Not evaluated yet'
MANUAL = 'Manually set via API'
ACTION_FIELDS = ('ok_actions', 'alarm_actions', 'insufficient_data_actions')
# What a client may send back unchanged from a GET (the aodh CLI's update does): ignored.
READ_ONLY = ('alarm_id', 'timestamp', 'state_timestamp', 'state_reason')
FIELDS = ('name', 'description', 'type', 'enabled', 'repeat_actions', 'state', 'severity',
          'project_id', 'user_id', 'time_constraints') + ACTION_FIELDS + READ_ONLY
# Each threshold type's own fields (all mandatory), and those all three share.
TYPE_FIELDS = {RESOURCES: {'metric': str, 'resource_id': str, 'resource_type': str},
               BY_METRICS: {'metrics': list},
               BY_RESOURCES: {'metric': str, 'query': str, 'resource_type': str}}
THRESHOLD_FIELDS = ('threshold', 'comparison_operator', 'aggregation_method',
                    'evaluation_periods', 'granularity', 'datapoints_to_alarm',
                    'treat_missing_data')
MAX_EVALUATION_PERIODS = 100
MAX_GRANULARITY = 365 * 86400
QUERY_TYPES = ('string', 'integer', 'float', 'boolean', '')
QUERY_OPS = tuple(rules.COMPARATORS)
_TRAIT_FIELD = re.compile(r"^[a-zA-Z.',0-9_-]*$")


def invalid(field, value, reason):
    aodh.fault(400, "Invalid input for field/attribute %s. Value: '%s'. %s"
               % (field, value, reason))


def _one_of(field, value, allowed):
    if value not in allowed:
        invalid(field, value, 'Value should be one of: %s' % ', '.join(sorted(allowed)))
    return value


def _typed(field, value, kind):
    if kind is float and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    if kind is int and isinstance(value, str) and value.strip().lstrip('-').isdigit():
        value = int(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        invalid(field, value, "Wrong type. Expected '%s', got '%s'"
                % (kind.__name__, type(value).__name__))
    return value


def _mandatory(body, field, path):
    if body.get(field) is None:
        invalid(path + field, None, 'Mandatory field missing.')
    return body[field]


def _unknown(body, known, where):
    extra = sorted(key for key in body if key not in known)
    if extra:
        aodh.fault(400, 'Unknown attribute for argument %s: %s' % (where, ', '.join(extra)))


def parse(body):
    """The alarm fields of a POST or PUT body (``rule`` for ``<type>_rule``), defaults filled
    as Aodh fills them; ``project_id``/``user_id`` only when given. 400s as Aodh's."""
    if not isinstance(body, dict):
        aodh.fault(400, 'Invalid input: the body must be a JSON object, not %s'
                   % type(body).__name__)
    rule_keys = {key for key in body if key.endswith('_rule')}
    _unknown({k: v for k, v in body.items() if k not in rule_keys}, FIELDS, 'data')
    kind = _one_of('type', _mandatory(body, 'type', ''), TYPES)
    others = [key for key in sorted(rule_keys) if key != kind + '_rule' and body[key]]
    for key in others:
        if key[:-len('_rule')] not in TYPES:
            aodh.fault(400, 'Unknown attribute for argument data: %s' % key)
    if body.get(kind + '_rule') in (None, {}) and kind != EVENT:
        aodh.fault(400, '%s_rule must be set for %s type alarm' % (kind, kind))
    if others:
        aodh.fault(400, '%s and %s cannot be set at the same time'
                   % (kind + '_rule', others[0]))
    alarm = {'name': _typed('name', _mandatory(body, 'name', ''), str), 'type': kind,
             'enabled': _typed('enabled', body.get('enabled', True), bool),
             'repeat_actions': _typed('repeat_actions', body.get('repeat_actions', False),
                                      bool),
             'state': _one_of('state', body.get('state') or rules.INSUFFICIENT_DATA,
                              rules.STATES),
             'severity': _one_of('severity', body.get('severity') or 'low', SEVERITIES),
             'time_constraints': _time_constraints(body.get('time_constraints') or [])}
    for field in ACTION_FIELDS:
        urls = body.get(field) or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            invalid(field, urls, 'Wrong type. Expected a list of texts')
        alarm[field] = urls
    for field in ('project_id', 'user_id'):
        if body.get(field) is not None:
            alarm[field] = _typed(field, body[field], str)
    alarm['rule'] = parse_rule(kind, body.get(kind + '_rule') or {})
    description = body.get('description')
    alarm['description'] = (_typed('description', description, str) if description
                            else _default_description(kind, alarm['rule']))
    return alarm


def _default_description(kind, rule):
    if kind == EVENT:
        return 'Alarm when %s event occurred.' % rule['event_type']
    return '%s alarm rule' % kind


def parse_rule(kind, rule):
    """A type's rule, checked, with Aodh's defaults."""
    if kind == COMPOSITE:
        return _composite(rule)
    if not isinstance(rule, dict):
        invalid(kind + '_rule', rule, 'Wrong type. Expected an object')
    if kind == EVENT:
        return _event(rule)
    return _threshold(kind, rule, kind + '_rule.')


def _threshold(kind, rule, path):
    _unknown(rule, tuple(TYPE_FIELDS[kind]) + THRESHOLD_FIELDS, path.rstrip('.'))
    checked = {field: _typed(path + field, _mandatory(rule, field, path), type_)
               for field, type_ in TYPE_FIELDS[kind].items()}
    if kind == BY_METRICS and not all(isinstance(m, str) for m in checked['metrics']):
        invalid(path + 'metrics', checked['metrics'], 'Wrong type. Expected a list of texts')
    checked['threshold'] = _typed(path + 'threshold', _mandatory(rule, 'threshold', path),
                                  float)
    checked['aggregation_method'] = _typed(
        path + 'aggregation_method', _mandatory(rule, 'aggregation_method', path), str)
    checked['comparison_operator'] = _one_of(
        path + 'comparison_operator', rule.get('comparison_operator') or 'eq', QUERY_OPS)
    checked['evaluation_periods'] = _bounded(
        path + 'evaluation_periods', rule.get('evaluation_periods', 1), MAX_EVALUATION_PERIODS)
    checked['granularity'] = _bounded(path + 'granularity', rule.get('granularity', 60),
                                      MAX_GRANULARITY)
    for extension in ('datapoints_to_alarm', 'treat_missing_data'):
        if rule.get(extension) is not None:
            checked[extension] = rule[extension]
    try:
        rules.ThresholdRule.from_aodh(checked)
    except rules.InvalidRule as error:
        invalid(path + error.field, checked.get(error.field), error.detail)
    return checked


def _bounded(field, value, maximum):
    value = _typed(field, value, int)
    if not 1 <= value <= maximum:
        invalid(field, value, 'Value should be between 1 and %d' % maximum)
    return value


def _composite(tree, depth=0):
    if depth > 32:
        aodh.fault(400, 'Invalid input composite rule: nested deeper than 32 levels')
    if isinstance(tree, dict) and len(tree) == 1 and next(iter(tree)) in ('and', 'or'):
        (operator, children), = tree.items()
        if not isinstance(children, list):
            _invalid_composite(tree)
        checked = {operator: [_composite(child, depth + 1) for child in children]}
        if depth == 0:
            try:
                composite.CompositeRule.from_aodh(checked)
            except rules.InvalidRule as error:
                invalid(error.field, None, error.detail)
        return checked
    if isinstance(tree, dict) and len(tree) == 1:
        aodh.fault(400, 'Threshold rules should be combined with "and" or "or"')
    if not isinstance(tree, dict):
        _invalid_composite(tree)
    leaf = dict(tree)
    kind = leaf.pop('type', None)
    if not kind:
        aodh.fault(400, 'type must be set in every rule')
    if kind not in THRESHOLD_TYPES:
        aodh.fault(400, 'Unsupported sub-rule type :%s in composite rule, should be one '
                        'of: %s' % (kind, sorted(THRESHOLD_TYPES)))
    return dict(_threshold(kind, leaf, 'composite_rule.'), type=kind)


def _invalid_composite(value):
    aodh.fault(400, 'Invalid input composite rule: %s, it should be a dict with an "and" '
                    'or "or" as key, and the value of dict should be a list of basic '
                    'threshold rules or sub composite rules, can be nested.' % (value,))


def leaves(kind, rule):
    """The threshold rules of an alarm's rule, each with its type: ``[(type, rule)]``."""
    if kind in THRESHOLD_TYPES:
        return [(kind, rule)]
    if kind != COMPOSITE:
        return []
    if 'type' in rule:
        return [(rule['type'], rule)]
    (children,) = rule.values()
    return [leaf for child in children for leaf in leaves(COMPOSITE, child)]


def _event(rule):
    _unknown(rule, ('event_type', 'query'), 'event_rule')
    event_type = rule.get('event_type') or '*'
    _typed('event_rule.event_type', event_type, str)
    query = rule.get('query') or []
    if not isinstance(query, list):
        invalid('event_rule.query', query, 'Wrong type. Expected a list')
    return {'event_type': event_type, 'query': [_event_query(q) for q in query]}


def _event_query(item):
    if not isinstance(item, dict):
        invalid('event_rule.query', item, 'Wrong type. Expected an object')
    _unknown(item, ('field', 'op', 'value', 'type'), 'event_rule.query')
    checked = {'field': _typed('field', _mandatory(item, 'field', ''), str),
               'op': item.get('op') or 'eq',
               'value': _typed('value', _mandatory(item, 'value', ''), str)}
    if item.get('type') is not None:
        checked['type'] = item['type']
    problems = []
    if not _TRAIT_FIELD.match(checked['field']):
        problems.append("does not match regular expression for dictionary value @ "
                        "data['field']")
    if checked['op'] not in QUERY_OPS:
        problems.append("value must be one of %s for dictionary value @ data['op']"
                        % sorted(QUERY_OPS))
    if checked.get('type', '') not in QUERY_TYPES:
        problems.append("value must be one of %s for dictionary value @ data['value']"
                        % sorted(QUERY_TYPES))
    if problems:
        aodh.fault(400, 'Query value or traits invalid: %s' % problems[0])
    _convertible(checked)
    return checked


def _convertible(item):
    kind, value = item.get('type'), item['value']
    converters = {'integer': int, 'float': float,
                  'boolean': lambda v: {'true': True, 'false': False}[v.strip().lower()]}
    if kind in converters:
        try:
            converters[kind](value)
        except (ValueError, KeyError):
            aodh.fault(400, 'Unable to convert the value %s to the expected data type %s.'
                       % (value, kind))


def _time_constraints(items):
    if not isinstance(items, list):
        invalid('time_constraints', items, 'Wrong type. Expected a list')
    checked = []
    for index, item in enumerate(items):
        path = 'time_constraints[%d].' % index
        if not isinstance(item, dict):
            invalid(path.rstrip('.'), item, 'Wrong type. Expected an object')
        _unknown(item, ('name', 'description', 'start', 'duration', 'timezone'),
                 path.rstrip('.'))
        constraint = {'name': _typed(path + 'name', _mandatory(item, 'name', path), str),
                      'start': _typed(path + 'start', _mandatory(item, 'start', path), str),
                      'duration': _typed(path + 'duration',
                                         _mandatory(item, 'duration', path), int),
                      'timezone': item.get('timezone') or ''}
        constraint['description'] = item.get('description') or (
            'Time constraint at %s lasting for %s seconds'
            % (constraint['start'], constraint['duration']))
        checked.append(constraint)
    try:
        constraints.check(checked)
    except rules.InvalidRule as error:
        if error.field.endswith('.timezone'):
            index = int(error.field.partition('[')[2].partition(']')[0])
            aodh.fault(400, 'Timezone %s is not valid' % checked[index]['timezone'])
        invalid(error.field, None, error.detail)
    names = [c['name'] for c in checked]
    if len(names) != len(set(names)):
        aodh.fault(400, 'Time constraint names must be unique for a given alarm.')
    return checked
