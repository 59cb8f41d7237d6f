"""CloudWatch metrics as archive metrics: namespace + dimensions -> a resource, MetricName -> a
metric, CloudWatch's retention tiers as archive policies, and the reads of their statistics.

A CloudWatch metric (project, namespace, sorted dimensions) is a ``cloudwatch_metric``
resource of the project whose id derives from them (uuid5 in Gnocchi's resource-id
namespace), with one archive metric per MetricName holding the values put (each Value, each
of Values repeated by its whole Count, a statistic set of one sample or of equal Min and
Max): the Gnocchi API reads them like any other metric. Statistic sets that are not values
go, exactly, into four companion resources (``cloudwatch_statistic_set``, one per part:
SampleCount and Sum summed, Minimum and Maximum), created on their first use; reads
combine them (``statistics`` module). AWS/EC2 is a view over the polled instances
(``ec2``). C3's alarm source reads through ``find`` and ``statistics`` / ``series``.
"""

import contextlib
import dataclasses
import functools
import itertools
import json
import os
import uuid
import weakref

import numpy

from telewatch.archive import errors as archive_errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import resource_ids
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import statistics as stats_mod

RESOURCE_TYPE = 'cloudwatch_metric'
SET_RESOURCE_TYPE = 'cloudwatch_statistic_set'
# The companion parts of statistic sets and the archive method each is read with.
SET_PARTS = {'SampleCount': 'sum', 'Sum': 'sum', 'Minimum': 'min', 'Maximum': 'max'}
HIGH_RESOLUTION = 'cloudwatch-high-resolution'
STANDARD_RESOLUTION = 'cloudwatch-standard'
# Percentiles every bucket keeps (p0 and p100 are Minimum and Maximum); others cannot be
# answered exactly once the raw values are gone, so asking for them is an error.
PERCENTILES = ('p1', 'p5', 'p10', 'p25', 'p50', 'p75', 'p90', 'p95', 'p99', 'p99.9')
_METHODS = ['count', 'sum', 'min', 'max', 'mean'] + list(PERCENTILES)
_HOUR, _DAY = 3600, 86400
_TIERS = [(60, 15 * _DAY), (300, 63 * _DAY), (3600, 455 * _DAY)]
# Hours of late data a metric accepts behind its newest datum (the archive keeps the raw
# values of that window, rewritten at every aggregation: two weeks would cost too much).
BACK_WINDOW_HOURS = 2
# The longest dimensions text a resource attribute holds (Gnocchi's string limit).
MAX_DIMENSIONS_TEXT = 256
_NS = 1_000_000_000


def archive_policies():
    """CloudWatch's retention tiers: 1 s for 3 h (high resolution only), 60 s for 15 days,
    300 s for 63 days, 3,600 s for 455 days; exact count/sum/min/max and PERCENTILES."""
    def policy(name, items):
        return policy_mod.ArchivePolicy(
            name, BACK_WINDOW_HOURS, _METHODS,
            [{'granularity': g, 'timespan': t} for g, t in items])
    return {HIGH_RESOLUTION: policy(HIGH_RESOLUTION, [(1, 3 * _HOUR)] + _TIERS),
            STANDARD_RESOLUTION: policy(STANDARD_RESOLUTION, _TIERS)}


_ATTRIBUTES = {'namespace': {'type': 'string', 'max_length': 256},
               'dimensions': {'type': 'string', 'max_length': MAX_DIMENSIONS_TEXT,
                              'min_length': 0}}
_SET_ATTRIBUTES = dict(_ATTRIBUTES, part={'type': 'string', 'max_length': 16})
_ready = weakref.WeakSet()


def setup(store):
    """Create the resource types and archive policies once per store (idempotent)."""
    if store in _ready:
        return
    for name, attributes in ((RESOURCE_TYPE, _ATTRIBUTES), (SET_RESOURCE_TYPE, _SET_ATTRIBUTES)):
        with contextlib.suppress(archive_errors.ResourceTypeAlreadyExists):
            store.index.create_resource_type(name, attributes)
    for policy in archive_policies().values():
        with contextlib.suppress(archive_errors.ArchivePolicyAlreadyExists):
            store.index.create_archive_policy(policy)
    _ready.add(store)


