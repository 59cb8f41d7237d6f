"""The archive store: the index and the series storage together, as the archive publisher,
the processors and the API use them (the archive's front door: see ``telewatch.archive``).

Writers get or create their resources and metrics (``ensure_metrics``, ``new_metric`` then
``create_metrics``),
then append measures (``add_measures``) and return once they are durable; processors
(``process``) aggregate them into each metric's series; readers get aggregates
(``series``), asking for pending measures to be processed first when they need them
(``refresh``, Gnocchi's).
"""

import collections
import contextlib
import logging
import os
import time
import uuid

import numpy
from oslo_config import cfg

from telewatch.archive import aggregation
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive import state as state_mod
from telewatch.archive.index import aggregated as aggregated_mod
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.index import migration
from telewatch.archive.storage import file as file_storage

LOG = logging.getLogger(__name__)

# Processors report every round; one silent for longer has stopped (or is stuck).
PROCESSOR_REPORT_SECONDS = 60
# Other components' reports (report_component) are listed this long after their last one,
# so that one that stopped is seen as stopped; their names hold this, processors' do not.
COMPONENT_REPORTS_KEPT = 86400
_COMPONENT = '@'
# Resources ensure_metrics remembers (their attributes and metric ids), the oldest forgotten.
KNOWN_RESOURCES = 100_000
# New resources (with their metrics) created per index transaction.
CREATE_BATCH = 1000
# An attribute a resource lacks (None is a value).
_MISSING = object()
# Rounds of create_metrics against other writers creating metrics of the same resources.
_CREATE_ATTEMPTS = 3
# A metric many_series finds nothing processed for.
_UNPROCESSED = object()
# Gnocchi's limit on a metric's unit, to which units of new metrics are cut.
_UNIT_LENGTH = 31

OPTS = [
    cfg.StrOpt('index_url', default='',
               help='SQLAlchemy URL of the archive index: sqlite:///PATH (embedded) or '
                    'postgresql://USER:PASSWORD@HOST:PORT/DB. Empty: SQLite in '
                    '<data_dir>/archive/index.sqlite.'),
    cfg.StrOpt('storage_url', default='',
               help='Where series and incoming measures live: file:///DIR (one host) or '
                    'postgresql://USER:PASSWORD@HOST:PORT/DB (shared by processors on '
                    'several hosts). Empty: files under <data_dir>/archive/series.'),
    cfg.IntOpt('sacks', default=32, min=1, max=4096,
               help='Incoming measures are split by metric into this many sacks, the unit '
                    'processors share; fixed when the storage is created.'),
    cfg.FloatOpt('processing_delay', default=1.0, min=0.01,
                 help='Seconds a processor waits before looking again when it found no '
                      'pending measures.'),
    cfg.IntOpt('processors', default=1, min=1,
               help='Processor worker processes telewatch-archive-processor runs.'),
    cfg.FloatOpt('operation_timeout', default=10.0, min=0,
                 help='Seconds a read with refresh waits for a sack another processor '
                      'holds before answering "metric is locked".'),
]


def list_opts():
    return [('archive', OPTS)]


def storage_from_url(url, sacks):
    """The series storage driver of a URL (file:// or postgresql://)."""
    if url.startswith('file://'):
        return file_storage.FileSeriesStorage(url[len('file://'):], sacks)
    if url.startswith(('postgresql://', 'postgresql+psycopg2://')):
        from telewatch.archive.storage import postgresql
        return postgresql.PostgreSQLSeriesStorage(url, sacks)
    raise ValueError('[archive] storage_url %r: the scheme must be file:// or '
                     'postgresql://' % url)


def index_url(conf):
    """``[archive] index_url``, or the embedded SQLite database under ``data_dir``."""
    if conf.archive.index_url:
        return conf.archive.index_url
    base = os.path.join(conf.data_dir, 'archive')
    os.makedirs(base, exist_ok=True)
    return 'sqlite:///' + os.path.join(base, 'index.sqlite')


