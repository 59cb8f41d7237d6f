"""Event alarms (Aodh's ``event`` type): the traits of a service notification, and whether an
event fires an alarm (an event type pattern, AND-ed typed trait conditions). Pure: no I/O.

An event rule is Aodh's ``{"event_type": "compute.instance.*", "query": [{"field":
"traits.instance_id", "op": "eq", "value": "...", "type": "string"}]}``: ``event_type`` a
shell pattern (``*`` by default), each condition comparing a field (``traits.<name>``, or
``event_type``, ``message_id``, ``generated``) with ``op`` (``lt le eq ne ge gt``, ``eq`` by
default) to ``value`` read as ``type`` (``string`` by default, ``integer``, ``float``,
``boolean``, ``datetime``). The event's value is read as the condition's type too (Aodh
compares the trait's own type: a trait ``"5"`` never equals ``integer::5`` there); a value
that cannot be read so, or a missing one, fails the condition (``ne`` excepted: a missing
value differs, as in Aodh).
"""

import dataclasses
import datetime
import fnmatch
import json
import operator

OPERATORS = {'lt': operator.lt, 'le': operator.le, 'eq': operator.eq, 'ne': operator.ne,
             'ge': operator.ge, 'gt': operator.gt}
QUERY_TYPES = ('string', 'integer', 'float', 'boolean', 'datetime')
# Ceilometer's trait type codes, as Aodh's reason_data carries them ([name, type, value]).
TRAIT_TYPE_CODES = {str: 1, int: 2, float: 3}
EVENT_FIELDS = ('event_type', 'message_id', 'generated')
ALARM = 'alarm'
_TRUE = ('true', '1', 'yes', 'on', 'y', 't')
_FALSE = ('false', '0', 'no', 'off', 'n', 'f')


class InvalidEventRule(ValueError):
    """``field`` of an event rule (``event_rule.query[0].value``) is wrong, for
    ``reason``."""

    def __init__(self, field, reason):
        super().__init__('%s: %s' % (field, reason))
        self.field = field
        self.reason = reason


def as_type(value, kind):
    """``value`` read as ``kind`` (one of QUERY_TYPES); ValueError when it cannot be."""
    if kind == 'string':
        return value if isinstance(value, str) else json.dumps(value) \
            if isinstance(value, bool) else str(value)
    if isinstance(value, (dict, list)) or value is None:
        raise ValueError('%r is not a %s' % (value, kind))
    if kind == 'integer':
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError('%r is not an integer' % (value,))
        return int(value)
    if kind == 'float':
        if isinstance(value, bool):
            raise ValueError('%r is not a float' % (value,))
        return float(value)
    if kind == 'boolean':
        return _boolean(value)
    if kind == 'datetime':
        return _datetime(value)
    raise ValueError('type %r is not one of %s' % (kind, ', '.join(QUERY_TYPES)))