@dataclasses.dataclass(frozen=True)
class MetricKey:
    """A CloudWatch metric: namespace, name and its dimensions as sorted (name, value)."""

    namespace: str
    metric_name: str
    dimensions: tuple

    def dimension_list(self):
        return [{'Name': n, 'Value': v} for n, v in self.dimensions]

    def dimensions_text(self):
        return dimensions_text(self.dimensions)


def dimensions_text(dimensions):
    """The canonical text of sorted dimensions (a JSON object), as resources keep it."""
    return json.dumps(dict(dimensions), sort_keys=True, separators=(',', ':'),
                      ensure_ascii=False)


def metric_key(namespace, metric_name, dimensions=()):
    """The MetricKey of a metric; InvalidParameterValue for repeated dimension names or
    dimensions longer than a resource attribute holds."""
    return _metric_key(namespace, metric_name,
                       tuple((d['Name'], d['Value']) for d in dimensions or ()))


@functools.lru_cache(maxsize=65536)
def _metric_key(namespace, metric_name, given):
    # the same metrics are put again and again: their keys are checked once
    pairs = tuple(sorted(given))
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise errors.InvalidParameterValue(
            'The collection Dimensions must not contain duplicate dimension names.')
    if len(dimensions_text(pairs)) > MAX_DIMENSIONS_TEXT:
        raise errors.InvalidParameterValue(
            'The dimensions of a metric take at most %d characters as JSON here: %s'
            % (MAX_DIMENSIONS_TEXT, dimensions_text(pairs)[:80]))
    return MetricKey(namespace, metric_name, pairs)


@functools.lru_cache(maxsize=65536)
def resource_id(project_id, key, part=None):
    """The resource id of a key's namespace and dimensions in a project (``part``: that of
    a statistic-set companion)."""
    text = json.dumps([key.namespace, dimensions_text(key.dimensions), part or ''],
                      separators=(',', ':'), ensure_ascii=False)
    return str(uuid.uuid5(resource_ids.RESOURCE_ID_NAMESPACE, text + '\x00' + project_id))


@dataclasses.dataclass(frozen=True)
class Found:
    """A metric ``find`` found: its key, archive metric (``id``, ``unit``, policy) and the
    statistic-set companions it has ({part: archive Metric})."""

    key: MetricKey
    metric: object
    sets: dict

    @property
    def id(self):
        return self.metric.id

    @property
    def unit(self):
        return self.metric.unit or 'None'


def find(ctx, namespace, metric_name, dimensions=()):
    """The ``Found`` of a metric of ``ctx.project_id`` (AWS/EC2: the view's), or None."""
    key = metric_key(namespace, metric_name, dimensions)
    return find_many(ctx, [key])[key]


def find_many(ctx, keys):
    """``{key: Found or None}`` of MetricKeys, in two index reads whatever their number."""
    from telewatch.cloudwatch import ec2  # the view reads this module's helpers
    out = {k: ec2.find(ctx, k) for k in keys if k.namespace == ec2.NAMESPACE}
    keys = [k for k in keys if k.namespace != ec2.NAMESPACE]
    setup(ctx.store)
    ids = {k: [resource_id(ctx.project_id, k)] + [resource_id(ctx.project_id, k, p)
                                                  for p in SET_PARTS] for k in keys}
    resources = ctx.store.index.get_resources(set(itertools.chain(*ids.values())))
    metric_ids = {}
    for key, rids in ids.items():
        for part, rid in zip((None,) + tuple(SET_PARTS), rids):
            found = resources.get(rid)
            if found is not None and found.project_id == ctx.project_id:
                mid = found.metrics.get(key.metric_name)
                if mid is not None:
                    metric_ids[key, part] = mid
    records = ctx.store.index.get_metrics(set(metric_ids.values()))
    for key in keys:
        metric = records.get(metric_ids.get((key, None)))
        sets = {p: records[metric_ids[key, p]] for p in SET_PARTS
                if metric_ids.get((key, p)) in records}
        out[key] = None if metric is None and not sets else Found(key, metric, sets)
    return out


