"""The archive store: the index and the series storage together, as the archive publisher,
the processors and the API use them.

Writers append measures of existing metrics (``add_measures``) and return once they are
durable; processors (``process``) aggregate them into each metric's series; readers get
aggregates (``measures``), asking for pending measures to be processed first when they
need them (``refresh``, Gnocchi's).
"""

import contextlib
import logging
import os
import time

from oslo_config import cfg

from telewatch.archive import errors
from telewatch.archive import policy as policy_mod
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.storage import file as file_storage

LOG = logging.getLogger(__name__)

# Processors report every round; one silent for longer has stopped (or is stuck).
PROCESSOR_REPORT_SECONDS = 60

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


class ArchiveStore:
    """An index and a series storage; ``from_conf`` builds both from ``[archive]``."""

    def __init__(self, indexer, storage, operation_timeout=10.0):
        self.indexer = indexer
        self.storage = storage
        self.operation_timeout = operation_timeout

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
        self.indexer.upgrade()
        self.storage.upgrade()
        if not default_policies:
            return
        policies = policies or policy_mod.builtin_policies()
        for policy in policies.values():
            with contextlib.suppress(errors.ArchivePolicyAlreadyExists):
                self.indexer.create_archive_policy(policy)
        if not self.indexer.list_archive_policy_rules():
            self.indexer.create_archive_policy_rule('default', '*', 'low')

    def add_measures(self, measures):
        """Durably append ``{metric_id: (timestamps, values)}`` of existing metrics."""
        return self.storage.add_measures(measures)

    def process(self, sacks=None, wait=None, skip=()):
        """Process the pending measures of ``sacks`` (default: all but ``skip``); the
        storage's ProcessReport (failing sacks in ``failed``, the others done)."""
        return self.storage.process(self.indexer.archive_policies_of, sacks, wait, skip)

    def refresh(self, metric_ids):
        """Process the pending measures of these metrics now; MetricLocked after
        ``operation_timeout`` if another processor holds one of their sacks, the sack's
        error (InsufficientStorage...) if it failed."""
        sacks = sorted({self.storage.sack_of(m) for m in metric_ids})
        report = self.process(sacks, wait=self.operation_timeout)
        for error in report.failed.values():
            raise error
        if report.busy:
            locked = [m for m in metric_ids if self.storage.sack_of(m) in report.busy]
            raise errors.MetricLocked(locked[0])
        return report

    def measures(self, metric_id, granularity=None, method='mean', start=None, stop=None,
                 refresh=False):
        """``[(timestamp datetime64, granularity s, value)]`` of a metric, coarsest
        granularity first (Gnocchi's order); NoSuchMetric, NoSuchAggregation."""
        metric = self.indexer.get_metrics([metric_id]).get(str(metric_id))
        if metric is None:
            raise errors.NoSuchMetric(metric_id)
        rows = []
        for g, stamps, values in self.series(metric, granularity, method, start, stop,
                                             refresh):
            rows.extend(zip(stamps, [g] * len(stamps), values.tolist()))
        return rows

    def series(self, metric, granularity=None, method='mean', start=None, stop=None,
               refresh=False):
        """``[(granularity s, datetime64[ns] timestamps, float64 values)]`` of an indexed
        ``Metric``, coarsest granularity first; NoSuchAggregation."""
        policy = self.indexer.get_archive_policy(metric.archive_policy_name)
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
        stored = self.storage.get(metric.id)
        if stored is None:
            return []
        return [(g / 1e9,) + stored.state.series(g / 1e9, method, start, stop)
                for g in granularities]

    def delete_metric(self, metric_id):
        """Delete a metric and its series (its pending measures are dropped when
        processed)."""
        self.indexer.delete_metric(str(metric_id))
        self.storage.delete(metric_id)

    def delete_resource(self, resource_id):
        """Delete a resource with its metrics and their series."""
        for metric_id in self.indexer.delete_resource(resource_id):
            self.storage.delete(metric_id)

    def status(self, details=False):
        """Gnocchi's ``storage`` status: metrics and measures waiting to be processed
        (per metric with ``details``)."""
        pending = self.storage.pending()
        summary = {'metrics': len(pending), 'measures': sum(pending.values())}
        return {'summary': summary, 'measures_to_process': pending} if details else {
            'summary': summary}

    def report_processor(self, name, status):
        """Publish a processor's status for ``health`` (see SeriesStorage)."""
        self.storage.report_processor(name, status)

    def forget_processor(self, name):
        with contextlib.suppress(Exception):
            self.storage.forget_processor(name)

    def health(self, now=None):
        """The ``telewatch`` part of ``/v1/status`` about storage: ``state`` (``ok``;
        ``insufficient_storage`` when a processor met a full disk; ``error`` for other
        failures), ``free_bytes``, ``corrupt_series`` and each processor's report
        (``ArchiveProcessor.status``) of the last ``PROCESSOR_REPORT_SECONDS``."""
        now = time.time() if now is None else now
        try:
            health = dict(self.storage.health())
            processors = {name: status for name, status in self.storage.processors().items()
                          if status.get('updated', 0) >= now - PROCESSOR_REPORT_SECONDS}
        except Exception as exc:  # the status page must answer whatever the storage does
            LOG.warning('Could not read the storage health: %s', exc)
            return {'state': 'error', 'error': str(exc)}
        states = {s.get('state', 'ok') for s in processors.values()}
        health['state'] = next((s for s in ('insufficient_storage', 'error') if s in states),
                               'ok')
        health['processors'] = processors
        return health

    def close(self):
        self.indexer.close()
        self.storage.close()
