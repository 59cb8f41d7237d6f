"""The lifecycle keys of archive_resources.yaml (Ceilometer's event_create, event_delete,
event_attributes, event_associated_resources): which notifications create or end resources.

Pure (no I/O, no logging): ``ResourceEvents.actions`` turns events into Creations and
Endings, which the archive and gnocchi publishers apply. An event is a notification as the
notification agent reads it: a mapping of ``event_type, publisher_id, timestamp, payload,
message_id``. Per resource type::

    event_create: image.create            # event types (fnmatch patterns), one or a list
    event_delete: [image.delete]
    event_attributes:                     # JSONPath(s) over the event; ``id`` required
      id: $.payload.id
      project_id: $.payload.owner         # user_id, project_id: the resource's own fields
      name: $.payload.name                # any other name: an attribute of the type
    event_associated_resources:           # with event_delete: these end with it, when
      instance_disk: instance_id          #   this attribute of theirs is its id

An event of a type the first definition (in file order) that names it creates a resource
that starts at the event's time (its notification's ``timestamp``), or ends the open
resource of that id (and its associated ones) just after that time (``AFTER``).
"""

import collections
import dataclasses
import datetime
import re

from telewatch import meter_filter
from telewatch import sample

EVENT_KEYS = ('event_create', 'event_delete', 'event_attributes',
              'event_associated_resources')
CREATE, DELETE = 'create', 'delete'
# What event_attributes may name besides the type's attributes: the resource's own fields.
RESOURCE_FIELDS = ('id', 'user_id', 'project_id')
_EVENT_TYPE = re.compile(r'^!?[\w.:*?\[-][\w.:*?\[\]!-]*$')
_CACHE_LIMIT = 4096
# A resource ends just after its deletion's notification: the samples that notification
# gives (etc/meters.yaml) are measures at its time, and Gnocchi (4.7's metricd) restores a
# resource that receives a measure at or after its end.
AFTER = datetime.timedelta(microseconds=1)


@dataclasses.dataclass(frozen=True)
class Creation:
    """A resource to create from an event (or, when it exists, to start no later)."""

    resource_type: str
    original_resource_id: str
    user_id: 'str | None'
    project_id: 'str | None'
    attributes: dict
    started_at: datetime.datetime  # aware UTC


@dataclasses.dataclass(frozen=True)
class Ending:
    """The open resource of that id to end, with those of ``associated`` ((type,
    attribute) pairs) whose attribute is that id."""

    resource_type: str
    original_resource_id: str
    ended_at: datetime.datetime  # aware UTC
    associated: tuple


class EventDefinition:
    """The lifecycle of one resource type: its event types and how it reads an event."""

    def __init__(self, resource_type, create, delete, fields, associated=()):
        self.resource_type = resource_type
        self.create = create  # MeterFilter or None
        self.delete = delete
        self.fields = tuple(fields)  # (name, reader of the event)
        self.associated = tuple(associated)

    def operation(self, event_type):
        if self.create is not None and self.create(event_type):
            return CREATE
        if self.delete is not None and self.delete(event_type):
            return DELETE
        return None

    def attribute_names(self):
        """The names event_attributes gives that are attributes of the type."""
        return [name for name, _ in self.fields if name not in RESOURCE_FIELDS]

    def read(self, event):
        values = {}
        for name, read in self.fields:
            value = read(event)
            if value is not None:
                values[name] = value
        return values


class ResourceEvents:
    """Every EventDefinition of a mapping, in file order."""

    def __init__(self, definitions):
        self.definitions = tuple(definitions)
        self._matches = {}

    def __bool__(self):
        return bool(self.definitions)

    def match(self, event_type):
        """(definition, operation) of the first definition that names ``event_type``, or
        (None, None)."""
        found = self._matches.get(event_type)
        if found is None:
            found = (None, None)
            for definition in self.definitions:
                operation = definition.operation(event_type)
                if operation is not None:
                    found = (definition, operation)
                    break
            if len(self._matches) >= _CACHE_LIMIT:
                self._matches.clear()
            self._matches[event_type] = found
        return found

    def handles(self, event_type):
        return self.match(event_type)[0] is not None

    def actions(self, events, now):
        """``(actions, skipped)``: a Creation or Ending per event, in order, and a Counter
        of the events left out by reason (``no_definition``, ``missing_id``). ``now`` (an
        aware datetime) is the time of an event without a readable timestamp."""
        actions, skipped = [], collections.Counter()
        for event in events:
            event_type = event.get('event_type')
            definition, operation = (self.match(event_type) if isinstance(event_type, str)
                                     else (None, None))
            if definition is None:
                skipped['no_definition'] += 1
                continue
            values = definition.read(event)
            resource_id = values.pop('id', None)
            if resource_id is None or resource_id == '':
                skipped['missing_id'] += 1
                continue
            when = _time(event.get('timestamp'), now)
            if operation == CREATE:
                actions.append(Creation(
                    definition.resource_type, str(resource_id),
                    _text(values.pop('user_id', None)), _text(values.pop('project_id', None)),
                    values, when))
            else:
                actions.append(Ending(definition.resource_type, str(resource_id),
                                      when + AFTER, definition.associated))
        return actions, skipped


