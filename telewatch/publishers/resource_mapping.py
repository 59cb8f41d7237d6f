"""archive_resources.yaml: which resource type and metric of an archive each sample feeds.

Ceilometer's gnocchi_resources.yaml in telewatch's form, checked once at load; ``group``
(pure: no I/O, no logging) turns a batch of samples into resources with their measures.

File format::

    archive_policy: ceilometer-low        # optional default of every metric
    resource_types:
      instance:                           # a Gnocchi resource type name
        archive_policy: ...               # optional default of this type's metrics
        metrics:
          memory:                         # a meter name; null or a mapping:
          cpu: {archive_policy: ceilometer-low-rate}
        attributes:                       # optional: attribute name -> JSONPath(s)
          display_name: resource_metadata.display_name
          flavor_name: [resource_metadata.instance_type, resource_metadata.flavor.name]
        event_delete: compute.instance.delete.start   # optional: the lifecycle keys
        event_attributes: {id: $.payload.instance_id}  # (telewatch.publishers.
        event_associated_resources:                    #  resource_events)
          instance_disk: instance_id

An attribute's JSONPath (jsonpath-ng's extended syntax) reads the sample as a mapping of
its fields (``name``, ``unit``, ``user_id``, ``project_id``, ``resource_id``, ``source``,
``resource_metadata`` ...); the first non-null value it matches is taken, and of a list of
JSONPaths the first that gives one (Ceilometer writes ``resource_metadata.(a|b)``, with
jsonpath-ng's ``|``, which is deprecated and goes away in jsonpath-ng 2). A meter is
listed under one resource type at most; samples of meters listed nowhere are dropped and
counted in ``MappedBatch.unmapped`` (Ceilometer drops them too).
"""

import collections
import dataclasses
import functools
import re

from telewatch import config_file
from telewatch import jsonpath
from telewatch.publishers import resource_events

DEFAULT_FILE = 'archive_resources.yaml'
TOP_KEYS = ('archive_policy', 'resource_types')
TYPE_KEYS = ('archive_policy', 'metrics', 'attributes') + resource_events.EVENT_KEYS
METRIC_KEYS = ('archive_policy',)
# Gnocchi's own rules: attribute names (resource_type.py) and what a URL path can hold.
_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_]*\Z')
RESERVED_ATTRIBUTES = frozenset((
    'id', 'type', 'metrics', 'revision', 'revision_start', 'revision_end', 'started_at',
    'ended_at', 'user_id', 'project_id', 'created_by_user_id', 'created_by_project_id',
    'get_metric', 'creator', 'original_resource_id'))
GENERIC = 'generic'


@dataclasses.dataclass
class MappedMetric:
    """The measures of one metric of one resource in a batch, in input order."""

    name: str
    unit: str
    archive_policy_name: 'str | None'
    timestamps: list  # aware UTC datetimes
    values: list  # floats


@dataclasses.dataclass
class MappedResource:
    """One resource of a batch: its type (that of its first mapped sample), the user and
    project and the attributes of its last sample (missing values left out), its metrics."""

    original_resource_id: str
    resource_type: str
    user_id: 'str | None'
    project_id: 'str | None'
    attributes: dict
    metrics: dict  # metric name -> MappedMetric


@dataclasses.dataclass
class MappedBatch:
    """``resources``: original resource id -> MappedResource; ``unmapped``: meter name ->
    how many samples were dropped because no resource type lists that meter."""

    resources: dict
    unmapped: collections.Counter


_Metric = collections.namedtuple('_Metric', 'resource_type archive_policy_name')


class ResourceType:
    """One resource type of the mapping: its name and its attributes as (name, reader)."""

    def __init__(self, name, attributes, event_attributes=()):
        self.name = name
        self.attributes = tuple(attributes)
        self._event_attributes = tuple(event_attributes)

    def attribute_names(self):
        names = [name for name, _ in self.attributes]
        return names + [name for name in self._event_attributes if name not in names]

    def attributes_of(self, sample):
        fields = sample._asdict()
        values = {}
        for name, read in self.attributes:
            value = read(fields)
            if value is not None:
                values[name] = value
        return values