def _boolean(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise ValueError('%r is not a boolean' % (value,))


def _datetime(value):
    """A naive UTC datetime of an ISO 8601 text (Nova's ``2026-12-07 17:00:00.123456``,
    ``...Z``, ``...+01:00``)."""
    if not isinstance(value, str):
        raise ValueError('%r is not a date and time' % (value,))
    text = value.strip().replace('Z', '+00:00').replace('z', '+00:00')
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment


@dataclasses.dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: object
    type: str

    def holds(self, event):
        found = event.value(self.field)
        if found is None:
            return self.op == 'ne'
        try:
            found = as_type(found, self.type)
            return OPERATORS[self.op](found, self.value)
        except (ValueError, TypeError):
            return False


class EventRule:
    """An event alarm's rule: ``event_type`` (a pattern), ``conditions``, and ``query`` as
    given (for the reason)."""

    def __init__(self, event_type, conditions, query):
        self.event_type = event_type
        self.conditions = tuple(conditions)
        self.query = query

    @classmethod
    def from_aodh(cls, rule, where='event_rule'):
        """From Aodh's rule dict; InvalidEventRule names what is wrong."""
        if not isinstance(rule, dict):
            raise InvalidEventRule(where, 'expected an object')
        event_type = rule.get('event_type', '*')
        if event_type is None:
            event_type = '*'
        if not isinstance(event_type, str) or not event_type:
            raise InvalidEventRule(where + '.event_type', 'expected a non-empty text')
        query = rule.get('query') or []
        if not isinstance(query, list):
            raise InvalidEventRule(where + '.query', 'expected a list of conditions')
        conditions = [_condition(item, '%s.query[%d]' % (where, index))
                      for index, item in enumerate(query)]
        return cls(event_type, conditions, query)

    def matches(self, event):
        """Whether ``event`` (an Event) has the type and meets every condition."""
        return (fnmatch.fnmatchcase(event.event_type, self.event_type)
                and all(condition.holds(event) for condition in self.conditions))


def _condition(item, where):
    if not isinstance(item, dict):
        raise InvalidEventRule(where, 'expected {field, op, value, type}')
    unknown = sorted(set(item) - {'field', 'op', 'value', 'type'})
    if unknown:
        raise InvalidEventRule(where, 'unknown key(s) %s' % ', '.join(unknown))
    field, op = item.get('field'), item.get('op') or 'eq'
    kind = item.get('type') or 'string'
    if not isinstance(field, str) or not field:
        raise InvalidEventRule(where + '.field', 'expected a field name (traits.NAME)')
    if op not in OPERATORS:
        raise InvalidEventRule(where + '.op', '%r is not one of %s'
                               % (op, ', '.join(OPERATORS)))
    if kind not in QUERY_TYPES:
        raise InvalidEventRule(where + '.type', '%r is not one of %s'
                               % (kind, ', '.join(QUERY_TYPES)))
    try:
        value = as_type(item.get('value'), kind)
    except ValueError as exc:
        raise InvalidEventRule(where + '.value', str(exc)) from None
    return Condition(field, op, value, kind)


@dataclasses.dataclass(frozen=True)
class Event:
    """A service notification as event alarms see it: its type, id, time (``generated``,
    as sent) and traits (name -> str, int, float or bool)."""

    event_type: str
    message_id: str | None
    generated: str | None
    traits: dict

    @property
    def project_id(self):
        """The project it belongs to (trait project_id, else tenant_id), or None."""
        return self.traits.get('project_id') or self.traits.get('tenant_id') or None

    def value(self, field):
        if field.startswith('traits.'):
            return self.traits.get(field[len('traits.'):])
        if field in EVENT_FIELDS:
            return getattr(self, field)
        return None

    def to_dict(self):
        """Aodh's event in reason_data: traits as [name, type code, value] (bools as
        text)."""
        traits = []
        for name, value in sorted(self.traits.items()):
            value = json.dumps(value) if isinstance(value, bool) else value
            traits.append([name, TRAIT_TYPE_CODES.get(type(value), 1), value])
        return {'message_id': self.message_id, 'event_type': self.event_type,
                'generated': self.generated, 'traits': traits, 'raw': {}}


def fires(alarm, rule, event):
    """Whether ``event`` moves ``alarm`` (with its EventRule ``rule``) to alarm: it matches,
    and the alarm is not in alarm already (unless it repeats its actions). An event alarm
    never goes back to ok by itself (as Aodh's)."""
    if alarm.get('state') == ALARM and not alarm.get('repeat_actions'):
        return False
    return rule.matches(event)


def firing(rule, event):
    """(reason, reason_data) of an alarm that ``event`` fires, as Aodh words them."""
    reason = 'Event <id=%s,event_type=%s> hits the query <query=%s>.' % (
        event.message_id, event.event_type, json.dumps(rule.query, sort_keys=True))
    return reason, {'type': 'event', 'event': event.to_dict()}


# The traits every notification gets besides its payload's own fields, each from the first
# place that has it (Ceilometer's event definitions give these for the services' events).
_DERIVED = (
    ('project_id', (('payload', 'project_id'), ('payload', 'tenant_id'),
                    ('ctxt', 'project_id'), ('ctxt', 'tenant_id'), ('ctxt', 'tenant'))),
    ('user_id', (('payload', 'user_id'), ('ctxt', 'user_id'), ('ctxt', 'user'))),
    ('request_id', (('ctxt', 'request_id'), ('ctxt', 'global_request_id'))),
)


def from_notification(message):
    """The Event of a service notification, as the notification agent hands it over:
    ``{ctxt, publisher_id, event_type, payload, metadata: {message_id, timestamp}}``.
    ValueError when it has no event type."""
    event_type = message.get('event_type')
    if not isinstance(event_type, str) or not event_type:
        raise ValueError('a notification without an event_type')
    metadata = message.get('metadata') or {}
    return Event(event_type, _text(metadata.get('message_id')),
                 _text(metadata.get('timestamp')), traits_of(message))


def traits_of(message):
    """The traits of a notification: every scalar field of its payload (of the data of a
    Nova versioned payload), then ``instance_id`` (an instance's id; ``uuid`` of Nova's
    versioned ``instance.*``), ``project_id`` and ``tenant_id`` (both names: services use
    either), ``user_id``, ``request_id`` (from the payload or the request context),
    ``resource_id`` (the payload's, else the instance's) and, from ``publisher_id``
    (``compute.host-1``), ``service`` and ``host`` (unless the payload has one)."""
    payload = _payload(message.get('payload'))
    ctxt = message.get('ctxt') if isinstance(message.get('ctxt'), dict) else {}
    traits = {key: value for key, value in payload.items()
              if isinstance(key, str) and isinstance(value, (str, int, float, bool))}
    places = {'payload': payload, 'ctxt': ctxt}
    for name, sources in _DERIVED:
        for place, key in sources:
            value = places[place].get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and value != '':
                traits.setdefault(name, str(value))
                break
    if traits.get('project_id'):
        traits.setdefault('tenant_id', traits['project_id'])
    event_type = message.get('event_type') or ''
    if 'instance_id' not in traits and isinstance(payload.get('uuid'), str) and (
            event_type.startswith(('instance.', 'compute.instance.'))):
        traits['instance_id'] = payload['uuid']
    if 'resource_id' not in traits and 'instance_id' in traits:
        traits['resource_id'] = traits['instance_id']
    publisher = message.get('publisher_id')
    if isinstance(publisher, str) and publisher:
        service, _, host = publisher.partition('.')
        traits.setdefault('service', service)
        if host:
            traits.setdefault('host', host)
    return traits


def _payload(payload):
    if not isinstance(payload, dict):
        return {}
    data = payload.get('nova_object.data')
    return data if isinstance(data, dict) else payload


def _text(value):
    return None if value is None else str(value)
