"""archive: write samples into telewatch's own archive store, in process.

Samples become resources and metrics through ``archive_resources.yaml`` (resource type,
metric names, attributes from resource_metadata, archive policy); resources and metrics
are created on first sight, attributes updated when they change (the old ones kept in the
resource's history), and each publish call appends its measures to the durable incoming
buffer in one write. ``telewatch-archive-processor`` (or the all-in-one) aggregates them.
"""

import collections
import datetime
import logging
import uuid

import numpy
import voluptuous as vol

from telewatch import config_file
from telewatch.archive import errors
from telewatch.archive import resource_ids
from telewatch.archive import resource_mapping
from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod
from telewatch.archive.index import migration
from telewatch.publishers import base

LOG = logging.getLogger(__name__)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)
_CACHE_SIZE = 100_000


def _ns(moments):
    return numpy.fromiter(((m - _EPOCH) // _MICROSECOND * 1000 for m in moments),
                          dtype=numpy.int64, count=len(moments))


class ArchivePublisher(base.Publisher):
    """Writes samples as measures of the archive's metrics.

    URL: ``archive://?resources_definition_file=archive_resources.yaml&archive_policy=
    &creator=telewatch``. The store is the one ``[archive]`` configures (by default under
    ``[DEFAULT] data_dir``).

    Options:
      ``resources_definition_file``: the mapping, found like the other configuration
      files (next to the configuration file, then the packaged copy).
      ``archive_policy``: the policy of every new metric, over the mapping's and the
      archive policy rules'.
      ``creator``: who creates resources and metrics; it is part of the id derived from
      a resource id that is not a UUID, exactly as in Gnocchi, so use the creator of your
      Gnocchi deployment's writer ("<user_id>:<project_id>") to get the same ids.
    """

    OPTIONS = {
        vol.Optional('resources_definition_file', default='archive_resources.yaml'): str,
        vol.Optional('archive_policy', default=''): str,
        vol.Optional('creator', default='telewatch'): vol.All(str, vol.Length(min=1)),
    }
    EXAMPLE_URL = 'archive://'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self.conf = conf
        path = config_file.find_file(conf, self.options['resources_definition_file'],
                                     url.directory)
        self.mapping = resource_mapping.ResourceMapping.load(path)
        self.creator = self.options['creator']
        self.store = None
        # resource id -> (attributes, {metric name: metric id}), oldest first out
        self._known = collections.OrderedDict()
        self.unmapped = collections.Counter()
        #: measures durably written into the archive's incoming buffer
        self.archived = 0

    def start(self):
        self.store = store_mod.ArchiveStore.from_conf(self.conf)
        try:
            self._check_schema()
            for name, attributes in self.mapping.resource_types().items():
                try:
                    self.store.indexer.create_resource_type(name, {
                        a: {'type': 'string', 'required': False, 'min_length': 0,
                            'max_length': 255} for a in attributes})
                except errors.ResourceTypeAlreadyExists:
                    pass
        except errors.StorageUnavailable as exc:
            raise base.RetryablePublishError(str(exc)) from exc

    def _check_schema(self):
        """A store never set up is set up (the embedded default's first run); one set up
        by an older telewatch needs telewatch-upgrade, run by the operator."""
        revision = migration.current(self.store.indexer.engine)
        if revision is None:
            self.store.upgrade()
        elif revision != migration.head():
            raise base.PermanentPublishError(
                'the archive index is at schema revision %s, this telewatch needs %s: '
                'run telewatch-upgrade' % (revision, migration.head()))

    def stop(self):
        if self.store is not None:
            self.store.close()
            self.store = None

    def publish(self, samples):
        batch = self.mapping.group(samples)
        for meter in batch.unmapped:
            if meter not in self.unmapped:
                LOG.warning('Samples of meter %s are not archived: %s maps it to no resource '
                            'type (counted; said once)', meter,
                            self.options['resources_definition_file'])
        self.unmapped.update(batch.unmapped)
        try:
            metric_ids = self._ensure_resources(batch.resources.values())
            measures = {}
            for original_id, resource in batch.resources.items():
                ids = metric_ids[original_id]
                for name, metric in resource.metrics.items():
                    measures[ids[name]] = (_ns(metric.timestamps), metric.values)
            self.store.add_measures(measures)
        except errors.StorageUnavailable as exc:
            raise base.RetryablePublishError(str(exc), len(samples)) from exc
        except (errors.ArchiveError, ValueError) as exc:
            raise base.PermanentPublishError(str(exc), len(samples)) from exc
        self.archived += sum(len(values) for _, values in measures.values())

    # -- resources and metrics -----------------------------------------------------------

    def _resource_id(self, original_id):
        return resource_ids.resource_uuid(original_id.replace('/', '_'), self.creator)

    def _ensure_resources(self, resources):
        """``{original id: {metric name: metric id}}``, creating what is missing."""
        wanted = {r.original_resource_id: self._resource_id(r.original_resource_id)
                  for r in resources}
        unknown = [rid for rid in wanted.values() if rid not in self._known]
        if unknown:
            for rid, found in self.store.indexer.get_resources(unknown).items():
                self._remember(rid, found.attributes, dict(found.metrics))
        out = {}
        for resource in resources:
            rid = wanted[resource.original_resource_id]
            if rid not in self._known:
                self._create_resource(rid, resource)
            attributes, metrics = self._known[rid]
            if resource.attributes and resource.attributes != attributes:
                self.store.indexer.update_resource(rid, attributes=resource.attributes)
                self._known[rid] = (resource.attributes, metrics)
            missing = [m for m in resource.metrics.values() if m.name not in metrics]
            if missing:
                self._create_metrics(rid, missing, metrics)
            out[resource.original_resource_id] = metrics
        return out

    def _remember(self, rid, attributes, metrics):
        self._known[rid] = (attributes, metrics)
        self._known.move_to_end(rid)
        while len(self._known) > _CACHE_SIZE:
            self._known.popitem(last=False)

    def _new_metric(self, rid, mapped):
        policy = (self.options['archive_policy'] or mapped.archive_policy_name
                  or self.store.indexer.archive_policy_for(mapped.name))
        return indexer_mod.Metric(str(uuid.uuid4()), policy, self.creator, rid, mapped.name,
                                  mapped.unit[:31] if mapped.unit else None)

    def _create_resource(self, rid, resource):
        metrics = {m.name: self._new_metric(rid, m) for m in resource.metrics.values()}
        try:
            self.store.indexer.create_resource(
                resource.resource_type, rid, resource.original_resource_id, self.creator,
                resource.user_id, resource.project_id, resource.attributes, metrics=metrics)
        except errors.ResourceAlreadyExists:  # another writer was first
            found = self.store.indexer.get_resource(rid)
            self._remember(rid, found.attributes, dict(found.metrics))
            return
        self._remember(rid, resource.attributes, {n: m.id for n, m in metrics.items()})

    def _create_metrics(self, rid, mapped, known):
        try:
            new = [self._new_metric(rid, m) for m in mapped]
            self.store.indexer.create_metrics(new)
            known.update((m.name, m.id) for m in new)
        except errors.NamedMetricAlreadyExists:  # another writer was first
            known.update(self.store.indexer.get_resource(rid).metrics)