class ResourceMapping:
    """A validated archive_resources.yaml; build it with ``load`` or ``from_dict``."""

    def __init__(self, types, metrics, events=None):
        self._types = types  # name -> ResourceType
        self._metrics = metrics  # meter name -> _Metric
        #: the lifecycle: which events create or end which resources (ResourceEvents)
        self.events = events or resource_events.ResourceEvents(())

    @classmethod
    def load(cls, path):
        """The mapping of a YAML file; ConfigErrors listing every problem."""
        return cls._parse(config_file.load_yaml(path))

    @classmethod
    def from_dict(cls, data, source='<dict>'):
        """The mapping of already parsed data (no line numbers in the errors)."""
        return cls._parse(config_file.ConfigDocument(source, data, {}))

    @classmethod
    def _parse(cls, document):
        checker = _Checker(document)
        types, metrics = checker.check()
        document.raise_if_errors()
        return cls(types, metrics, resource_events.ResourceEvents(checker.events.values()))

    def resource_types(self):
        """Resource type name -> its attribute names, those of ``attributes`` then those
        only ``event_attributes`` names (for a store to create the types)."""
        return {name: rtype.attribute_names() for name, rtype in self._types.items()}

    def archive_policy_names(self):
        """Every archive policy the mapping names, sorted."""
        return sorted({metric.archive_policy_name for metric in self._metrics.values()
                       if metric.archive_policy_name is not None})

    def metric_names(self):
        """Meter name -> the resource type it is mapped to."""
        return {name: metric.resource_type for name, metric in self._metrics.items()}

    def group(self, samples):
        """A MappedBatch of ``samples`` (an iterable of telewatch.sample.Sample)."""
        resources = {}
        unmapped = collections.Counter()
        last = {}
        for sample in samples:
            metric = self._metrics.get(sample.name)
            if metric is None:
                unmapped[sample.name] += 1
                continue
            resource_id = sample.resource_id
            resource = resources.get(resource_id)
            if resource is None:
                resource = resources[resource_id] = MappedResource(
                    resource_id, metric.resource_type, None, None, {}, {})
            measures = resource.metrics.get(sample.name)
            if measures is None:
                measures = resource.metrics[sample.name] = MappedMetric(
                    sample.name, sample.unit, metric.archive_policy_name, [], [])
            measures.timestamps.append(sample.timestamp)
            measures.values.append(sample.volume)
            last[resource_id] = sample
        for resource_id, sample in last.items():
            resource = resources[resource_id]
            resource.user_id, resource.project_id = sample.user_id, sample.project_id
            resource.attributes = self._types[resource.resource_type].attributes_of(sample)
        return MappedBatch(resources, unmapped)