def _text(value):
    return None if value is None else str(value)


def _time(value, now):
    try:
        return sample.parse_timestamp(value)
    except sample.InvalidSample:
        return now


# -- checking the keys (called by resource_mapping's checker) ------------------------------

def check_definition(checker, path, type_name, definition):
    """The EventDefinition of one resource type's entry (None when it has no event keys
    or they are invalid; the errors go into ``checker.doc``). Associations are checked
    later, by ``check_associations``, once every type is known."""
    if not any(key in definition for key in EVENT_KEYS):
        return None
    errors_before = len(checker.doc.errors)
    create = _event_types(checker, path + ('event_create',), definition.get('event_create'))
    delete = _event_types(checker, path + ('event_delete',), definition.get('event_delete'))
    if 'event_create' not in definition and 'event_delete' not in definition:
        checker.doc.error(path, 'event_attributes and event_associated_resources need '
                                'event_create or event_delete')
    fields = _fields(checker, path + ('event_attributes',), type_name,
                     definition.get('event_attributes'))
    associated = _associated(checker, path + ('event_associated_resources',),
                             definition.get('event_associated_resources'))
    if associated and 'event_delete' not in definition:
        checker.doc.error(path + ('event_associated_resources',),
                          'only with event_delete (they end with the resource)')
    if len(checker.doc.errors) > errors_before:
        return None
    return EventDefinition(type_name, create, delete, fields, associated)


def _associated(checker, path, value):
    if value is None:
        return ()
    if not isinstance(value, dict) or not value:
        checker.doc.error(path, 'expected a mapping of resource type names to the attribute '
                                'of theirs that holds this resource\'s id (such as '
                                'instance_disk: instance_id), got %r' % (value,))
        return ()
    for name, attribute in value.items():
        if not isinstance(attribute, str) or not attribute:
            checker.doc.error(path + (name,), 'expected the name of an attribute of %s, got '
                                              '%r' % (name, attribute))
    return tuple(sorted(value.items()))


def _event_types(checker, path, value):
    if value is None:
        return None
    patterns = [value] if isinstance(value, str) else value
    if not isinstance(patterns, list) or not patterns:
        checker.doc.error(path, 'expected an event type pattern or a non-empty list of '
                                'them, got %r' % (value,))
        return None
    valid = True
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not _EVENT_TYPE.match(pattern):
            checker.doc.error(path if value is pattern else path + (index,), (
                "expected an event type pattern (letters, digits, '.', '_', '-', ':' and "
                "the wildcards * ? [...]; '!' in front excludes), got %r" % (pattern,)))
            valid = False
    if valid and all(pattern.startswith('!') for pattern in patterns):
        checker.doc.error(path, 'only exclusions: name the event types to include too '
                                "(such as 'compute.instance.*')")
        valid = False
    return meter_filter.MeterFilter(patterns) if valid else None


def _fields(checker, path, type_name, attributes):
    if not isinstance(attributes, dict):
        checker.doc.error(path, 'expected a mapping of resource fields and attributes to '
                                'JSONPaths over the event, with at least id (such as '
                                'id: $.payload.instance_id)')
        return []
    if 'id' not in attributes:
        checker.doc.error(path, "missing required key 'id' (the JSONPath of the resource's "
                                'id, such as $.payload.instance_id)')
    fields = []
    for name, paths in attributes.items():
        here = path + (name,)
        if name not in RESOURCE_FIELDS and not checker.attribute_name(here, type_name, name):
            continue
        read = checker.reader(here, paths, example='$.payload.instance_id')
        if read is not None:
            fields.append((name, read))
    return fields


def check_associations(checker, definitions, attributes_of):
    """Every event_associated_resources entry names a resource type of the mapping and one
    of its attributes (``attributes_of``: type name -> its attribute names)."""
    for type_name, definition in definitions.items():
        for other, attribute in definition.associated:
            here = ('resource_types', type_name, 'event_associated_resources', other)
            if other not in attributes_of:
                checker.doc.error(here, 'no resource type %r in this file' % (other,))
            elif attribute not in attributes_of[other]:
                checker.doc.error(here, 'expected an attribute of %s (%s), got %r' % (
                    other, ', '.join(attributes_of[other]) or 'it has none', attribute))
