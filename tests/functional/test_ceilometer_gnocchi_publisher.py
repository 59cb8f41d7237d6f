"""Ceilometer 27's gnocchi publisher, unchanged, against telewatch-api: the real Ceilometer
(tools/services/ceilometer: PyPI's, in its own virtualenv) runs ``ceilometer-upgrade`` and
``ceilometer-agent-notification`` with its shipped pipeline (``gnocchi://``), its shipped
gnocchi_resources.yaml, meter and event definitions, and an event pipeline that publishes to
``gnocchi://`` too, as deployments configure it.

It finds telewatch-api as it finds Gnocchi: through the real Keystone's catalog (service
type ``metric``, name ``gnocchi``: Ceilometer asks for that name), with the admin user's
password (``[service_credentials]``, which also looks up the project ``service`` whose
samples the publisher leaves out); telewatch-api authenticates with keystonemiddleware.
The catalog entry is this test's own (an ``internal`` endpoint in a region of its own,
``[gnocchi] auth_section`` selecting it), so that clients of the shared Keystone asking for
the public metric endpoint never see it. The bus is the shared RabbitMQ, with a
notifications topic and a control exchange of the test's own, deleted at its end.

Nova's legacy notifications (tests/functional/data/nova-instance-lifecycle.json, sent with
oslo.messaging as Nova does) and Ceilometer's own ``telemetry.polling`` messages (made by
Ceilometer's code, as its polling agent sends them) feed the agent; the test then reads
telewatch as users would: Ceilometer's resource types, archive policies, resources with
their attributes (updated by a second polling cycle), measures, and the end of the instance
with its disk and interface when Nova deletes it. An error in the agent's log fails it.
"""

import datetime
import json
import os
import pathlib
import signal
import subprocess
import urllib.parse
import uuid

import kombu
import pytest
import requests

from tests.functional import api_helpers
from tests.functional import bus_helpers
from tests.functional import services
from tests.functional.bus_helpers import wait_for
from tests.functional.test_service_notifications import nova_notifier

VENV = pathlib.Path(os.environ.get('TELEWATCH_CACHE') or
                    pathlib.Path.home() / '.cache' / 'telewatch') / 'ceilometer' / 'venv'
NOVA = json.loads((services.REPO / 'tests' / 'functional' / 'data'
                   / 'nova-instance-lifecycle.json').read_text())
EVENT_PIPELINE = ('sources: [{name: event_source, events: ["*"], sinks: [event_sink]}]\n'
                  'sinks: [{name: event_sink, publishers: ["gnocchi://"]}]\n')
SERVER_GROUP = NOVA['compute.instance.create.end']['metadata']['metering.server_group']
UTC = datetime.timezone.utc
# Ceilometer's processes, without its libraries' deprecation warnings (eventlet, DSA).
ENV = dict(os.environ, PYTHONWARNINGS='ignore')

# Run with Ceilometer's python: the samples the test gives (JSON on stdin) as Ceilometer's
# polling agent sends them (ceilometer.polling.manager: signed meter messages, event type
# telemetry.polling, publisher ceilometer.polling, on the notifications topic).
POLLING_SENDER = '''
import json, sys
import oslo_messaging
from ceilometer import messaging, sample, service
from ceilometer.publisher import utils
conf = service.prepare_service(['sender', '--config-file', sys.argv[1]])
transport = messaging.get_transport(conf)
notifier = oslo_messaging.Notifier(transport, driver=conf.publisher_notifier.telemetry_driver,
                                   publisher_id='ceilometer.polling')
samples = [utils.meter_message_from_counter(sample.Sample(**s), conf.publisher.telemetry_secret)
           for s in json.load(sys.stdin)]
notifier.sample({}, 'telemetry.polling', {'samples': samples})
transport.cleanup()
'''


@pytest.fixture(scope='module')
def ceilometer():
    """The bin directory of the real Ceilometer's virtualenv (installed on first use)."""
    services._start('ceilometer')
    return VENV / 'bin'


@pytest.fixture(scope='module')
def api(keystone, tmp_path_factory):
    """A telewatch-api behind keystonemiddleware (and its processor): its root URL."""
    authtoken = ''.join('%s = %s\n' % option for option in keystone.authtoken_options().items())
    with api_helpers.running_api(tmp_path_factory.mktemp('api-ceilometer'),
                                 '[api]\nauth_strategy = keystone\n[keystone_authtoken]\n'
                                 + authtoken) as url:
        yield url


