"""What Gnocchi's foreign write endpoints (InfluxDB line protocol, Prometheus remote write)
share: measures by resource and metric name, the resources and metrics made as needed."""

import collections

import numpy

from telewatch.api import rest
from telewatch.api import views
from telewatch.archive import errors
from telewatch.archive import resource_ids


class Batch:
    """Measures of one write: ``{original resource id: {metric name: ([ns], [values])}}``
    and each resource's attributes."""

    def __init__(self):
        self.measures = collections.defaultdict(
            lambda: collections.defaultdict(lambda: ([], [])))
        self.attributes = {}

    def add(self, resource, metric, timestamp_ns, value, attributes=None):
        stamps, values = self.measures[resource][metric]
        stamps.append(timestamp_ns)
        values.append(value)
        if attributes is not None:
            self.attributes[resource] = attributes

    def replace(self, resource, metric, timestamps_ns, values, attributes=None):
        """The measures of ``metric`` are these, whatever was added before."""
        self.measures[resource][metric] = (list(timestamps_ns), list(values))
        if attributes is not None:
            self.attributes[resource] = attributes


def ensure_resource_type(name, attributes):
    """Create the resource type ``name`` unless it exists (Gnocchi's ``prometheus``)."""
    index = rest.store().index
    try:
        index.get_resource_type(name)
    except errors.NoSuchResourceType:
        rest.enforce('create resource type', {'name': name})
        try:
            index.create_resource_type(name, attributes)
        except errors.ResourceTypeAlreadyExists:  # another writer was first
            pass


def write(resource_type, batch):
    """Store ``batch`` under resources of ``resource_type`` (ids derived from the original
    ones and the caller, as Gnocchi's), creating the resources and metrics missing (their
    archive policy from the rules). A resource of that id but another type is a 409."""
    store = rest.store()
    creator = rest.context().creator
    ids = {}
    for original in batch.measures:
        try:
            ids[original] = resource_ids.resource_uuid(original, creator)
        except ValueError as exc:
            rest.invalid_input(str(exc), [original])
    found = store.index.get_resources(ids.values())
    for original, rid in ids.items():
        resource = found.get(rid)
        if resource is None:
            rest.enforce('create resource', {'resource_type': resource_type,
                                             'creator': creator, 'id': rid})
        elif resource.type != resource_type:
            rest.abort(409, {'cause': 'Resource already exists', 'detail': rid})
        else:
            rest.enforce('post measures', views.resource_target(resource))
    metric_ids = store.ensure_metrics(
        [(rid, _Mapped(resource_type, original, batch.attributes.get(original, {}),
                       batch.measures[original])) for original, rid in ids.items()],
        creator)
    store.add_measures({
        metric_ids[rid][name]: (numpy.array(stamps, dtype='datetime64[ns]'),
                                numpy.array(values, dtype=numpy.float64))
        for original, rid in ids.items()
        for name, (stamps, values) in batch.measures[original].items()})


class _Metric:
    def __init__(self, name):
        self.name = name
        self.unit = None
        self.archive_policy_name = None


class _Mapped:
    """A resource as ArchiveStore.ensure_metrics takes it."""

    user_id = project_id = None

    def __init__(self, resource_type, original, attributes, measures):
        self.resource_type = resource_type
        self.original_resource_id = original
        self.attributes = attributes
        self.metrics = {name: _Metric(name) for name in measures}
