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

import numpy
import voluptuous as vol

from telewatch import config_file
from telewatch.archive import errors
from telewatch.archive import resource_ids
from telewatch.archive import store as store_mod
from telewatch.publishers import base
from telewatch.publishers import resource_mapping

LOG = logging.getLogger(__name__)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_MICROSECOND = datetime.timedelta(microseconds=1)


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
        self.unmapped = collections.Counter()
        #: measures durably written into the archive's incoming buffer
        self.archived = 0

    def start(self):
        self.store = store_mod.ArchiveStore.from_conf(self.conf)
        try:
            self._check_schema()
            for name, attributes in self.mapping.resource_types().items():
                try:
                    self.store.index.create_resource_type(name, {
                        a: {'type': 'string', 'required': False, 'min_length': 0,
                            'max_length': 255} for a in attributes})
                except errors.ResourceTypeAlreadyExists:
                    pass
        except errors.StorageUnavailable as exc:
            raise base.RetryablePublishError(str(exc)) from exc

    def _check_schema(self):
        """A store never set up is set up (the embedded default's first run); one set up
        by an older telewatch needs telewatch-upgrade, run by the operator."""
        revision, head = self.store.schema_revisions()
        if revision is None:
            self.store.upgrade()
        elif revision != head:
            raise base.PermanentPublishError(
                'the archive index is at schema revision %s, this telewatch needs %s: '
                'run telewatch-upgrade' % (revision, head))

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
            resources = [(self._resource_id(original_id), resource)
                         for original_id, resource in batch.resources.items()]
            metric_ids = self.store.ensure_metrics(resources, self.creator,
                                                   self.options['archive_policy'])
            measures = {}
            for rid, resource in resources:
                ids = metric_ids[rid]
                for name, metric in resource.metrics.items():
                    measures[ids[name]] = (_ns(metric.timestamps), metric.values)
            self.store.add_measures(measures)
        except errors.StorageUnavailable as exc:
            raise base.RetryablePublishError(str(exc), len(samples)) from exc
        except (errors.ArchiveError, ValueError) as exc:
            raise base.PermanentPublishError(str(exc), len(samples)) from exc
        self.archived += sum(len(values) for _, values in measures.values())

    def _resource_id(self, original_id):
        return resource_ids.resource_uuid(original_id.replace('/', '_'), self.creator)
