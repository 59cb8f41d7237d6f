"""gnocchi_events.start_resource on a Gnocchi where the resource exists already (its samples
came first): the event's attributes are added, the start moved back, nothing else sent."""

import datetime
import types

from gnocchiclient import exceptions as gnocchi_exc

from telewatch.publishers import gnocchi_events
from telewatch.publishers import resource_events

UTC = datetime.timezone.utc
SCHEMAS = {'server_group': {'type': 'string', 'required': False, 'max_length': 255},
           'host': {'type': 'string', 'required': False, 'max_length': 255}}


class Resources:
    """The resource API of a Gnocchi holding one resource ``found``; records updates."""

    def __init__(self, found):
        self.found, self.updates = found, []

    def create(self, rtype, body):
        raise gnocchi_exc.Conflict(code=409, message='Resource already exists')

    def get(self, rtype, key):
        return self.found

    def update(self, rtype, key, changes):
        self.updates.append((rtype, key, changes))


def creation(attributes):
    return resource_events.Creation('instance', 'i-1', 'u', 'p', attributes,
                                    datetime.datetime(2026, 1, 1, 9, 0, tzinfo=UTC))


def test_an_existing_resource_gains_the_events_attributes_and_its_start():
    resources = Resources({'id': 'i-1', 'host': 'node-1', 'server_group': None,
                           'started_at': '2026-01-01T10:00:00+00:00', 'ended_at': None})
    gnocchi_events.start_resource(types.SimpleNamespace(resource=resources),
                                  creation({'host': 'node-1', 'server_group': 'stack-1'}),
                                  SCHEMAS)
    # Only what differs: Gnocchi's PATCH keeps the attributes it is not given.
    assert resources.updates == [('instance', 'i-1', {
        'server_group': 'stack-1', 'started_at': '2026-01-01T09:00:00+00:00'})]


def test_an_existing_resource_that_says_the_same_is_left_alone():
    resources = Resources({'id': 'i-1', 'host': 'node-1', 'server_group': 'stack-1',
                           'started_at': '2026-01-01T08:00:00+00:00', 'ended_at': None})
    gnocchi_events.start_resource(types.SimpleNamespace(resource=resources),
                                  creation({'server_group': 'stack-1'}), SCHEMAS)
    assert resources.updates == []
