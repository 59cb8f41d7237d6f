"""gnocchi: samples into a Gnocchi archive, as resources and metrics of archive_resources.yaml.

Ceilometer's gnocchi publisher, except that a failure reaches the sink as a retryable or
permanent error instead of a log line. Its events (``publish_events``) start and end
resources as the mapping's lifecycle keys say (telewatch.publishers.gnocchi_events).
"""

import collections
import datetime
import hashlib
import json
import logging
import urllib.parse

from gnocchiclient import auth as gnocchi_auth
from gnocchiclient import exceptions as gnocchi_exc
from gnocchiclient.v1 import client as gnocchi_client
from keystoneauth1 import adapter as ka_adapter
from keystoneauth1 import exceptions as ka_exc
from keystoneauth1 import loading as ka_loading
from keystoneauth1 import session as ka_session
from oslo_config import cfg
import voluptuous as vol

from telewatch import config_file
from telewatch import keystoneauth_options
from telewatch.publishers import base
from telewatch.publishers import gnocchi_api
from telewatch.publishers import gnocchi_events
from telewatch.publishers import resource_mapping

LOG = logging.getLogger(__name__)
GROUP = 'gnocchi'
OPTS = [
    cfg.StrOpt('region_name',
               help='Region of the Gnocchi (service type "metric") and Keystone endpoints '
                    'in the catalog, with gnocchi://...?auth=keystone.'),
    cfg.StrOpt('interface', default='public', choices=('public', 'internal', 'admin'),
               help='Interface of those endpoints in the catalog.'),
]
DEFAULT_PORT = 8041
# Resources whose attributes were last sent, remembered as a hash of those attributes.
CACHE_SIZE = 50000
_TEXT = vol.All(str, vol.Length(min=1))


def register_opts(conf):
    """The [gnocchi] options, with keystoneauth's session and auth plugin options."""
    keystoneauth_options.register(conf, GROUP, OPTS)


def list_opts():
    return keystoneauth_options.list_opts(GROUP, OPTS)


def list_auth_opts():
    """The password plugin's options, for the sample configuration only."""
    return keystoneauth_options.list_auth_opts(GROUP)


