"""Resources start and end in a Gnocchi as events say (the gnocchi publisher's
``publish_events``): the Creations and Endings of telewatch.publishers.resource_events.

As Ceilometer's publisher, but at the notification's time rather than when it is read, and
idempotently: an ended resource is never ended again, so a redelivered event (or a later
delete.end) changes nothing.
"""

import logging

from gnocchiclient import exceptions as gnocchi_exc

from telewatch import sample
from telewatch.publishers import base
from telewatch.publishers import gnocchi_api
from telewatch.publishers import resource_events

LOG = logging.getLogger(__name__)


def apply(client, actions, schemas, count):
    """Apply the Creations and Endings in order; a failure is the PublishError of all
    ``count`` events (the runner splits the batch to find the one that fails alone).
    ``schemas``: {type: {attribute: its schema in Gnocchi}}."""
    for action in actions:
        try:
            if isinstance(action, resource_events.Creation):
                start_resource(client, action, schemas.get(action.resource_type, {}))
            else:
                end_resources(client, action)
        except base.PublishError as exc:
            exc.samples = count
            raise


def start_resource(client, creation, schemas):
    """Create the resource, started at the event's time; one that exists already (its
    samples came first) starts no later than that. ``schemas``: the type's attributes."""
    key = creation.original_resource_id.replace('/', '_')
    body = dict(gnocchi_api.coerce_attributes(creation.attributes, schemas), id=key,
                user_id=creation.user_id, project_id=creation.project_id,
                started_at=creation.started_at.isoformat())
    try:
        with gnocchi_api.translated('creating the resource %s' % key, 1,
                                    keep=lambda exc: isinstance(exc, gnocchi_exc.Conflict)):
            client.resource.create(creation.resource_type, body)
        LOG.info('created the %s resource %s, started at %s', creation.resource_type, key,
                 body['started_at'])
        return
    except gnocchi_exc.Conflict:
        pass
    with gnocchi_api.translated('starting the resource %s' % key, 1):
        found = client.resource.get(creation.resource_type, key)
        # The event's attributes too (e.g. the server group of Nova's metadata, which the
        # samples do not carry); Gnocchi's PATCH keeps the attributes it is not given.
        changes = {name: value for name, value in body.items()
                   if name in schemas and found.get(name) != value}
        started_at, ended_at = _time(found.get('started_at')), _time(found.get('ended_at'))
        if (started_at is not None and started_at > creation.started_at
                and (ended_at is None or ended_at >= creation.started_at)):
            changes['started_at'] = body['started_at']
        if changes:
            client.resource.update(creation.resource_type, key, changes)


def end_resources(client, ending):
    """End the open resource of that id and its open associated resources at the event's
    time (or at their start, for one that started after it)."""
    original = ending.original_resource_id.replace('/', '_')
    # The associated ones first: once the resource has ended, they have too.
    queries = [(rtype, {'=': {attribute: ending.original_resource_id}})
               for rtype, attribute in ending.associated]
    queries.append((ending.resource_type, {'=': {'id': original}}))
    for rtype, query in queries:
        with gnocchi_api.translated('searching the open %s resources of %s' % (
                rtype, original), 1):
            found = client.resource.search(
                resource_type=rtype, query={'and': [query, {'=': {'ended_at': None}}]})
        for resource in found:
            started_at = _time(resource.get('started_at'))
            ended_at = ending.ended_at if started_at is None else max(ending.ended_at,
                                                                      started_at)
            try:
                with gnocchi_api.translated('ending the resource %s' % resource['id'], 1,
                                            keep=_not_found):
                    client.resource.update(rtype, resource['id'],
                                           {'ended_at': ended_at.isoformat()})
            except gnocchi_exc.NotFound:
                continue  # deleted meanwhile: nothing left to end
            LOG.info('ended the %s resource %s (%s) at %s', rtype, resource['id'],
                     resource.get('original_resource_id'), ended_at.isoformat())


def _not_found(exc):
    return isinstance(exc, gnocchi_exc.NotFound)


def _time(value):
    try:
        return sample.parse_timestamp(value)
    except sample.InvalidSample:
        return None
