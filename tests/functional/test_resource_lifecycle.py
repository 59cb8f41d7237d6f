"""Resources live and die as the cloud says: Nova's own compute.instance.create.end and
compute.instance.delete.start notifications, sent through oslo.messaging on the real
RabbitMQ to a real telewatch-agent-notification, create the instance (started at the
notification's time, with its attributes) and end it (with its disks and interfaces) in
the archive (archive://) and in a real Gnocchi 4.7 (gnocchi://), with the shipped
etc/archive_resources.yaml.

The payloads (tests/functional/data/nova-instance-lifecycle.json) have the shape of Nova's
legacy notifications (nova.notifications.base.info_from_instance: create.end with the
network's fixed_ips and its message, delete.start without them); oslo.messaging's Notifier
stamps each with the time it is sent, which the test brackets.
"""

import datetime
import json
import signal
import uuid

import pytest
from gnocchiclient import auth as gnocchi_auth
from gnocchiclient.v1 import client as gnocchi_client
from keystoneauth1 import session as ka_session

from telewatch import sample as sample_mod
from telewatch.archive import resource_ids
from telewatch.archive import store as store_mod
from tests.functional import bus_helpers
from tests.functional.bus_helpers import wait_for
from tests.functional.test_service_notifications import nova_notifier

NOVA = json.loads((bus_helpers.REPO / 'tests' / 'functional' / 'data'
                   / 'nova-instance-lifecycle.json').read_text())
RESOURCES = bus_helpers.REPO / 'etc' / 'archive_resources.yaml'
PIPELINE = ('sources: [{name: all, meters: ["*"], sinks: [store]}]\n'
            'sinks: [{name: store, publishers: ["%s"]}]\n')
ARCHIVE_URL = 'archive://?resources_definition_file=%s' % RESOURCES
GNOCCHI_URL = 'gnocchi://%s?auth=basic&user=admin&resources_definition_file=%s'
UTC = datetime.timezone.utc


class Cloud:
    """One instance (with a disk and an interface) and a neighbour's disk, ids of this run."""

    def __init__(self):
        self.instance = str(uuid.uuid4())
        self.neighbour = str(uuid.uuid4())
        self.disk, self.nic = self.instance + '-vda', 'tap-' + self.instance[:8]
        self.neighbour_disk = self.neighbour + '-vda'

    def notify(self, deployment, event_type):
        """Send Nova's notification; the times before and after it was sent."""
        transport, notifier = nova_notifier(deployment.rabbitmq_url,
                                            deployment.notifications_topic)
        before = datetime.datetime.now(UTC)
        notifier.info({'user': 'nova'}, event_type,
                      dict(NOVA[event_type], instance_id=self.instance))
        after = datetime.datetime.now(UTC)
        transport.cleanup()
        return before, after

    def poll(self, deployment):
        """The compute pollsters' samples of the devices, on the bus."""
        def device(name, resource_id, instance, **metadata):
            return sample_mod.Sample.create(
                name, 'cumulative', 'B', 4096.0, resource_id,
                datetime.datetime.now(UTC), '0f5b2a3c1d4e4f6a8b9c0d1e2f3a4b5c',
                '6c2a5fd6a3ac4c6e9ab6f5b39c3f5e21', dict(metadata, instance_id=instance))
        bus_helpers.send(deployment, [
            device('disk.device.read.bytes', self.disk, self.instance, disk_name='vda'),
            device('network.incoming.bytes', self.nic, self.instance, vnic_name=self.nic),
            device('disk.device.read.bytes', self.neighbour_disk, self.neighbour,
                   disk_name='vda')])


def within(moment, bounds):
    before, after = bounds
    return before - datetime.timedelta(microseconds=1) <= moment <= after


