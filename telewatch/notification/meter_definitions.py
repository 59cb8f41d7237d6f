"""meters.yaml: declarative meters that turn other services' notifications into samples.

Ceilometer's format (``metric: [{name, event_type, type, unit, volume, resource_id, ...}]``),
checked once at load with every problem reported with its file, YAML path and line.

Each JSONPath is evaluated over the whole notification (``event_type, publisher_id,
timestamp, payload, message_id``) and gives its first non-null match (``telewatch.jsonpath``).
"""

import collections
import re

from telewatch import config_file
from telewatch import meter_filter
from telewatch import sample
from telewatch.jsonpath import compile_path

REQUIRED_KEYS = ('name', 'event_type', 'type', 'unit', 'volume', 'resource_id')
OPTIONAL_KEYS = ('user_id', 'project_id', 'timestamp', 'metadata')
DEFINITION_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS
# The keys that are not read from each notification.
_NOT_FIELDS = ('event_type', 'type', 'metadata')
# Event types are dotted names; anything else in a pattern is most likely a regular
# expression copied from a newer Ceilometer, which fnmatch would silently never match.
_EVENT_TYPE_PATTERN = re.compile(r'^!?[\w.:*?\[-][\w.:*?\[\]!-]*$')
_BAD_EVENT_TYPE = ("expected an event type pattern (letters, digits, '.', '_', '-', ':' and "
                   "the wildcards * ? [...]; '!' in front excludes), got %r")
# Event types are a small set per cloud; the bound only guards against a producer that
# sends endless distinct ones.
_CACHE_LIMIT = 4096


def _constant(value):
    return lambda notification: value


class MeterDefinition:
    """One valid entry of meters.yaml: the event types it reads and how it reads each field.

    ``fields`` maps name, unit, volume, resource_id, user_id, project_id and timestamp to
    functions notification -> value (None when absent); ``metadata`` is a list of
    (key, function), or None for Ceilometer's default: the payload plus event_type and host.
    """

    def __init__(self, name, event_types, type, fields, metadata):
        self.name = name
        self.event_types = event_types
        self.type = type
        self.metadata = metadata
        self._name = fields['name']
        self._unit = fields['unit']
        self._volume = fields['volume']
        self._resource_id = fields['resource_id']
        self._user_id = fields.get('user_id', _constant(None))
        self._project_id = fields.get('project_id', _constant(None))
        self._timestamp = fields.get('timestamp', _constant(None))

    def __repr__(self):
        return '<MeterDefinition %s for %s>' % (self.name, ', '.join(self.event_types.patterns))

    def to_sample(self, notification):
        """The sample of ``notification``, or the reason there is none (a counter name)."""
        volume = self._volume(notification)
        if volume is None:
            return 'missing_volume'
        resource_id = self._resource_id(notification)
        if resource_id is None:
            return 'missing_resource_id'
        try:
            return sample.check_texts(sample.Sample.create(
                name=self._name(notification), type=self.type, unit=self._unit(notification),
                volume=volume, resource_id=resource_id,
                timestamp=self._timestamp(notification) or notification.get('timestamp'),
                user_id=self._user_id(notification),
                project_id=self._project_id(notification),
                resource_metadata=self._resource_metadata(notification)))
        except sample.InvalidSample:
            return 'invalid_sample'

    def _resource_metadata(self, notification):
        if self.metadata is None:
            payload = notification.get('payload')
            metadata = dict(payload) if isinstance(payload, dict) else {}
            metadata['event_type'] = notification.get('event_type')
            metadata['host'] = notification.get('publisher_id')
            return metadata
        metadata = {}
        for key, read in self.metadata:
            value = read(notification)
            if value is not None:
                metadata[key] = value
        return metadata


class MeterDefinitions:
    """Every definition of a meters.yaml, in file order, and the notification -> samples step.

    Several definitions may give the same meter (for different event types, say). A
    notification or definition that yields nothing is counted in ``counters`` by reason:
    ``no_definition``, ``missing_volume``, ``missing_resource_id``, ``invalid_sample``.
    """

    def __init__(self, definitions):
        self.definitions = tuple(definitions)
        self.counters = collections.Counter()
        self._by_event_type = {}

    def definitions_for(self, event_type):
        """The definitions that accept ``event_type``; matched once per event type."""
        found = self._by_event_type.get(event_type)
        if found is None:
            found = tuple(d for d in self.definitions if d.event_types(event_type))
            if len(self._by_event_type) >= _CACHE_LIMIT:
                self._by_event_type.clear()
            self._by_event_type[event_type] = found
        return found

    def to_samples(self, notification):
        """The samples of one notification (a dict: event_type, publisher_id, timestamp,
        payload, message_id); never raises for what the notification holds."""
        event_type = notification.get('event_type')
        definitions = self.definitions_for(event_type) if isinstance(event_type, str) else ()
        if not definitions:
            self.counters['no_definition'] += 1
            return []
        samples = []
        for definition in definitions:
            result = definition.to_sample(notification)
            if isinstance(result, str):
                self.counters[result] += 1
            else:
                samples.append(result)
        return samples


