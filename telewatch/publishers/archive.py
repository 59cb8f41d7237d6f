"""archive: write samples into telewatch's own archive store, in process.

Samples become resources and metrics through ``archive_resources.yaml`` (resource type,
metric names, attributes from resource_metadata, archive policy); resources and metrics
are created on first sight, attributes updated when they change (the old ones kept in the
resource's history), and each publish call appends its measures to the durable incoming
buffer in one write. ``telewatch-archive-processor`` (or the all-in-one) aggregates them.
Events (other services' notifications) create and end resources as the mapping's lifecycle
keys say (telewatch.publishers.resource_events), through the archive index.
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
from telewatch.publishers import gnocchi_api
from telewatch.publishers import resource_events
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
        #: events that named no resource (``missing_id``), by reason
        self.events_skipped = collections.Counter()
        self._schemas = {}

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
                self._schemas[name] = self.store.index.get_resource_type(name)['attributes']
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
            known = self.store.known_metrics(resources)
            new = [(rid, resource) for rid, resource in resources if rid not in known]
            if known and new:
                # Measures of known metrics are durable before the new resources are
                # created (in bulk: store.CREATE_BATCH a transaction), not after.
                self._write([(rid, r) for rid, r in resources if rid in known], known)
                resources = new
            self._write(resources, dict(known, **self.store.ensure_metrics(
                new, self.creator, self.options['archive_policy'])))
        except errors.StorageUnavailable as exc:
            raise base.RetryablePublishError(str(exc), len(samples)) from exc
        except (errors.ArchiveError, ValueError) as exc:
            raise base.PermanentPublishError(str(exc), len(samples)) from exc

    def _write(self, resources, metric_ids):
        measures = {}
        for rid, resource in resources:
            ids = metric_ids[rid]
            for name, metric in resource.metrics.items():
                measures[ids[name]] = (_ns(metric.timestamps), metric.values)
        self.store.add_measures(measures)
        self.archived += sum(len(values) for _, values in measures.values())

    # -- events: resources start and end -------------------------------------------------

    def handles_event(self, event_type):
        return self.mapping.events.handles(event_type)

    def publish_events(self, events):
        """Create and end resources as the mapping's lifecycle keys say. Applying an event
        twice changes nothing more (redelivery is harmless)."""
        actions, skipped = self.mapping.events.actions(events, _utcnow())
        if skipped:
            LOG.warning('%d events name no resource (%s): left out', sum(skipped.values()),
                        ', '.join(sorted(skipped)))
            self.events_skipped.update(skipped)
        try:
            for action in actions:
                if isinstance(action, resource_events.Creation):
                    self._start_resource(action)
                else:
                    self._end_resources(action)
        except errors.StorageUnavailable as exc:
            raise base.RetryablePublishError(str(exc), len(events)) from exc
        except (errors.ArchiveError, ValueError) as exc:
            raise base.PermanentPublishError(str(exc), len(events)) from exc

    def _start_resource(self, creation):
        """Create it, started at the event's time; one that exists already (its samples
        came first) starts no later than that and gains the event's attributes."""
        index = self.store.index
        rid = self._resource_id(creation.original_resource_id)
        started_at = _naive(creation.started_at)
        attributes = gnocchi_api.coerce_attributes(
            creation.attributes, self._schemas.get(creation.resource_type, {}))
        try:
            index.create_resource(creation.resource_type, rid, creation.original_resource_id,
                                  self.creator, creation.user_id, creation.project_id,
                                  attributes, started_at=started_at)
        except errors.ResourceAlreadyExists:
            found = index.get_resource(rid)
            changes = {}
            if found.started_at > started_at and (found.ended_at is None
                                                  or found.ended_at >= started_at):
                changes['started_at'] = started_at
            # The event's attributes too (e.g. the server group of Nova's metadata, which
            # the samples do not carry), merged into those the samples gave.
            if attributes and dict(found.attributes, **attributes) != found.attributes:
                changes.update(attributes=attributes, merge_attributes=True)
            if changes:
                index.update_resource(rid, **changes)

    def _end_resources(self, ending):
        """End the open resource of that id and its open associated resources at the
        event's time (or at their start, for one that started after it)."""
        index = self.store.index
        original = ending.original_resource_id
        ended_at = _naive(ending.ended_at)
        # The associated ones first: once the resource has ended, they have too.
        queries = [(rtype, {'=': {attribute: original}})
                   for rtype, attribute in ending.associated]
        queries.append((ending.resource_type, {'=': {'id': original}}))
        for rtype, query in queries:
            for resource in self._open_resources(rtype, query):
                index.update_resource(resource.id, ended_at=max(ended_at, resource.started_at))

    def _open_resources(self, resource_type, query):
        index = self.store.index
        query = {'and': [query, {'=': {'ended_at': None}}]}
        found, marker = [], None
        while True:
            page = index.search_resources(resource_type, query, marker=marker,
                                          creator=self.creator)
            found += page
            if len(page) < index.MAX_LIMIT:
                return found
            marker = index.marker_of(page[-1])

    def _resource_id(self, original_id):
        return resource_ids.resource_uuid(original_id.replace('/', '_'), self.creator)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _naive(moment):
    """The index's form of a time: naive UTC."""
    return moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