class _Checker(config_file.Checker):
    """Collects every problem of a document into it; returns (types, metrics)."""

    def __init__(self, document):
        super().__init__(document)
        self.types = {}
        self.metrics = {}
        self.events = {}  # type name -> EventDefinition
        self._metric_paths = {}

    def check(self):
        data = self.doc.data
        if not self.mapping((), data, optional=TOP_KEYS, expected=(
                'expected a mapping with the keys archive_policy (optional) and '
                'resource_types')):
            return {}, {}
        default = self._policy(('archive_policy',), data.get('archive_policy'))
        types = data.get('resource_types')
        if not isinstance(types, dict) or not types:
            self.doc.error(('resource_types',), 'expected a mapping of resource type names '
                                                'to their metrics and attributes')
            return {}, {}
        for name, definition in types.items():
            self._resource_type(('resource_types', name), name, definition, default)
        resource_events.check_associations(self, self.events, {
            name: rtype.attribute_names() for name, rtype in self.types.items()})
        return self.types, self.metrics

    def _policy(self, path, value):
        if value is None:
            return None
        if not isinstance(value, str) or not value or '/' in value:
            self.doc.error(path, 'expected an archive policy name, got %r' % (value,))
            return None
        return value

    def _resource_type(self, path, name, definition, default):
        if not isinstance(name, str) or not _NAME.match(name):
            self.doc.error(path, 'a resource type name is letters, digits and _ (not '
                                 'starting with _), got %r' % (name,))
        if not self.mapping(path, definition, optional=TYPE_KEYS, expected=(
                'expected a mapping with the keys metrics, attributes (optional) and '
                'archive_policy (optional)')):
            return
        policy = self._policy(path + ('archive_policy',),
                              definition.get('archive_policy')) or default
        if 'metrics' not in definition:
            self.doc.error(path, 'missing required key metrics')
        else:
            self._metrics(path + ('metrics',), name, definition['metrics'], policy)
        attributes = self._attributes(path + ('attributes',), name,
                                      definition.get('attributes'))
        events = resource_events.check_definition(self, path, name, definition)
        if events is not None:
            self.events[name] = events
        self.types[name] = ResourceType(name, attributes,
                                        events.attribute_names() if events else ())

    def _metrics(self, path, type_name, metrics, default):
        if not isinstance(metrics, dict) or not metrics:
            self.doc.error(path, 'expected a mapping of meter names to null or '
                                 '{archive_policy: NAME}')
            return
        for name, options in metrics.items():
            here = path + (name,)
            if not isinstance(name, str) or not name or '/' in name:
                self.doc.error(here, "expected a meter name (without '/'), got %r" % (name,))
                continue
            policy = default
            if options is not None:
                if not self.mapping(here, options, optional=METRIC_KEYS, expected=(
                        'expected null or a mapping with the key archive_policy, got %r'
                        % (options,))):
                    continue
                policy = self._policy(here + ('archive_policy',),
                                      options.get('archive_policy')) or default
            if name in self.metrics:
                line = self.doc.line_of(self._metric_paths[name])
                self.doc.error(here, 'meter %r is already mapped to the resource type %r%s' % (
                    name, self.metrics[name].resource_type,
                    '' if line is None else ' (line %d)' % line))
                continue
            self.metrics[name] = _Metric(type_name, policy)
            self._metric_paths[name] = here

    def _attributes(self, path, type_name, attributes):
        if attributes is None:
            return []
        if not isinstance(attributes, dict):
            self.doc.error(path, 'expected a mapping of attribute names to JSONPaths')
            return []
        if type_name == GENERIC and attributes:
            self.doc.error(path, "the resource type 'generic' has no attributes")
            return []
        readers = []
        for name, paths in attributes.items():
            here = path + (name,)
            if self.attribute_name(here, type_name, name):
                read = self.reader(here, paths)
                if read is not None:
                    readers.append((name, read))
        return readers

    def attribute_name(self, path, type_name, name):
        """Whether ``name`` can be an attribute of the type (else the error)."""
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > 63:
            self.doc.error(path, 'an attribute name is 1 to 63 letters, digits and _ '
                                 '(not starting with _), got %r' % (name,))
        elif name in RESERVED_ATTRIBUTES:
            self.doc.error(path, '%r is a field of every resource, not an attribute' % name)
        elif type_name == GENERIC:
            self.doc.error(path, "the resource type 'generic' has no attributes")
        else:
            return True
        return False

    def reader(self, path, paths, example='resource_metadata.host'):
        """The function fields -> value of a JSONPath or a list of them (the first that
        gives a value), or None with the errors collected."""
        if isinstance(paths, list) and paths:
            readers = [self._compile(path + (index,), text, example)
                       for index, text in enumerate(paths)]
            if None in readers:
                return None
            return readers[0] if len(readers) == 1 else functools.partial(_first, readers)
        if isinstance(paths, list):
            self.doc.error(path, 'expected a JSONPath or a non-empty list of JSONPaths')
            return None
        return self._compile(path, paths, example)

    def _compile(self, path, text, example):
        if not isinstance(text, str) or not text.strip():
            self.doc.error(path, 'expected a JSONPath (such as %s), got %r' % (example, text))
            return None
        try:
            return jsonpath.compile_path(text)
        except Exception as exc:  # JSONPathError, or re.error etc. from its extensions
            self.doc.error(path, 'invalid JSONPath %r: %s' % (text, str(exc).strip()))
            return None


def _first(readers, fields):
    for read in readers:
        value = read(fields)
        if value is not None:
            return value
    return None
