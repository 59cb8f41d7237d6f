"""Where an alarm's datapoints come from: each threshold rule of an alarm (one, or the leaves
of a composite) resolved through the archive's index to the metrics it reads, and how.

Aodh's three Gnocchi rules: ``gnocchi_resources_threshold`` reads the metric of that name on
the resource with the rule's method; ``gnocchi_aggregation_by_metrics_threshold`` the metrics
by id, and ``..._by_resources_threshold`` the metric of that name on each resource the query
matches, both aggregated across as Aodh asks Gnocchi: ``(aggregate M (metric X M'))``, M'
being M without ``rate:``, with ``needed_overlap`` 0.
"""

import dataclasses
import json

from telewatch.alarms import composite
from telewatch.alarms import rules
from telewatch.archive import errors as archive_errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import resource_ids

RESOURCES = 'gnocchi_resources_threshold'
BY_METRICS = 'gnocchi_aggregation_by_metrics_threshold'
BY_RESOURCES = 'gnocchi_aggregation_by_resources_threshold'
COMPOSITE = 'composite'
# CloudWatch's alarms (telewatch.cloudwatch.alarm_source plans, reads and decides them).
CLOUDWATCH = ('cloudwatch_metric', 'cloudwatch_composite')
TYPES = (RESOURCES, BY_METRICS, BY_RESOURCES, COMPOSITE) + CLOUDWATCH


class Unreadable(Exception):
    """The datapoints of an alarm cannot be read (its resource or metric is gone, its
    archive policy lacks the method...): it keeps its state, and this says why."""


@dataclasses.dataclass(frozen=True)
class Leaf:
    """One threshold rule and what it reads: ``metrics`` (archive ``Metric`` records) with
    ``method`` at the rule's granularity, and ``across`` the method aggregating them into
    one series (None: the one metric's series as it is). ``error`` says why it cannot be
    read (then nothing is)."""

    rule: rules.ThresholdRule
    kind: str = RESOURCES
    metrics: tuple = ()
    method: str = 'mean'
    across: str = None
    error: str = None
    # Seconds before now its window starts without the ingestion lag (read at every pass).
    reach: float = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, 'reach', self.rule.query_window(0))


@dataclasses.dataclass(frozen=True)
class Plan:
    """An alarm (as the store gives it) and its leaves; ``tree`` is the CompositeRule of a
    composite alarm, None for a threshold alarm (one leaf). ``reader(plans, archive, now,
    lag, recent)`` reads the datapoints of plans of its own instead of ``reading``,
    ``decide(plan, datapoints, now, store)`` decides instead of the engine (None: the usual
    ways). ``kept`` is the reader's to keep what it found for the plan between reads (it
    goes with the plan: an alarm whose definition changes is planned afresh); ``forget``
    empties it when metrics were created."""

    alarm: dict
    leaves: tuple
    tree: object = None
    reader: object = None
    decide: object = None
    kept: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)
    # (a field rather than a property: an evaluation asks it several times)
    alarm_id: str = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, 'alarm_id', self.alarm['alarm_id'])

    @property
    def metric_ids(self):
        return {metric.id for leaf in self.leaves for metric in leaf.metrics}

    @property
    def stale(self):
        """Whether its sources may change with no change of the alarm: a leaf that could
        not be resolved, or a search for resources."""
        return (any(leaf.error or leaf.kind == BY_RESOURCES for leaf in self.leaves)
                or (self.reader is not None and not self.metric_ids))

    @property
    def period(self):
        """Its shortest granularity, in seconds."""
        return min((leaf.rule.granularity for leaf in self.leaves), default=60)


def plan_all(alarms, index):
    """``{alarm id: Plan or the InvalidRule/ValueError of a rule that cannot be
    evaluated}``, the index read in a few batched queries rather than per alarm."""
    lookup = Lookup(index)
    lookup.prefetch(alarms)
    out = {}
    for alarm in alarms:
        try:
            out[alarm['alarm_id']] = plan(alarm, lookup)
        except (rules.InvalidRule, ValueError, TypeError, KeyError) as exc:
            out[alarm['alarm_id']] = exc
    return out


def plan(alarm, lookup):
    """The Plan of an alarm; InvalidRule (its rule cannot be evaluated) or ValueError."""
    if alarm['type'] in CLOUDWATCH:
        from telewatch.cloudwatch import alarm_source
        return alarm_source.plan(alarm, lookup)
    if alarm['type'] == COMPOSITE:
        tree = composite.CompositeRule.from_aodh(alarm['rule'])
        return Plan(alarm, tuple(_leaf(source.get('type'), source, rule, lookup)
                                 for rule, source in zip(tree.rules, tree.sources)), tree)
    rule = rules.ThresholdRule.from_aodh(alarm['rule'])
    return Plan(alarm, (_leaf(alarm['type'], alarm['rule'], rule, lookup),))