def load_definitions(filename):
    """The MeterDefinitions of ``filename``; ConfigErrors listing every problem."""
    return parse_definitions(config_file.load_yaml(filename))


def parse_definitions(document):
    definitions = _Checker(document).check()
    document.raise_if_errors()
    return MeterDefinitions(definitions)


class _Checker(config_file.Checker):
    def check(self):
        entries = self.document_list('metric', 'meter definitions', expected=(
            'expected a mapping with the key metric (the list of meter definitions)'))
        definitions = (self._definition(('metric', index), entry)
                       for index, entry in enumerate(entries))
        return [definition for definition in definitions if definition is not None]

    def _definition(self, path, entry):
        errors_before = len(self.doc.errors)
        if not self.mapping(path, entry, required=REQUIRED_KEYS, optional=OPTIONAL_KEYS,
                            expected='expected a mapping with the keys %s'
                            % ', '.join(REQUIRED_KEYS)):
            return None
        event_types = self._event_types(path + ('event_type',), entry.get('event_type'))
        type_ = entry.get('type')
        if type_ is not None and type_ not in sample.TYPES:
            self.doc.error(path + ('type',), 'expected one of gauge, delta, cumulative, got %r'
                           % (type_,))
        fields = {key: self._field(path + (key,), key, entry[key])
                  for key in DEFINITION_KEYS if key in entry and key not in _NOT_FIELDS}
        metadata = self._metadata(path + ('metadata',), entry.get('metadata'))
        if len(self.doc.errors) > errors_before:
            return None
        return MeterDefinition(entry['name'], event_types, type_, fields, metadata)

    def _event_types(self, path, value):
        if value is None:
            return None
        patterns = [value] if isinstance(value, str) else value
        if not isinstance(patterns, list) or not patterns:
            self.doc.error(path, 'expected an event type pattern or a non-empty list of them, '
                                 'got %r' % (value,))
            return None
        valid = True
        for index, pattern in enumerate(patterns):
            if not isinstance(pattern, str) or not _EVENT_TYPE_PATTERN.match(pattern):
                self.doc.error(path if value is pattern else path + (index,),
                               _BAD_EVENT_TYPE % (pattern,))
                valid = False
        if valid and all(pattern.startswith('!') for pattern in patterns):
            self.doc.error(path, 'only exclusions: name the event types to include too '
                                 "(such as 'compute.instance.*')")
            valid = False
        return meter_filter.MeterFilter(patterns) if valid else None

    def _field(self, path, key, value):
        if key in ('name', 'unit') and not (isinstance(value, str) and value.startswith('$')):
            if not isinstance(value, str) or (key == 'name' and not value):
                self.doc.error(path, 'expected %s or a JSONPath, got %r' % (
                    'a meter name' if key == 'name' else "a unit ('' for none)", value))
            return _constant(value)
        if key == 'volume' and isinstance(value, (int, float)) and not isinstance(value, bool):
            return _constant(value)
        return self._path(path, value, 'a number or a JSONPath' if key == 'volume'
                          else 'a JSONPath')

    def _path(self, path, text, expected):
        if not isinstance(text, str) or not text.strip():
            self.doc.error(path, 'expected %s (such as $.payload.id), got %r' % (expected, text))
            return None
        try:
            return compile_path(text)
        except Exception as exc:  # JSONPathError, or re.error etc. from its extensions
            self.doc.error(path, 'invalid JSONPath %r: %s' % (text, str(exc).strip()))
            return None

    def _metadata(self, path, value):
        if value is None:
            return None
        if not isinstance(value, dict):
            self.doc.error(path, 'expected a mapping of metadata names to JSONPaths')
            return None
        return [(str(key), self._path(path + (key,), text, 'a JSONPath'))
                for key, text in value.items()]