class Bus:
    """The test's own names on the shared RabbitMQ: the notifications topic (Nova's and
    Ceilometer's) and Ceilometer's control exchange; its queues and that exchange are
    deleted at the end."""

    PRIORITIES = ('audit', 'critical', 'debug', 'error', 'info', 'sample', 'warn')

    def __init__(self, rabbitmq_url):
        self.url = rabbitmq_url
        self.topic = services.unique('ceilometer-notifications')
        self.exchange = services.unique('ceilometer')

    def amqp(self):
        url = urllib.parse.urlsplit(self.url)._replace(scheme='amqp').geturl()
        return kombu.Connection(url, connect_timeout=5)

    def listening(self):
        """True once the agent's queues for Nova's and the polling agent's messages exist."""
        try:
            with self.amqp() as conn:
                for priority in ('info', 'sample'):
                    conn.channel().queue_declare(queue='%s.%s' % (self.topic, priority),
                                                 passive=True)
            return True
        except Exception:
            return False

    def delete(self):
        bus_helpers.delete_queues(self.url, ['%s.%s' % (self.topic, priority)
                                             for priority in self.PRIORITIES])
        try:
            with self.amqp() as conn:
                conn.channel().exchange_delete(self.exchange)
        except Exception as exc:  # a clean-up must not hide the test's own result
            print('cannot delete the exchange of the test: %s' % exc)


@pytest.fixture
def bus(rabbitmq_url):
    names = Bus(rabbitmq_url)
    yield names
    names.delete()


class Catalog:
    """The test's own catalog entry for ``api``: the service gnocchi (type metric) with an
    internal endpoint in a new region; all deleted at the end."""

    def __init__(self, keystone, api):
        self.keystone = keystone
        self.token = keystone.token(keystone.admin).id
        self.region = services.unique('ceilometer-region')
        self.service_id = None
        self.call('POST', '/regions', {'region': {'id': self.region}})
        try:
            self.service_id = self.call('POST', '/services', {'service': {
                'name': 'gnocchi', 'type': 'metric'}})['service']['id']
            self.call('POST', '/endpoints', {'endpoint': {
                'service_id': self.service_id, 'interface': 'internal', 'url': api,
                'region_id': self.region}})
        except Exception:
            self.delete()
            raise

    def call(self, method, path, body=None):
        response = requests.request(method, self.keystone.auth_url + path, json=body,
                                    timeout=30, headers={'X-Auth-Token': self.token})
        response.raise_for_status()
        return response.json() if response.content else None

    def delete(self):
        if self.service_id:  # its endpoints go with it
            self.call('DELETE', '/services/%s' % self.service_id)
        self.call('DELETE', '/regions/%s' % self.region)


@pytest.fixture
def catalog(keystone, api):
    entry = Catalog(keystone, api)
    yield entry
    entry.delete()


def write_config(path, keystone, bus, region):
    """ceilometer.conf: the bus, Keystone's admin for both Keystone and (through the test's
    catalog entry) Gnocchi, and the event pipeline to gnocchi://."""
    admin = keystone.admin
    credentials = ('auth_type = password\nauth_url = %s\nusername = %s\npassword = %s\n'
                   'project_name = %s\nuser_domain_name = Default\n'
                   'project_domain_name = Default\n' % (
                       keystone.auth_url, admin.name, admin.password, admin.project))
    (path / 'event_pipeline.yaml').write_text(EVENT_PIPELINE)
    config = path / 'ceilometer.conf'
    config.write_text(
        '[DEFAULT]\ntransport_url = %s\ncontrol_exchange = %s\nevent_pipeline_cfg_file = %s\n'
        'use_stderr = true\n'
        '[oslo_messaging_notifications]\ntopics = %s\n'
        '[oslo_messaging_rabbit]\namqp_durable_queues = true\n'
        '[notification]\nnotification_control_exchanges = nova\n'
        'notification_control_exchanges = %s\n'
        '[service_credentials]\n%sinterface = public\n'
        '[gnocchi]\nauth_section = gnocchi_credentials\n'
        '[gnocchi_credentials]\n%sinterface = internal\nregion_name = %s\n' % (
            bus.url, bus.exchange, path / 'event_pipeline.yaml', bus.topic, bus.exchange,
            credentials, credentials, region))
    return config


class Telewatch:
    """telewatch-api as a user with a token reads it."""

    def __init__(self, url, token):
        self.url, self.token = url, token

    def get(self, path, expect=200, **params):
        response = requests.get(self.url + path, params=params, timeout=30,
                                headers={'X-Auth-Token': self.token.id})
        assert response.status_code == expect, (path, response.text)
        return response.json()

    def resource(self, kind, original_id):
        response = requests.get('%s/v1/resource/%s/%s' % (self.url, kind, original_id),
                                timeout=30, headers={'X-Auth-Token': self.token.id})
        return response.json() if response.status_code == 200 else None

    def measures(self, metric_id, **params):
        return self.get('/v1/metric/%s/measures' % metric_id, **params)