class GnocchiPublisher(base.Publisher):
    """Batches measures into Gnocchi, creating resources, metrics and types as needed.

    URL: ``gnocchi://[HOST[:PORT]]?auth=keystone|basic|noauth&...``; HOST:PORT (port 8041)
    or the option ``endpoint`` (a full URL, for https or a path) is Gnocchi's root; with
    neither, keystone auth finds it in the catalog (service type ``metric``).

    Options:
      ``resources_definition_file`` (default archive_resources.yaml, looked up as the other
      configuration files): samples -> resources and metrics (telewatch.archive.
      resource_mapping); a meter it does not list is dropped and counted in ``unmapped``.
      ``archive_policy``: the archive policy of every new metric, instead of the file's.
      ``filter_project`` (default ``service``, empty: none): samples of this project are
      skipped, as Gnocchi's own activity. With keystone auth the name is looked up in
      Keystone once; the samples whose project id is a project of that name, or is the
      value itself, are skipped.
      ``timeout`` (seconds, default 6.05): of each request.
      ``auth``: ``keystone`` (default: a keystoneauth session from the [gnocchi] options),
      ``basic`` with ``user`` (default admin: Gnocchi's ``auth_mode = basic``), or
      ``noauth`` with ``user_id``, ``project_id`` and ``roles`` (default admin), sent as
      headers (Gnocchi's keystone mode behind a trusted proxy).

    At its first publish (and again at the next ones until it succeeds) it creates the
    archive policies the mapping names that Gnocchi lacks (Gnocchi's and Ceilometer's
    defaults; any other must exist) and the resource types, or adds missing attributes to
    them. Each publish is one batch request (``create_metrics``); when Gnocchi answers
    "Unknown resources" it creates them and sends the batch again. Then it updates the
    attributes of the resources whose attributes changed since it last sent them.
    Connection errors, timeouts, 408, 429 and 5xx are retryable; other 4xx are permanent.
    """

    OPTIONS = {
        vol.Optional('resources_definition_file',
                     default=resource_mapping.DEFAULT_FILE): _TEXT,
        vol.Optional('archive_policy'): _TEXT,
        vol.Optional('filter_project', default='service'): str,
        vol.Optional('timeout', default=6.05): vol.All(
            vol.Coerce(float), vol.Range(min=0, min_included=False)),
        vol.Optional('auth', default='keystone'): vol.In(
            ['keystone', 'basic', 'noauth'], msg='expected keystone, basic or noauth'),
        vol.Optional('endpoint'): _TEXT,
        vol.Optional('user'): _TEXT,
        vol.Optional('user_id'): _TEXT,
        vol.Optional('project_id'): _TEXT,
        vol.Optional('roles'): _TEXT,
    }
    EXAMPLE_URL = 'gnocchi://127.0.0.1:8041?auth=basic&user=admin'
    _AUTH_OPTIONS = {'keystone': (), 'basic': ('user',),
                     'noauth': ('user_id', 'project_id', 'roles')}

    def __init__(self, url, conf):
        super().__init__(url, conf)
        options = self.options
        for name in ('user', 'user_id', 'project_id', 'roles'):
            if name in options and name not in self._AUTH_OPTIONS[options['auth']]:
                raise ValueError('option %s: only with auth=%s' % (
                    name, 'basic' if name == 'user' else 'noauth'))
        self.endpoint = self._endpoint(url)
        self._auth = self._auth_plugin(conf)
        try:
            self.mapping = resource_mapping.ResourceMapping.load(config_file.find_file(
                conf, options['resources_definition_file'], url.directory))
        except config_file.ConfigErrors as exc:
            raise ValueError('option resources_definition_file:\n%s' % exc) from None
        self.unmapped = collections.Counter()
        self._attributes = _AttributeCache(CACHE_SIZE)
        self._client = self._session = None
        self._ready = False
        self._skipped_projects = frozenset()
        self._attribute_schemas = {}

    def _endpoint(self, url):
        if url.parts.path not in ('', '/'):
            raise ValueError('the URL has a path; give a full URL with the option endpoint')
        endpoint = self.options.get('endpoint')
        if url.parts.netloc:
            if endpoint:
                raise ValueError('the URL has a host and the option endpoint: give one')
            try:
                port = url.parts.port or DEFAULT_PORT
            except ValueError as exc:
                raise ValueError('the URL has a bad port: %s' % exc) from None
            host = url.parts.hostname
            endpoint = 'http://%s:%d' % ('[%s]' % host if ':' in host else host, port)
        elif endpoint and urllib.parse.urlsplit(endpoint).scheme not in ('http', 'https'):
            raise ValueError('option endpoint: expected an http:// or https:// URL')
        if endpoint is None and self.options['auth'] != 'keystone':
            raise ValueError('auth=%s needs Gnocchi\'s address: gnocchi://HOST[:PORT] or '
                             'the option endpoint' % self.options['auth'])
        return endpoint

    def _auth_plugin(self, conf):
        options = self.options
        if options['auth'] == 'basic':
            return gnocchi_auth.GnocchiBasicPlugin(options.get('user', 'admin'), self.endpoint)
        if options['auth'] == 'noauth':
            if 'user_id' not in options or 'project_id' not in options:
                raise ValueError('auth=noauth needs the options user_id and project_id')
            return gnocchi_auth.GnocchiNoAuthPlugin(
                options['user_id'], options['project_id'], options.get('roles', 'admin'),
                self.endpoint)
        register_opts(conf)
        try:
            plugin = ka_loading.load_auth_from_conf_options(conf, GROUP)
        except ka_exc.ClientException as exc:
            raise ValueError('auth=keystone: [%s] %s' % (GROUP, exc)) from None
        if plugin is None:
            raise ValueError('auth=keystone needs [%s] auth_type (such as password) and its '
                             'options in the configuration file' % GROUP)
        return plugin

    def start(self):
        if self._client is not None:
            return
        adapter_options = {}
        if self.options['auth'] == 'keystone':
            self._session = ka_loading.load_session_from_conf_options(
                self.conf, GROUP, auth=self._auth, timeout=self.options['timeout'])
            adapter_options = {'interface': self.conf[GROUP].interface,
                               'region_name': self.conf[GROUP].region_name}
        else:
            self._session = ka_session.Session(auth=self._auth,
                                               timeout=self.options['timeout'])
        if self.endpoint:
            adapter_options['endpoint_override'] = self.endpoint
        self._client = gnocchi_client.Client(session=self._session,
                                             adapter_options=adapter_options)

    def stop(self):
        session, self._session, self._client = self._session, None, None
        if session is not None:
            session.session.close()  # the pooled connections of its requests.Session

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, self.endpoint or 'gnocchi (from the catalog)')

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, samples):
        if self._client is None:
            self.start()
        if not self._ready:
            with gnocchi_api.translated('preparing Gnocchi', len(samples)):
                self._prepare()
            self._ready = True
        if self._skipped_projects:
            samples = [s for s in samples if s.project_id not in self._skipped_projects]
        batch = self.mapping.group(samples)
        self._count_unmapped(batch.unmapped)
        if not batch.resources:
            return
        resources, measures = self._payload(batch)
        refused = self._post_measures(resources, measures)
        failures = self._update_attributes(resources, refused)
        if refused:
            dropped = sum(count for count, _ in refused.values())
            key, (_, error) = next(iter(refused.items()))
            raise base.PermanentPublishError(
                'Gnocchi refused to create %d resources, whose %d measures are dropped; '
                'first: %s: %s' % (len(refused), dropped, key, error), samples=dropped)
        if failures:
            raise base.PermanentPublishError(
                'the measures are stored, but Gnocchi refused to update %d resources; '
                'first: %s' % (len(failures), failures[0]), samples=0)

    def _count_unmapped(self, unmapped):
        for name, count in unmapped.items():
            if name not in self.unmapped:
                LOG.warning('%r: %s lists no resource type for the meter %s: its samples are '
                            'not archived', self, self.options['resources_definition_file'],
                            name)
            self.unmapped[name] += count

    def _payload(self, batch):
        """({Gnocchi resource key: MappedResource}, the batch request's body)."""
        override = self.options.get('archive_policy')
        resources, measures = {}, {}
        for resource in batch.resources.values():
            # As Ceilometer: '/' cannot be in a resource id in Gnocchi's URLs.
            key = resource.original_resource_id.replace('/', '_')
            resources.setdefault(key, resource)
            metrics = measures.setdefault(key, {})
            for metric in resource.metrics.values():
                entry = metrics.get(metric.name)
                if entry is None:
                    entry = metrics[metric.name] = {'measures': [], 'unit': metric.unit}
                    policy = override or metric.archive_policy_name
                    if policy:
                        entry['archive_policy_name'] = policy
                entry['measures'].extend(
                    {'timestamp': timestamp.isoformat(), 'value': value}
                    for timestamp, value in zip(metric.timestamps, metric.values))
        return resources, measures

    def _post_measures(self, resources, measures):
        """Send the batch, creating the resources Gnocchi does not know first; returns
        {key: (measures dropped, error)} of the resources Gnocchi refused to create."""
        count = _count(measures.values())
        try:
            with gnocchi_api.translated('posting %d measures' % count, count,
                                        keep=gnocchi_api.unknown_resources):
                self._client.metric.batch_resources_metrics_measures(
                    measures, create_metrics=True)
            return {}
        except gnocchi_exc.BadRequest as exc:
            unknown = gnocchi_api.unknown_resources(exc)
        refused = {}
        for key in unknown:
            if key in resources:  # else not one of this batch's: nothing of it to send
                error = self._create_resource(key, resources[key], count)
                if error is not None:
                    refused[key] = (_count([measures.pop(key)]), error)
        if measures:
            left = _count(measures.values())
            with gnocchi_api.translated('posting %d measures' % left, left):
                self._client.metric.batch_resources_metrics_measures(
                    measures, create_metrics=True)
        return refused

    def _create_resource(self, key, resource, count):
        """Create one resource; the PermanentPublishError if Gnocchi refuses it."""
        attributes = self._gnocchi_attributes(resource)
        body = dict(attributes, id=key, user_id=resource.user_id,
                    project_id=resource.project_id)
        try:
            with gnocchi_api.translated('creating the resource %s' % key, count,
                                        keep=lambda exc: isinstance(exc, gnocchi_exc.Conflict)):
                self._client.resource.create(resource.resource_type, body)
        except gnocchi_exc.Conflict:
            return None  # created since by another agent: its attributes are checked later
        except base.PermanentPublishError as exc:
            return exc
        self._attributes.put(key, _digest(resource.resource_type, attributes))
        return None

    def _update_attributes(self, resources, refused):
        """PATCH the resources whose attributes changed since they were last sent; returns
        the PermanentPublishErrors of those Gnocchi refused."""
        failures = []
        for key, resource in resources.items():
            attributes = self._gnocchi_attributes(resource)
            digest = _digest(resource.resource_type, attributes)
            if key in refused or not attributes or self._attributes.get(key) == digest:
                continue
            try:
                with gnocchi_api.translated('updating the resource %s' % key, 0):
                    self._client.resource.update(resource.resource_type, key, attributes)
            except base.PermanentPublishError as exc:
                failures.append(exc)
            # Refused attributes are not sent again until they change.
            self._attributes.put(key, digest)
        return failures

    def _gnocchi_attributes(self, resource):
        return gnocchi_api.coerce_attributes(
            resource.attributes, self._attribute_schemas.get(resource.resource_type, {}))

    # -- events: resources start and end ---------------------------------------------------------

    def handles_event(self, event_type):
        return self.mapping.events.handles(event_type)

    def publish_events(self, events):
        """Create and end resources as the mapping's lifecycle keys say; an event applied
        twice changes nothing more."""
        if self._client is None:
            self.start()
        if not self._ready:
            with gnocchi_api.translated('preparing Gnocchi', len(events)):
                self._prepare()
            self._ready = True
        now = datetime.datetime.now(datetime.timezone.utc)
        actions, skipped = self.mapping.events.actions(events, now)
        if skipped:
            LOG.warning('%r: %d events name no resource (%s): left out', self,
                        sum(skipped.values()), ', '.join(sorted(skipped)))
        gnocchi_events.apply(self._client, actions, self._attribute_schemas, len(events))

    # -- what the mapping needs in Gnocchi ------------------------------------------------------

    def _prepare(self):
        override = self.options.get('archive_policy')
        gnocchi_api.ensure_archive_policies(
            self._client, [override] if override else self.mapping.archive_policy_names(),
            'the URL' if override else self.options['resources_definition_file'])
        self._attribute_schemas = gnocchi_api.ensure_resource_types(
            self._client, self.mapping.resource_types())
        self._skipped_projects = self._projects_to_skip()

    def _projects_to_skip(self):
        name = self.options['filter_project']
        if not name:
            return frozenset()
        if self.options['auth'] != 'keystone':
            return frozenset((name,))
        identity = ka_adapter.Adapter(
            self._session, service_type='identity', interface=self.conf[GROUP].interface,
            region_name=self.conf[GROUP].region_name, version=(3, 0))
        projects = identity.get('/projects', params={'name': name}).json().get('projects', [])
        return frozenset([name] + [project['id'] for project in projects])


class _AttributeCache:
    """A bounded map key -> digest that forgets the least recently used keys first."""

    def __init__(self, size):
        self.size = size
        self._items = collections.OrderedDict()

    def get(self, key):
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key, value):
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self):
        return len(self._items)


def _digest(resource_type, attributes):
    text = json.dumps([resource_type, attributes], sort_keys=True, separators=(',', ':'))
    return hashlib.blake2b(text.encode('utf-8'), digest_size=16).digest()


def _count(metrics_of_resources):
    return sum(len(metric['measures']) for metrics in metrics_of_resources
               for metric in metrics.values())