def check_lifecycle(deployment, cloud, read):
    """The whole story; ``read(kind, original id)`` -> (started_at, ended_at, attributes)
    of the resource (aware datetimes), or None while it does not exist."""
    agent = deployment.start('telewatch-agent-notification')
    assert wait_for(lambda: 'consuming' in agent.log.read_text()), agent.log.read_text()
    created = cloud.notify(deployment, 'compute.instance.create.end')
    # Its samples (etc/meters.yaml) may create it first (started when archived): then the
    # event, handled after them, moves its start back to the notification's time.
    assert wait_for(lambda: (read('instance', cloud.instance) or (None,))[0] is not None
                    and within(read('instance', cloud.instance)[0], created)), \
        agent.log.read_text()[-3000:]
    started_at, ended_at, attributes = read('instance', cloud.instance)
    assert ended_at is None
    assert attributes == {
        'display_name': 'web-01', 'flavor_name': 'm1.small', 'flavor_id': '2',
        'host': 'cmp-07', 'image_ref': '155d900f-4e14-4e4c-a73d-069cbf4541e6',
        'launched_at': '2026-12-07T09:31:06.000000',
        'created_at': '2026-12-07 09:30:41+00:00', 'deleted_at': '',
        'server_group': '2f8e1b6c-4b1a-4d2e-9c51-7a3d6f0e8b42'}

    cloud.poll(deployment)
    devices = ('instance_disk', cloud.disk), ('instance_network_interface', cloud.nic), (
        'instance_disk', cloud.neighbour_disk)
    assert wait_for(lambda: all(read(*device) is not None for device in devices)), \
        agent.log.read_text()[-3000:]
    deleted = cloud.notify(deployment, 'compute.instance.delete.start')
    assert wait_for(lambda: read('instance', cloud.instance)[1] is not None), \
        agent.log.read_text()[-3000:]
    ended_at = read('instance', cloud.instance)[1]
    # Gnocchi's metricd restores a resource that receives a measure at or after its end:
    # the end holds once the notification's own measures (etc/meters.yaml) are processed.
    assert not wait_for(lambda: read('instance', cloud.instance)[1] != ended_at, timeout=4)
    assert within(ended_at, deleted)
    assert [read(*device)[1] for device in devices] == [ended_at, ended_at, None]
    # The delete.start's own samples (etc/meters.yaml) updated it, and changed no time.
    assert read('instance', cloud.instance)[0] == started_at

    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=30) == 0
    status = json.loads(deployment.status.read_text())
    publisher = [s for s in status['event_publishers'].values()]
    assert [(s['published'], s.get('dropped', 0)) for s in publisher] == [(2, 0)]


def test_nova_creates_and_ends_instances_in_the_archive(tmp_path, rabbitmq_url):
    deployment = bus_helpers.Deployment(
        tmp_path, rabbitmq_url, pipeline=PIPELINE % ARCHIVE_URL,
        extra='[DEFAULT]\ndata_dir = %s\n' % tmp_path)
    cloud = Cloud()
    store = store_mod.ArchiveStore.from_conf(deployment.conf)

    def read(kind, original_id):
        try:
            found = store.index.get_resources(
                [resource_ids.resource_uuid(original_id, 'telewatch')])
        except Exception:  # the agent has not set the archive up yet
            return None
        resource = next(iter(found.values()), None)
        if resource is None:
            return None
        assert resource.type == kind
        started, ended = (None if t is None else t.replace(tzinfo=UTC)
                          for t in (resource.started_at, resource.ended_at))
        attributes = dict.fromkeys(store.index.get_resource_type(kind)['attributes'])
        attributes.update(resource.attributes)
        return started, ended, attributes
    try:
        check_lifecycle(deployment, cloud, read)
    finally:
        deployment.stop_all()
        store.close()


@pytest.fixture
def gnocchi_reader(gnocchi_endpoint):
    session = ka_session.Session(auth=gnocchi_auth.GnocchiBasicPlugin('admin',
                                                                      gnocchi_endpoint))
    client = gnocchi_client.Client(session=session,
                                   adapter_options={'endpoint_override': gnocchi_endpoint})
    yield client
    session.session.close()


def test_nova_creates_and_ends_instances_in_gnocchi(tmp_path, rabbitmq_url, gnocchi_endpoint,
                                                    gnocchi_reader):
    url = GNOCCHI_URL % (gnocchi_endpoint.replace('http://', ''), RESOURCES)
    deployment = bus_helpers.Deployment(tmp_path, rabbitmq_url, pipeline=PIPELINE % url)
    cloud = Cloud()

    def read(kind, original_id):
        found = gnocchi_reader.resource.search(resource_type=kind,
                                               query={'=': {'id': original_id}})
        if not found:
            return None
        resource = found[0]
        times = [None if resource[key] is None else
                 sample_mod.parse_timestamp(resource[key]) for key in ('started_at', 'ended_at')]
        schema = gnocchi_reader.resource_type.get(kind)['attributes']
        return times[0], times[1], {name: resource.get(name) for name in schema}
    try:
        check_lifecycle(deployment, cloud, read)
    finally:
        deployment.stop_all()
        for original_id in (cloud.instance, cloud.disk, cloud.nic, cloud.neighbour_disk):
            for resource in gnocchi_reader.resource.search(
                    resource_type='generic', query={'=': {'id': original_id}}):
                gnocchi_reader.resource.delete(resource['id'])