class Cloud:
    """One instance of alice's project with a disk and an interface, ids of this run."""

    def __init__(self, project_id):
        self.project_id = project_id
        self.instance = str(uuid.uuid4())
        self.disk, self.nic = self.instance + '-vda', 'tap' + self.instance[:11]
        self.now = datetime.datetime.now(UTC).replace(microsecond=0)
        self.bucket = self.now.replace(minute=self.now.minute // 5 * 5, second=0)

    def notify(self, bus, event_type):
        payload = dict(NOVA[event_type], instance_id=self.instance, tenant_id=self.project_id)
        transport, notifier = nova_notifier(bus.url, bus.topic)
        notifier.info({'user': 'nova'}, event_type, payload)
        transport.cleanup()

    def metadata(self, display_name, flavor):
        """A compute pollster's metadata of the instance (libvirt_metadata discovery)."""
        return {'display_name': display_name, 'host': 'cmp-07', 'instance_host': 'cmp-07',
                'flavor': {'id': flavor[0], 'name': flavor[1]}, 'image_ref': NOVA[
                    'compute.instance.create.end']['image_meta']['base_image_ref'],
                'user_metadata': {'server_group': SERVER_GROUP}}

    def polled(self, seconds, cpu, metadata, volume=0.0):
        """Samples of a polling cycle ``seconds`` into the bucket."""
        stamp = (self.bucket + datetime.timedelta(seconds=seconds)).isoformat()

        def one(name, kind, unit, value, resource_id, extra):
            return {'name': name, 'type': kind, 'unit': unit, 'volume': value,
                    'user_id': NOVA['compute.instance.create.end']['user_id'],
                    'project_id': self.project_id, 'resource_id': resource_id,
                    'timestamp': stamp, 'resource_metadata': extra}
        return [one('cpu', 'cumulative', 'ns', cpu, self.instance, metadata),
                one('disk.device.read.bytes', 'cumulative', 'B', volume, self.disk,
                    dict(metadata, instance_id=self.instance, disk_name='vda')),
                one('network.incoming.bytes', 'cumulative', 'B', volume, self.nic,
                    dict(metadata, instance_id=self.instance, vnic_name=self.nic))]


def run(ceilometer, command, config, *args, stdin=None):
    result = subprocess.run([str(ceilometer / command), *args, '--config-file', str(config)],
                            input=stdin, capture_output=True, text=True, timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]


def send_polled(ceilometer, config, samples):
    result = subprocess.run([str(ceilometer / 'python'), '-c', POLLING_SENDER, str(config)],
                            input=json.dumps(samples), capture_output=True, text=True,
                            timeout=120, env=ENV)
    assert result.returncode == 0, result.stderr[-3000:]


def test_ceilometer_creates_updates_and_ends_resources_with_their_measures(
        ceilometer, api, keystone, bus, catalog, tmp_path):
    config = write_config(tmp_path, keystone, bus, catalog.region)
    readers = {name: Telewatch(api, keystone.token(getattr(keystone, name)))
               for name in ('admin', 'alice', 'bob')}
    log_path = tmp_path / 'agent.log'
    with open(log_path, 'w') as log:
        # Started while ceilometer-upgrade runs, as a deployment starts its services
        # together; nothing is sent before both are done.
        agent = subprocess.Popen([str(ceilometer / 'ceilometer-agent-notification'),
                                  '--config-file', str(config)], stdout=log, stderr=log,
                                 start_new_session=True, env=ENV)
        try:
            check_upgrade(ceilometer, config, readers['admin'])
            assert wait_for(lambda: bus.listening() or agent.poll() is not None)
            assert agent.poll() is None, log_path.read_text()[-3000:]
            story = Story(ceilometer, config, bus, Cloud(readers['alice'].token.project_id),
                          readers, log_path)
            story.policies(story.created())
            story.updated()
            story.ended()
        finally:
            stop(agent)
    # (stevedore lists oslo.cache's backends at start: memcache's client is not installed.)
    errors = [line for line in log_path.read_text().splitlines()
              if ' ERROR ' in line and ' ERROR stevedore.extension ' not in line]
    assert not errors, '\n'.join(errors[:20])


def stop(agent):
    if agent.poll() is None:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()


def check_upgrade(ceilometer, config, admin):
    """What a deployment runs first: Ceilometer's resource types through the Gnocchi API."""
    run(ceilometer, 'ceilometer-upgrade', config)
    instance_type = admin.get('/v1/resource_type/instance')['attributes']
    assert {'flavor_id', 'image_ref', 'host', 'display_name', 'server_group', 'flavor_name',
            'launched_at', 'created_at', 'deleted_at', 'availability_zone'} <= set(
                instance_type)
    assert instance_type['host']['required'] is False  # "make host optional" applied
    kinds = {t['name'] for t in admin.get('/v1/resource_type')}
    assert {'instance_disk', 'instance_network_interface', 'nova_compute', 'volume_service',
            'loadbalancer', 'dns_zone'} <= kinds


class Story:
    """Nova's and the polling agent's messages, and what telewatch then holds."""

    def __init__(self, ceilometer, config, bus, cloud, readers, log):
        self.ceilometer, self.config, self.bus, self.cloud = ceilometer, config, bus, cloud
        self.readers, self.admin, self.log = readers, readers['admin'], log
        self.resources = (('instance', cloud.instance), ('instance_disk', cloud.disk),
                          ('instance_network_interface', cloud.nic))

    def tail(self):
        return self.log.read_text()[-4000:]

    def poll(self, seconds, cpu, metadata, volume):
        send_polled(self.ceilometer, self.config,
                    self.cloud.polled(seconds, cpu, metadata, volume))

    def created(self):
        """Nova says the instance is there; a polling cycle follows (same metadata)."""
        cloud, admin = self.cloud, self.admin
        cloud.notify(self.bus, 'compute.instance.create.end')
        first = cloud.metadata('web-01', ('2', 'm1.small'))
        self.poll(10, 1e9, first, 4096.0)
        assert wait_for(lambda: all(admin.resource(*r) for r in self.resources)), self.tail()
        instance = admin.resource('instance', cloud.instance)
        assert {key: instance[key] for key in (
            'flavor_id', 'flavor_name', 'host', 'display_name', 'image_ref', 'server_group',
            'project_id', 'ended_at', 'created_by_user_id')} == {
            'flavor_id': '2', 'flavor_name': 'm1.small', 'host': 'cmp-07',
            'display_name': 'web-01', 'image_ref': first['image_ref'],
            'server_group': SERVER_GROUP, 'project_id': cloud.project_id, 'ended_at': None,
            'created_by_user_id': admin.token.user_id}
        # Nova's times (datetime attributes since ceilometer-upgrade); the availability zone
        # comes only from the event path (event_create: compute.instance.create.end).
        assert (instance['launched_at'], instance['created_at'], instance['deleted_at'],
                instance['availability_zone']) == (
            '2026-12-07T09:31:06+00:00', '2026-12-07T09:30:41+00:00', None, 'nova')
        disk = admin.resource('instance_disk', cloud.disk)
        assert (disk['name'], disk['instance_id']) == ('vda', cloud.instance)
        return instance

    def policies(self, instance):
        """Ceilometer's archive policies (the publisher makes those missing), per metric."""
        rate = self.admin.get('/v1/archive_policy/ceilometer-low-rate')
        assert sorted(rate['aggregation_methods']) == ['mean', 'rate:mean']
        assert [(d['granularity'], d['timespan']) for d in rate['definition']] == [
            ('0:05:00', '30 days, 0:00:00')]
        policies = {name: self.admin.get('/v1/metric/%s' % metric)['archive_policy']['name']
                    for name, metric in instance['metrics'].items()}
        assert policies['cpu'] == 'ceilometer-low-rate'
        assert policies['memory'] == policies['vcpus'] == 'ceilometer-low'

    def updated(self):
        """A second cycle: the instance was renamed and resized (Ceilometer PATCHes it)."""
        cloud, admin = self.cloud, self.admin
        self.poll(70, 3e9, cloud.metadata('web-01-renamed', ('3', 'm1.medium')), 8192.0)
        assert wait_for(lambda: admin.resource('instance', cloud.instance)['display_name']
                        == 'web-01-renamed'), self.tail()
        instance = admin.resource('instance', cloud.instance)
        assert (instance['flavor_id'], instance['flavor_name']) == ('3', 'm1.medium')
        cpu, bucket = instance['metrics']['cpu'], cloud.bucket.isoformat()
        assert wait_for(lambda: admin.measures(cpu, granularity=300) == [
            [bucket, 300.0, 2e9]]), (admin.measures(cpu, granularity=300), self.tail())
        memory = admin.measures(instance['metrics']['memory'])
        assert [point[1:] for point in memory] == [[300.0, 2048.0]]  # Nova's, at its time
        # The instance is alice's project's: she sees it, bob does not.
        assert self.readers['alice'].resource('instance', cloud.instance)['id'] == \
            instance['id']
        assert self.readers['bob'].resource('instance', cloud.instance) is None

    def ended(self):
        """Nova deletes it: the instance and its disk and interface end."""
        self.cloud.notify(self.bus, 'compute.instance.delete.start')
        assert wait_for(lambda: all(self.admin.resource(*r)['ended_at']
                                    for r in self.resources)), self.tail()