def upgrade_index(conf):
    """Create or upgrade the index alone (what a process that keeps its own tables in the
    index's database, like telewatch-pubsub, needs before it starts)."""
    indexer_mod.Indexer(index_url(conf)).upgrade()


class ArchiveStore:
    """An index and a series storage; ``from_conf`` builds both from ``[archive]``.

    ``index`` is the Indexer (archive policies and rules, resource types, resources,
    metrics and their searches); what changes the series too is done by the store's own
    methods.
    """

    def __init__(self, indexer, storage, operation_timeout=10.0):
        self.index = indexer
        self._storage = storage
        self.operation_timeout = operation_timeout
        self._aggregated = aggregated_mod.AggregatedStream(indexer.engine)
        # resource id -> (attributes, {metric name: metric id}), oldest first out
        self._known = collections.OrderedDict()

    @classmethod
    def from_conf(cls, conf):
        archive = conf.archive
        storage_url = archive.storage_url or 'file://' + os.path.join(
            conf.data_dir, 'archive', 'series')
        return cls(indexer_mod.Indexer(index_url(conf)),
                   storage_from_url(storage_url, archive.sacks), archive.operation_timeout)

    def upgrade(self, default_policies=True, policies=None):
        """Create or upgrade the index and the storage; with ``default_policies``, create
        ``policies`` (default: Gnocchi's and Ceilometer's archive policies) and the rule
        ``default`` (* -> low) when missing, as gnocchi-upgrade does. A policy that exists
        is left as it is (its metrics' series follow it)."""
        self.index.upgrade()
        self._storage.upgrade()
        if not default_policies:
            return
        policies = policies or policy_mod.builtin_policies()
        for policy in policies.values():
            with contextlib.suppress(errors.ArchivePolicyAlreadyExists):
                self.index.create_archive_policy(policy)
        if not self.index.list_archive_policy_rules():
            self.index.create_archive_policy_rule('default', '*', 'low')

    def upgrade_storage(self):
        """Create or upgrade the series storage alone (what a processor needs)."""
        self._storage.upgrade()

    def schema_revisions(self):
        """``(current, head)`` revisions of the index's schema: current is None for an
        index never set up, head is the one this telewatch needs."""
        return migration.current(self.index.engine), migration.head()

    def locations(self):
        """``(index URL without its password, storage location)``, to tell the operator."""
        return (self.index.engine.url.render_as_string(hide_password=True),
                self._storage.location)

    def reset_connections(self):
        """Drop the database connections a forked child inherited (without closing them
        under the parent), so that it opens its own."""
        self.index.engine.dispose(close=False)
        engine = getattr(self._storage, 'engine', None)
        if engine is not None:
            engine.dispose(close=False)

    # -- resources and metrics -----------------------------------------------------------

    def new_metric(self, creator, name=None, resource_id=None, archive_policy_name=None,
                   unit=None):
        """A Metric not created yet, for ``create_metrics`` or the index's resource
        calls. Without ``archive_policy_name``, the first archive policy rule matching
        ``name`` gives it (NoArchivePolicyRuleMatch); NoSuchArchivePolicy."""
        if archive_policy_name is None:
            archive_policy_name = self.index.archive_policy_for(name)
        self.index.get_archive_policy(archive_policy_name)
        return indexer_mod.Metric(str(uuid.uuid4()), archive_policy_name, creator,
                                  resource_id, name, unit)

    def create_metrics(self, metrics):
        """Create ``new_metric``'s Metrics; ``{resource id: {name: metric id}}`` of them.

        Where another writer created a metric of the same name on the resource first, its
        id is given instead (no NamedMetricAlreadyExists); NoSuchResource if the resource
        is gone.
        """
        ids, wanted = {}, list(metrics)
        for _ in range(_CREATE_ATTEMPTS):
            try:
                self.index.create_metrics(wanted)
            except errors.NamedMetricAlreadyExists:  # another writer was first
                wanted = self._taken(wanted, ids)
                if wanted:
                    continue
                return ids
            for metric in wanted:
                ids.setdefault(metric.resource_id, {})[metric.name] = metric.id
            return ids
        raise errors.NamedMetricAlreadyExists(', '.join(m.name for m in wanted))

    def _taken(self, metrics, ids):
        """Records in ``ids`` the metrics of these names that exist now; those that don't."""
        found = self.index.get_resources({m.resource_id for m in metrics})
        left = []
        for metric in metrics:
            if metric.resource_id not in found:
                raise errors.NoSuchResource(metric.resource_id)
            existing = found[metric.resource_id].metrics.get(metric.name)
            if existing is None:
                left.append(metric)
            else:
                ids.setdefault(metric.resource_id, {})[metric.name] = existing
        return left

    def known_metrics(self, resources):
        """``{resource id: {metric name: metric id}}`` of those of the ``(resource id,
        resource)`` pairs (as ``ensure_metrics``) this store has seen with all their metrics
        and these attributes: what a writer may write at once, with no index look-up."""
        out = {}
        for rid, resource in resources:
            known = self._known.get(rid)
            if known is None:
                continue
            attributes, metrics = known
            if (all(name in metrics for name in resource.metrics)
                    and all(attributes.get(k, _MISSING) == v
                            for k, v in resource.attributes.items())):
                out[rid] = metrics
        return out

    def ensure_metrics(self, resources, creator, archive_policy=None):
        """``{resource id: {metric name: metric id}}`` of ``(resource id, resource)``
        pairs, creating what is missing and updating changed attributes (the old ones go
        to the resource's history).

        A resource (the publishers' ``MappedResource``) has ``resource_type,
        original_resource_id, user_id, project_id, attributes`` and ``metrics``, whose
        values have ``name, unit, archive_policy_name``. A new metric's policy is
        ``archive_policy``, or its own, or the rules'. New resources are created with
        their metrics many at a time (``CREATE_BATCH`` per transaction), missing metrics of
        known resources in one go. What was seen is remembered (the last
        ``KNOWN_RESOURCES``), so that a known resource costs no index look-up; another
        writer creating the same first is no error.
        """
        policy_of = self._policy_resolver(archive_policy)
        unknown = [rid for rid, _ in resources if rid not in self._known]
        for start in range(0, len(unknown), CREATE_BATCH):
            found = self.index.get_resources(unknown[start:start + CREATE_BATCH])
            for rid, resource in found.items():
                self._remember(rid, resource.attributes, dict(resource.metrics))
        new = {rid: resource for rid, resource in resources if rid not in self._known}
        self._create_resources(list(new.items()), creator, policy_of)
        out, missing = {}, []
        for rid, resource in resources:
            attributes, metrics = self._known[rid]
            # Merged as Gnocchi's PATCH: a sample without an attribute (the pollsters' do
            # not carry Nova's metadata) keeps what an event or an older sample gave.
            merged = dict(attributes, **resource.attributes)
            if merged != attributes:
                self.index.update_resource(rid, attributes=resource.attributes,
                                           merge_attributes=True)
                self._known[rid] = (merged, metrics)
            missing += [self._mapped_metric(rid, m, creator, policy_of)
                        for m in resource.metrics.values() if m.name not in metrics]
            out[rid] = metrics
        if missing:
            for rid, created in self.create_metrics(missing).items():
                out[rid].update(created)
        return out

    def _create_resources(self, new, creator, policy_of):
        """Create the ``(rid, resource)`` pairs of ``new``, ``CREATE_BATCH`` per
        transaction; a batch that meets a resource another writer created first is made
        one resource at a time."""
        for start in range(0, len(new), CREATE_BATCH):
            batch = new[start:start + CREATE_BATCH]
            records = [self._new_resource(rid, resource, creator, policy_of)
                       for rid, resource in batch]
            try:
                created = self.index.create_resources(records)
            except errors.ArchiveError:
                for rid, resource in batch:
                    self._create_resource(rid, resource, creator, policy_of)
                continue
            for (rid, resource), record in zip(batch, created):
                self._remember(rid, resource.attributes, dict(record.metrics))

    def _new_resource(self, rid, resource, creator, policy_of):
        return indexer_mod.NewResource(
            resource.resource_type, rid, resource.original_resource_id, creator,
            resource.user_id, resource.project_id, resource.attributes,
            {m.name: self._mapped_metric(rid, m, creator, policy_of)
             for m in resource.metrics.values()})

    def _remember(self, rid, attributes, metrics):
        self._known[rid] = (attributes, metrics)
        self._known.move_to_end(rid)
        while len(self._known) > KNOWN_RESOURCES:
            self._known.popitem(last=False)

    def _policy_resolver(self, archive_policy):
        """A function: the policy name of a new mapped metric (``archive_policy``, its
        own, or the rules'), the rules read once per metric name."""
        by_name = {}

        def policy_of(mapped):
            if archive_policy or mapped.archive_policy_name:
                return archive_policy or mapped.archive_policy_name
            if mapped.name not in by_name:
                by_name[mapped.name] = self.index.archive_policy_for(mapped.name)
            return by_name[mapped.name]
        return policy_of

    def _mapped_metric(self, rid, mapped, creator, policy_of):
        return indexer_mod.Metric(str(uuid.uuid4()), policy_of(mapped), creator, rid,
                                  mapped.name,
                                  mapped.unit[:_UNIT_LENGTH] if mapped.unit else None)

    def _create_resource(self, rid, resource, creator, policy_of):
        metrics = {m.name: self._mapped_metric(rid, m, creator, policy_of)
                   for m in resource.metrics.values()}
        try:
            self.index.create_resource(
                resource.resource_type, rid, resource.original_resource_id, creator,
                resource.user_id, resource.project_id, resource.attributes, metrics=metrics)
        except errors.ResourceAlreadyExists:  # another writer was first
            found = self.index.get_resource(rid)
            self._remember(rid, found.attributes, dict(found.metrics))
            return
        self._remember(rid, resource.attributes, {n: m.id for n, m in metrics.items()})

    # -- measures ------------------------------------------------------------------------

    def add_measures(self, measures):
        """Durably append ``{metric_id: (timestamps, values)}`` of existing metrics."""
        return self._storage.add_measures(measures)

    def process(self, sacks=None, wait=None, skip=()):
        """Process the pending measures of ``sacks`` (default: all but ``skip``); the
        storage's ProcessReport (failing sacks in ``failed``, the others done; the metrics
        updated in ``aggregated``, told to the "metrics aggregated" stream in one row)."""
        report = self._storage.process(self.index.archive_policies_of, sacks, wait, skip)
        if report.aggregated:
            try:
                self._aggregated.record(report.aggregated)
            except errors.StorageUnavailable as exc:
                # The series are stored; readers of the stream catch up on their next pass.
                LOG.warning('Could not tell that %d metrics were aggregated: %s',
                            len(report.aggregated), exc)
        return report

    def aggregated_since(self, cursor=None):
        """``(cursor, metric ids)``: the metrics some ``process`` (any process, any host)
        aggregated after ``cursor``, and the cursor to give next; without one, none and
        the cursor of now. Rows are kept an hour (``index.aggregated.KEEP_SECONDS``)."""
        return self._aggregated.since(cursor)

    def refresh(self, metric_ids):
        """Process the pending measures of these metrics now; MetricLocked after
        ``operation_timeout`` if another processor holds one of their sacks, the sack's
        error (InsufficientStorage...) if it failed."""
        sacks = sorted({self._storage.sack_of(m) for m in metric_ids})
        report = self.process(sacks, wait=self.operation_timeout)
        for error in report.failed.values():
            raise error
        if report.busy:
            locked = [m for m in metric_ids if self._storage.sack_of(m) in report.busy]
            raise errors.MetricLocked(locked[0])
        return report

    def series(self, metric, granularity=None, method='mean', start=None, stop=None,
               refresh=False, resample=None):
        """``[(granularity s, datetime64[ns] timestamps, float64 values)]`` of an indexed
        ``Metric``, coarsest granularity first; NoSuchAggregation.

        A ``resample`` (seconds, or a calendar period: ``Y``, ``H``, ``Q``, ``M``, ``W``)
        regroups each whole series, then ``start`` (floored to the resampled granularity)
        and ``stop`` cut it, as Gnocchi's ``get_measures`` does; the granularity given is
        then ``resample``.
        """
        if resample is not None:
            series = self.series(metric, granularity, method, refresh=refresh)
            bounds = [None if b is None else state_mod.timestamp_ns(b) for b in (start, stop)]
            return [(resample,) + aggregation.resample_between(
                stamps, values, resample, method, *bounds) for _, stamps, values in series]
        policy = self.index.get_archive_policy(metric.archive_policy_name)
        if policy_mod.parse_method(method).name not in policy.methods:
            raise errors.NoSuchAggregation(method=method)
        granularities = sorted(policy.granularities, reverse=True)
        if granularity is not None:
            wanted = policy_mod.duration_ns(granularity)
            if wanted not in granularities:
                raise errors.NoSuchAggregation(granularity=wanted)
            granularities = [wanted]
        if refresh:
            self.refresh([metric.id])
        stored = self._storage.get(metric.id)
        if stored is None:
            return []
        return [(g / 1e9,) + stored.state.series(g / 1e9, method, start, stop)
                for g in granularities]

    def every_granularity(self, wanted, refresh=False):
        """``{key: {granularity ns: (timestamps, values)}}`` of ``wanted`` ``{key: (Metric,
        method)}``: each granularity of the metric's policy (empty series for a metric
        with nothing processed yet), their pending measures processed first with
        ``refresh``; the series are read in one go."""
        ids = sorted({metric.id for metric, _ in wanted.values()})
        if refresh and ids:
            self.refresh(ids)
        stored = self._storage.get_many(ids)
        out = {}
        for key, (metric, method) in wanted.items():
            policy = self.index.get_archive_policy(metric.archive_policy_name)
            found = stored.get(metric.id)
            out[key] = {g: (numpy.empty(0, 'datetime64[ns]'), numpy.empty(0)) if found is None
                        else found.state.series(g / 1e9, method) for g in policy.granularities}
        return out

    def many_series(self, wanted):
        """``{key: (datetime64[ns] timestamps, float64 values)}`` of ``wanted`` ``{key:
        (Metric, granularity s, method, start)}``, read in one go, each decoding only the
        points asked (what an alarm evaluator needs of thousands of metrics at once);
        read-only arrays. A key whose metric's policy lacks that granularity or method gets
        its NoSuchAggregation instead, one whose series is damaged its CorruptSeries; a
        metric with nothing processed yet has empty series."""
        asked, parsed = {}, {}
        for key, (metric, granularity, method, start) in wanted.items():
            if (granularity, method) not in parsed:
                parsed[granularity, method] = (policy_mod.duration_ns(granularity),
                                               policy_mod.parse_method(method))
            if start is not None and type(start) is not int:
                start = state_mod.timestamp_ns(start)
            asked[key] = (metric.id,) + parsed[granularity, method] + (start,)
        found = self._storage.get_series(set(asked.values()))
        out = {}
        for key, (metric, granularity, method, start) in wanted.items():
            series = found.get(asked[key], _UNPROCESSED)
            try:
                if series is _UNPROCESSED or series is None:
                    state = state_mod.MetricState.new(self.index.get_archive_policy(
                        metric.archive_policy_name))
                    series = state.series(granularity, method)  # NoSuchAggregation
                    out[key] = series
                    continue
                if isinstance(series, errors.CorruptSeries):
                    raise series
                out[key] = (series[0].view('datetime64[ns]'), series[1])
            except (errors.NoSuchAggregation, errors.CorruptSeries) as exc:
                out[key] = exc
        return out

    def delete_metric(self, metric_id):
        """Delete a metric and its series (its pending measures are dropped when
        processed)."""
        self.index.delete_metric(str(metric_id))
        self._storage.delete(metric_id)

    def delete_resource(self, resource_id):
        """Delete a resource with its metrics and their series."""
        for metric_id in self.index.delete_resource(resource_id):
            self._storage.delete(metric_id)

    def delete_resources(self, resource_type, query, attribute_filter=None, creator=None):
        """Delete the resources a query matches (``Indexer.delete_resources``) with their
        metrics and their series; how many resources."""
        deleted = self.index.delete_resources(resource_type, query, attribute_filter, creator)
        for metric_id in deleted.metric_ids:
            self._storage.delete(metric_id)
        return deleted.count

    def status(self, details=False):
        """Gnocchi's ``storage`` status: metrics and measures waiting to be processed
        (per metric with ``details``)."""
        return self.backlog(details)[0]

    def backlog(self, details=False, now=None):
        """``(status, backlog)``: ``status`` as ``status(details)``, and telewatch's
        ``{metrics, measures, oldest_measure_age}``: the seconds from the timestamp of the
        oldest measure waiting to now (None when none waits), the lag an alarm on the
        aggregates meets at worst, read in the same pass."""
        pending, oldest = self._storage.backlog()
        summary = {'metrics': len(pending), 'measures': sum(pending.values())}
        now = time.time() if now is None else now
        age = None if oldest is None else round(max(0.0, now - oldest / 1e9), 3)
        status = ({'summary': summary, 'measures_to_process': pending} if details
                  else {'summary': summary})
        return status, dict(summary, oldest_measure_age=age)

    def report_processor(self, name, status):
        """Publish a processor's status for ``health`` (see SeriesStorage)."""
        self._storage.report_processor(name, status)

    def forget_processor(self, name):
        with contextlib.suppress(Exception):
            self._storage.forget_processor(name)

    def report_component(self, kind, name, status):
        """Publish the report of another part of the chain (``kind``: ``agent``,
        ``evaluator``) for ``components``: kept beside the processors' (``<kind>@<name>``)."""
        self._storage.report_processor('%s%s%s' % (kind, _COMPONENT, name),
                                       dict(status, kind=kind))

    def components(self, now=None):
        """``{kind: {name: report}}`` of every component that reported in the last
        ``COMPONENT_REPORTS_KEPT`` seconds (a report says when: ``updated``)."""
        now = time.time() if now is None else now
        found = {}
        for key, status in self._storage.processors().items():
            kind, at, name = key.partition(_COMPONENT)
            if not at:
                continue
            if status.get('updated', 0) >= now - COMPONENT_REPORTS_KEPT:
                found.setdefault(kind, {})[name] = status
            else:  # gone for good (a restart reports under a new name)
                self.forget_processor(key)
        return found

    def health(self, now=None):
        """The ``telewatch`` part of ``/v1/status`` about storage: ``state`` (``ok``;
        ``insufficient_storage`` when a processor met a full disk; ``error`` for other
        failures), ``free_bytes``, ``corrupt_series`` and each processor's report
        (``ArchiveProcessor.status``) of the last ``PROCESSOR_REPORT_SECONDS``."""
        now = time.time() if now is None else now
        try:
            health = dict(self._storage.health())
            processors = {name: status for name, status in self._storage.processors().items()
                          if status.get('updated', 0) >= now - PROCESSOR_REPORT_SECONDS
                          and _COMPONENT not in name}
        except Exception as exc:  # the status page must answer whatever the storage does
            LOG.warning('Could not read the storage health: %s', exc)
            return {'state': 'error', 'error': str(exc)}
        states = {s.get('state', 'ok') for s in processors.values()}
        health['state'] = next((s for s in ('insufficient_storage', 'error') if s in states),
                               'ok')
        health['processors'] = processors
        return health

    def close(self):
        self.index.close()
        self._storage.close()