class Lookup:
    """The index's resources and metrics, fetched for many alarms at once (``prefetch``)
    and one by one for the rest."""

    CHUNK = 500  # ids in one IN (...)

    def __init__(self, index):
        self.index = index
        self._resources = {}
        self._metrics = {}

    def prefetch(self, alarms):
        rids, mids = set(), set()
        for source in _threshold_sources(alarms):
            if source.get('type') == RESOURCES:
                rid = _uuid(source.get('resource_id'))
                if rid:
                    rids.add(rid)
            elif source.get('type') == BY_METRICS:
                mids.update(str(m) for m in source.get('metrics') or [])
        self.resources(rids)
        mids.update(m for r in self._resources.values() if r for m in r.metrics.values())
        self.metrics(mids)

    def resources(self, ids):
        """``{id: Resource}`` of those of ``ids`` that exist."""
        self._fetch(ids, self._resources, self.index.get_resources)
        return {i: self._resources[i] for i in ids if self._resources.get(i)}

    def metrics(self, ids):
        """``{id: Metric}`` of those of ``ids`` that exist (and are active)."""
        self._fetch(ids, self._metrics, self.index.get_metrics)
        return {i: self._metrics[i] for i in ids if self._metrics.get(i)}

    def _fetch(self, ids, cache, get):
        wanted = sorted({i for i in ids if i not in cache})
        for start in range(0, len(wanted), self.CHUNK):
            chunk = wanted[start:start + self.CHUNK]
            found = get(chunk)
            cache.update({i: found.get(i) for i in chunk})


def _threshold_sources(alarms):
    for alarm in alarms:
        if alarm.get('type') == COMPOSITE:
            yield from _tree_leaves(alarm.get('rule'))
        else:
            yield dict(alarm.get('rule') or {}, type=alarm.get('type'))


def _tree_leaves(tree):
    if isinstance(tree, dict) and len(tree) == 1 and next(iter(tree)) in ('and', 'or'):
        for child in next(iter(tree.values())) or []:
            yield from _tree_leaves(child)
    elif isinstance(tree, dict):
        yield tree


def _uuid(rid):
    try:
        return resource_ids.resource_uuid(rid, None)
    except ValueError:
        return None


def _leaf(kind, source, rule, lookup):
    try:
        if kind == RESOURCES:
            return _on_resource(source, rule, lookup)
        if kind == BY_METRICS:
            wanted = [str(m) for m in source.get('metrics') or []]
            return _across(kind, rule, lookup.metrics(wanted).values(), wanted)
        if kind == BY_RESOURCES:
            return _across(kind, rule, _searched(source, lookup), [])
    except (Unreadable, archive_errors.ArchiveError, ValueError) as exc:
        return Leaf(rule, kind, error=str(exc))
    return Leaf(rule, kind, error='alarm type %r is not evaluated here' % (kind,))


def _on_resource(source, rule, lookup):
    rid = source.get('resource_id')
    uuid = _uuid(rid)
    if uuid is None:
        raise Unreadable('resource id %r is not valid' % (rid,))
    resources = list(lookup.resources([uuid]).values()) or lookup.index.search_resources(
        rules_resource_type(source), {'=': {'original_resource_id': rid}}, limit=1)
    if not resources:
        raise Unreadable('resource %s does not exist' % rid)
    metric_id = resources[0].metrics.get(source.get('metric'))
    metric = lookup.metrics([metric_id]).get(metric_id) if metric_id else None
    if metric is None:
        raise Unreadable('resource %s has no metric %s' % (rid, source.get('metric')))
    return Leaf(rule, RESOURCES, (metric,), rule.aggregation_method)


def rules_resource_type(source):
    return source.get('resource_type') or 'generic'


def _across(kind, rule, metrics, wanted):
    metrics = tuple(sorted(metrics, key=lambda m: m.id))
    missing = sorted(set(wanted) - {m.id for m in metrics})
    if missing:
        raise Unreadable('metric %s does not exist' % ', '.join(missing))
    method = policy_mod.parse_method(rule.aggregation_method)
    return Leaf(rule, kind, metrics, method.name[len(policy_mod.RATE_PREFIX):] if method.rate
                else method.name, across=method.name)


def _searched(source, lookup):
    """The metrics named ``metric`` of every resource the rule's query matches."""
    index = lookup.index
    query = source.get('query')
    if isinstance(query, str):
        try:
            query = json.loads(query) if query.strip() else None
        except ValueError as exc:
            raise Unreadable('query %r: %s' % (query, exc)) from None
    ids, marker = [], None
    while True:
        page = index.search_resources(rules_resource_type(source), query, marker=marker,
                                      limit=index.MAX_LIMIT)
        ids += [r.metrics[source.get('metric')] for r in page
                if source.get('metric') in r.metrics]
        if len(page) < index.MAX_LIMIT:
            return lookup.metrics(ids).values()
        marker = index.marker_of(page[-1])