@dataclasses.dataclass
class _Resource:
    """What ``ArchiveStore.ensure_metrics`` takes (the publishers' MappedResource shape)."""

    original_resource_id: str
    resource_type: str
    user_id: str
    project_id: str
    attributes: dict
    metrics: dict


@dataclasses.dataclass(frozen=True)
class _Metric:
    name: str
    unit: str
    archive_policy_name: str


# Per store: {(project, key, part): metric id} of the metrics ensure has seen, so that a
# steady stream of puts to known metrics costs no index look-up (as the store's own memory).
_known_ids = weakref.WeakKeyDictionary()
KNOWN_METRICS = 100_000


def ensure(ctx, wanted):
    """Archive metric ids of ``wanted`` ``{(key, part): (unit, high_resolution)}`` (part
    None: the values), creating resources and metrics on first use; ``{(key, part): id}``.
    A metric keeps the unit and resolution of its first datum."""
    known = _known_ids.get(ctx.store)
    if known is None:
        known = _known_ids[ctx.store] = {}
    out = {k: known.get((ctx.project_id,) + k) for k in wanted}
    missing = {k: v for k, v in wanted.items() if out[k] is None}
    if missing:
        if len(known) > KNOWN_METRICS:
            known.clear()
        for k, metric_id in _ensure(ctx, missing).items():
            known[(ctx.project_id,) + k] = out[k] = metric_id
    return out


def _ensure(ctx, wanted):
    setup(ctx.store)
    resources = {}
    for (key, part), (unit, high) in wanted.items():
        rid = resource_id(ctx.project_id, key, part)
        if rid not in resources:
            attributes = {'namespace': key.namespace, 'dimensions': key.dimensions_text()}
            if part:
                attributes['part'] = part
            resources[rid] = _Resource(
                _original_id(key, part), SET_RESOURCE_TYPE if part else RESOURCE_TYPE,
                ctx.user_id, ctx.project_id, attributes, {})
        resources[rid].metrics.setdefault(key.metric_name, _Metric(
            key.metric_name, unit or 'None', HIGH_RESOLUTION if high else STANDARD_RESOLUTION))
    ids = ctx.store.ensure_metrics(list(resources.items()), _creator(ctx))
    return {(key, part): ids[resource_id(ctx.project_id, key, part)][key.metric_name]
            for key, part in wanted}


def _original_id(key, part):
    text = '%s %s%s' % (key.namespace, key.dimensions_text(), ' ' + part if part else '')
    return text[:resource_ids.MAX_LENGTH]


def _creator(ctx):
    return '%s:%s' % (ctx.user_id, ctx.project_id)


# -- reads -----------------------------------------------------------------------------


_SAMPLE_METHODS = {'SampleCount': ('count',), 'Sum': ('sum',), 'Average': ('sum', 'count'),
                   'Minimum': ('min',), 'Maximum': ('max',)}


def _methods(stats, period, granularity):
    methods = {'count'}  # a period has data where some count is not zero
    for stat in stats:
        if stat in _SAMPLE_METHODS:
            methods.update(_SAMPLE_METHODS[stat])
        elif stats_mod.is_percentile(stat):
            method = stats_mod.percentile_method(stat)
            # Kept per bucket of the granularity: other periods have no exact value.
            if method in ('min', 'max') or period == granularity:
                methods.add(method)
    return methods


def _granularity(policy, period, finest):
    """The finest granularity of ``policy`` at least ``finest`` that divides ``period``."""
    for g in policy.granularities:
        seconds = g // _NS
        if seconds >= finest and period % seconds == 0:
            return seconds
    return None


