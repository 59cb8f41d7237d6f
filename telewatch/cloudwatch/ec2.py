"""AWS/EC2 as a view over what telewatch polls: each instance's rates, read as CloudWatch's
EC2 metrics per InstanceId (the Nova instance id), with nothing written twice.

Why a view rather than a pipeline sink writing CloudWatch metrics: the shipped pipeline
already derives the rates (``cpu_util``; ``disk.*.rate`` of the instance; the
``network.*.rate`` of its interfaces), so a view costs no second write of every sample,
works on history archived before the CloudWatch API was enabled, and cannot drift from
the Gnocchi face. Each bucket of the source's archive granularity is one sample: its
mean, CPUUtilization as it is (percent), the others times the bucket's seconds (what was
done in it), summed over the interfaces; so per period Sum is what was done and Average
of CPUUtilization its mean.
"""

import contextlib
import dataclasses

import numpy

from telewatch.archive import errors as archive_errors
from telewatch.archive import resource_ids
from telewatch.cloudwatch import statistics as stats_mod

NAMESPACE = 'AWS/EC2'
DIMENSION = 'InstanceId'
_INSTANCE, _INTERFACE = 'instance', 'instance_network_interface'
# CloudWatch name -> (resource kind, source metric, per-second rate?, unit)
METRICS = {
    'CPUUtilization': (_INSTANCE, 'cpu_util', False, 'Percent'),
    'DiskReadOps': (_INSTANCE, 'disk.read.requests.rate', True, 'Count'),
    'DiskWriteOps': (_INSTANCE, 'disk.write.requests.rate', True, 'Count'),
    'DiskReadBytes': (_INSTANCE, 'disk.read.bytes.rate', True, 'Bytes'),
    'DiskWriteBytes': (_INSTANCE, 'disk.write.bytes.rate', True, 'Bytes'),
    'NetworkIn': (_INTERFACE, 'network.incoming.bytes.rate', True, 'Bytes'),
    'NetworkOut': (_INTERFACE, 'network.outgoing.bytes.rate', True, 'Bytes'),
    'NetworkPacketsIn': (_INTERFACE, 'network.incoming.packets.rate', True, 'Count'),
    'NetworkPacketsOut': (_INTERFACE, 'network.outgoing.packets.rate', True, 'Count'),
}
_NS = 1_000_000_000


@dataclasses.dataclass(frozen=True)
class View:
    """An AWS/EC2 metric of one instance: the archive metrics it reads (one per source
    resource) and whether they are per-second rates."""

    key: object
    sources: tuple
    rate: bool
    unit: str

    @property
    def id(self):
        return self.sources[0].id


def _resources(ctx, instance_id, kind):
    """The project's resources of ``kind`` for an instance."""
    if kind == _INSTANCE:
        try:
            rid = resource_ids.resource_uuid(instance_id, None)
        except ValueError:
            return []
        found = ctx.store.index.get_resources([rid]).get(rid)
        ok = found is not None and found.type == _INSTANCE
        return [found] if ok and found.project_id == ctx.project_id else []
    query = {'and': [{'=': {'instance_id': instance_id}}, {'=': {'project_id': ctx.project_id}}]}
    with contextlib.suppress(archive_errors.NoSuchResourceType):
        return ctx.store.index.search_resources(_INTERFACE, query)
    return []


def find(ctx, key):
    """The View of a MetricKey of AWS/EC2, or None (unknown name, other dimensions, no
    instance of the project, nothing polled)."""
    spec = METRICS.get(key.metric_name)
    if spec is None or len(key.dimensions) != 1 or key.dimensions[0][0] != DIMENSION:
        return None
    kind, source, rate, unit = spec
    ids = [r.metrics[source] for r in _resources(ctx, key.dimensions[0][1], kind)
           if source in r.metrics]
    records = ctx.store.index.get_metrics(ids)
    sources = tuple(records[i] for i in ids if i in records)
    return View(key, sources, rate, unit) if sources else None


def listed(ctx):
    """The MetricKeys of AWS/EC2 the project has: ``[(key, unit)]``."""
    from telewatch.cloudwatch import mapping
    out = []
    for resource in _instances(ctx):
        dims = [{'Name': DIMENSION, 'Value': resource.original_resource_id}]
        interfaces = None
        for name, (kind, source, _, unit) in METRICS.items():
            if kind == _INTERFACE and interfaces is None:  # one search per instance
                interfaces = _resources(ctx, resource.original_resource_id, kind)
            owners = [resource] if kind == _INSTANCE else interfaces
            if any(source in r.metrics for r in owners):
                out.append((mapping.metric_key(NAMESPACE, name, dims), unit))
    return out


def _instances(ctx):
    """Every instance resource of the project, page after page."""
    query, marker = {'=': {'project_id': ctx.project_id}}, None
    while True:
        try:
            page = ctx.store.index.search_resources(_INSTANCE, query, sort=['id:asc'],
                                                    marker=marker)
        except archive_errors.NoSuchResourceType:  # nothing was ever polled
            return
        yield from page
        if len(page) < ctx.store.index.MAX_LIMIT:
            return
        marker = ctx.store.index.marker_of(page[-1])


def read(ctx, view, period, stats, finest, start_ns, end_ns):
    """The statistics Table of a View (see the module's docstring)."""
    from telewatch.cloudwatch import mapping
    policy = ctx.store.index.get_archive_policy(view.sources[0].archive_policy_name)
    granularity = mapping._granularity(policy, period, finest)
    if granularity is None:
        return stats_mod.Table.empty()
    start = numpy.datetime64(start_ns, 'ns')
    with contextlib.suppress(archive_errors.MetricLocked):
        ctx.store.refresh([m.id for m in view.sources])
    found = ctx.store.many_series({i: (m, granularity, 'mean', start)
                                   for i, m in enumerate(view.sources)})
    stamps, values = [], []
    for result in found.values():
        if not isinstance(result, Exception):
            stamps.append(numpy.asarray(result[0]).view(numpy.int64))
            values.append(numpy.asarray(result[1]))
    if not stamps:
        return stats_mod.Table.empty()
    keys, where = numpy.unique(numpy.concatenate(stamps), return_inverse=True)
    total = numpy.zeros(len(keys))
    numpy.add.at(total, where, numpy.concatenate(values))
    if view.rate:
        total = total * granularity
    samples = (keys, total)
    loaded = {None: {'count': (keys, numpy.ones(len(keys))), 'sum': samples, 'min': samples,
                     'max': samples}}
    return stats_mod.combine(loaded, start_ns, end_ns, period * _NS, granularity * _NS)