def read(ctx, wanted, start, end, refresh=True):
    """The statistics of many metrics in one read: ``{key: Table}`` of ``wanted`` ``{key:
    (Found, period s, stats, finest granularity s)}`` between ``start`` (inclusive) and
    ``end`` (exclusive, aware datetimes); stats are CloudWatch's names (``p99`` too)."""
    from telewatch.cloudwatch import ec2
    start_ns, end_ns = _ns(start), _ns(end)
    asked, plans, out = {}, {}, {}
    for key, (found, period, stats, finest) in wanted.items():
        if isinstance(found, ec2.View):
            out[key] = ec2.read(ctx, found, period, stats, finest, start_ns, end_ns)
            continue
        plans[key] = _plan(ctx, key, found, period, stats, finest, start, asked)
    if refresh and asked:
        ids = sorted({metric.id for metric, *_ in asked.values()})
        with contextlib.suppress(archive_errors.MetricLocked):
            ctx.store.refresh(ids)
    series = ctx.store.many_series(asked) if asked else {}
    for key, (period, granularity, parts) in plans.items():
        loaded = {}
        for part, names in parts.items():
            loaded[part] = {m: _ns_series(series[key, part, m]) for m in names}
        out[key] = stats_mod.combine(loaded, start_ns, end_ns, period * _NS,
                                     None if granularity is None else granularity * _NS)
    return out


def _plan(ctx, key, found, period, stats, finest, start, asked):
    parts = {}
    metrics = dict(found.sets)
    if found.metric is not None:
        metrics[None] = found.metric
    policy = ctx.store.index.get_archive_policy(next(iter(metrics.values())).archive_policy_name)
    granularity = _granularity(policy, period, finest)
    if granularity is None:
        return period, None, {}
    values_methods = _methods(stats, period, granularity)
    for part, metric in metrics.items():
        names = values_methods if part is None else (
            SET_PARTS[part],) if _part_needed(part, stats) else ()
        for name in names:
            asked[key, part, name] = (metric, granularity, name, start)
        if names:
            parts[part] = tuple(names)
    return period, granularity, parts


def _part_needed(part, stats):
    if part == 'SampleCount':
        return True  # where there is data, and where percentiles have no exact value
    needed = {'Sum': ('Sum', 'Average'), 'Minimum': ('Minimum', 'p0'),
              'Maximum': ('Maximum', 'p100')}[part]
    return any(s in needed or stats_mod.percentile_method(s) == SET_PARTS[part]
               for s in stats if s in needed or stats_mod.is_percentile(s))


def _ns_series(result):
    if isinstance(result, Exception):
        return numpy.empty(0, numpy.int64), numpy.empty(0)
    stamps, values = result
    return numpy.asarray(stamps).view(numpy.int64), numpy.asarray(values)


def _ns(moment):
    return int(numpy.datetime64(moment.replace(tzinfo=None), 'ns').view(numpy.int64))


def statistics(ctx, metric, start, end, period, stats, finest=1, refresh=True):
    """GetMetricStatistics' datapoints of one ``Found`` (unordered list of dicts with
    ``Timestamp`` and each statistic asked; percentiles under ``ExtendedStatistics``)."""
    table = read(ctx, {metric.key: (metric, period, stats, finest)}, start, end,
                 refresh)[metric.key]
    return stats_mod.datapoints(table, stats, metric.unit)


def series(ctx, metric, start, end, period, stat, finest=1, refresh=True):
    """``(timestamps, values)`` of one statistic per period, oldest first: int64 ns period
    starts and float64 values (periods without data absent)."""
    table = read(ctx, {metric.key: (metric, period, [stat], finest)}, start, end,
                 refresh)[metric.key]
    return stats_mod.column(table, stat)


def new_nonce_base():
    """Where this process's sub-second nonces start (see ``metrics``)."""
    return int.from_bytes(os.urandom(4), 'big') % _NS
