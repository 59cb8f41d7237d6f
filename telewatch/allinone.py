"""telewatch-all-in-one: the whole chain in one process on one machine, with no bus and no
other service: polling hands each batch straight to the production pipeline.yaml, whose
publishers write under one data directory."""

import errno
import logging
import os
import threading
import time

import waitress

from telewatch import allinone_progress
from telewatch import bus
from telewatch import component_reports
from telewatch import config_file
from telewatch import delivery
from telewatch import loops
from telewatch.alarms import storage as alarm_storage
from telewatch.alarms.evaluator import evaluator as alarm_evaluator
from telewatch.api import app as api_app
from telewatch.api import auth
from telewatch.archive import policy as policy_mod
from telewatch.cloudwatch import app as cloudwatch_app
from telewatch.cloudwatch import credentials as cloudwatch_credentials
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as archive_store
from telewatch.pipeline import config as pipeline_config
from telewatch.pipeline import engine
from telewatch.polling import agent as agent_mod
from telewatch.pollsters import base as pollster_base
from telewatch.pollsters import libvirt_inspector
from telewatch.publishers import archive as archive_publisher
from telewatch.publishers import file as file_publisher

LOG = logging.getLogger(__name__)

LIBVIRT_PROBE_TIMEOUT = 5.0
# Who a request without credentials is: the operator at the console, an admin.
ANONYMOUS = auth.RequestContext(user_id='admin', project_id='admin', roles=('admin',),
                                auth_method=auth.HEADERS)


class PipelineSender(bus.Sender):
    """Hands each batch straight to a PipelineManager (``process(samples) -> bool``).

    False from ``process`` means a publisher handed samples back; with no bus to redeliver
    the batch later, it is processed again after a doubling backoff, ``retries`` times
    (at-least-once, as a redelivery from the bus would be), then dropped. Every sample is
    counted in ``counters``: ``polled`` (received), ``accepted``, ``retried`` (each new
    attempt), ``dropped``.
    Thread-safe: each interval group of the polling agent sends from its own thread.
    """

    def __init__(self, manager, retries=3, backoff=1.0, sleep=time.sleep):
        super().__init__(secret=None)  # nothing leaves the process: nothing to sign
        self._manager = manager
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.counters = delivery.Counters()

    def send(self, samples):
        self.counters.add('polled', len(samples))
        try:
            delivery.retry(lambda: self._process(samples), _HandedBack, self._retries,
                           delivery.Backoff(self._backoff, maximum=None),  # retries bound it
                           self._sleep, lambda exc, retry, delay: self._retrying(
                               samples, retry, delay))
        except _HandedBack:
            self.counters.add('dropped', len(samples))
            LOG.error('a publisher handed back a batch of %d samples %d times: dropped',
                      len(samples), self._retries + 1)
        else:
            self.counters.add('accepted', len(samples))

    def _process(self, samples):
        if not self._manager.process(samples):
            raise _HandedBack()

    def _retrying(self, samples, retry, delay):
        LOG.warning('a publisher handed back a batch of %d samples; processing it again in '
                    '%.1f s (retry %d of %d)', len(samples), delay, retry, self._retries)
        self.counters.add('retried', len(samples))


class _HandedBack(Exception):
    """A publisher handed the batch back (PipelineManager.process returned False)."""


def probe_libvirt(uri, timeout=LIBVIRT_PROBE_TIMEOUT):
    """None when a read-only connection to ``uri`` opens within ``timeout`` seconds, else
    why not. The attempt runs in a daemon thread: a hung libvirtd cannot hold start-up."""
    try:
        libvirt = libvirt_inspector.import_libvirt()
    except pollster_base.PluginUnavailable as exc:
        return str(exc)
    outcome = []

    def connect():
        try:
            libvirt.openReadOnly(uri).close()
        except Exception as exc:
            outcome.append(str(exc) or type(exc).__name__)
        else:
            outcome.append(None)

    thread = threading.Thread(target=connect, name='libvirt-probe', daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else 'no answer within %g s' % timeout


def _namespaces(conf):
    """The namespaces to poll, and what the operator should know of instances."""
    uri = conf.compute.libvirt_uri
    failure = probe_libvirt(uri)
    if failure is None:
        LOG.info('libvirt answers at %s: the compute pollsters poll', uri)
        return ['host', 'compute'], (
            'polled through libvirt at %s (the shipped pipeline.yaml derives cpu_util and '
            '*.rate)' % uri)
    note = ('not polled: libvirt at %s does not answer (%s): no instance meters, no '
            'cpu_util, no disk.*.rate or network.*.rate' % (uri, failure))
    LOG.warning('instances %s', note)
    return ['host'], note


def _override_interval(manager, seconds):
    # In memory, on the sources just loaded: errors still point into the operator's file,
    # and no derived copy of it can go stale in the data directory.
    for source, _ in manager.tasks:
        source.interval = seconds


class ListenError(Exception):
    """The API cannot listen where it was asked to."""


def _listen(app, host, port):
    """The API's waitress server on ``host:port``; ListenError naming them otherwise."""
    try:
        return waitress.create_server(app, host=host, port=port, threads=4, ident='telewatch')
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            reason += (' (another telewatch-all-in-one or telewatch-api? --port PORT '
                       'chooses another port)')
        raise ListenError('the API cannot listen on %s:%d: %s' % (host, port, reason)) \
            from None


class AllInOne:
    """The archive store and its processor, the pipeline and, unless ``conf.no_polling``,
    the polling agent feeding it."""

    def __init__(self, conf):
        self.conf = conf
        self.archive = archive_store.ArchiveStore.from_conf(conf)
        self.archive.upgrade(policies=policy_mod.all_in_one_policies())
        alarm_storage.AlarmStore.from_conf(conf).upgrade()
        self.processor = processor_mod.ArchiveProcessor(conf, self.archive)
        self.evaluator = alarm_evaluator.AlarmEvaluator(conf, archive=self.archive)
        self._stopping = threading.Event()
        conf.set_override('auth_strategy', 'noauth', group='api')
        self.api = _listen(api_app.make_app(conf, self.archive, self._processor_counters,
                                            anonymous=ANONYMOUS), conf.host, conf.port)
        self._api_thread = loops.LoopThread('api', self.api.run, self._stopping)
        conf.set_override('auth_strategy', 'keys_file', group='cloudwatch')
        self.cloudwatch = _listen(cloudwatch_app.make_app(conf, self.archive),
                                  conf.host, conf.cloudwatch_port)
        self._cloudwatch_thread = loops.LoopThread('cloudwatch', self.cloudwatch.run,
                                                   self._stopping)
        self.pipeline_file = pipeline_config.find_pipeline_file(conf)
        self.definition = pipeline_config.load_pipeline(self.pipeline_file, conf)
        self.pipeline = engine.PipelineManager(self.definition, conf)
        self.sender = PipelineSender(self.pipeline)
        self.reports = component_reports.ComponentReports(self.archive)  # /v1/status
        self.reports.add('agent', lambda: component_reports.agent_report(
            self.pipeline, polled=self.sender.counters['polled']))
        self.progress = allinone_progress.ProgressLog(
            self.counts, lambda: self.archive.status()['summary']['measures'],
            conf.progress_interval)
        self.agent = None
        self.instances_note = None
        if not conf.no_polling:
            namespaces, self.instances_note = _namespaces(conf)
            conf.set_override('namespace', namespaces)
            # One node, no fleet to spread: the first cycle at once, a curve sooner.
            self.agent = agent_mod.PollingAgent(conf, sender=self.sender, first_poll_delay=0)
            if conf.interval:
                _override_interval(self.agent.manager, conf.interval)

    def start(self):
        """Consumers first: the archive's processor, the pipeline's publishers, then
        polling; returns at once, each running in its threads."""
        self.processor.start()
        self.evaluator.start()
        self._api_thread.start()
        self._cloudwatch_thread.start()
        self.pipeline.start()
        if self.agent is not None:
            self.agent.start()
        self.progress.start()
        self.reports.start()

    def stop(self):
        """Producers first: polling (cycles in flight finish and are handed on), then the
        pipeline (transformers flushed, publishers stopped)."""
        self.progress.stop()
        self.reports.stop()
        self._stopping.set()
        if self.agent is not None:
            self.agent.stop()
        self.pipeline.stop()
        self.api.close()
        self.cloudwatch.close()
        self.processor.stop()
        self.processor.run_once()  # what the pipeline wrote last
        self.evaluator.stop()
        self.archive.close()

    def threads(self):
        """Every thread that runs until ``stop`` (see telewatch.cmd.all_in_one)."""
        threads = (self.processor.threads() + self.evaluator.threads() + [self._api_thread]
                   + [self._cloudwatch_thread] + self.pipeline.threads())
        return threads + (self.agent.threads() if self.agent is not None else [])

    def loop_errors(self):
        """The unexpected errors the loops of every part outlived, by loop."""
        errors = (self.processor.loop_errors + self.evaluator.loop_errors
                  + self.pipeline.loop_errors)
        if self.agent is not None:
            errors += self.agent.loop_errors
        return dict(errors)

    def describe(self):
        """What runs and where the data goes, a few lines for the operator."""
        lines = ['telewatch all-in-one: polling, pipeline and archive in one process, no bus',
                 '  data directory: %s' % self.conf.data_dir,
                 '  archive:        %s, %s' % self.archive.locations(),
                 '  policies:       %s' % self._describe_policies(),
                 '  alarms:         evaluated as the archive aggregates their metrics, and '
                 'every %g s' % self.conf.alarms.evaluation_interval]
        for publisher in self.definition.publishers():
            if isinstance(publisher, file_publisher.FilePublisher):
                lines.append('  samples:        %s' % publisher.path)
            else:
                lines.append('  publisher:      %s' % publisher.url.for_display)
        lines.append('  pipeline:       %s' % os.path.abspath(self.pipeline_file))
        lines.extend(self._describe_polling())
        api = 'http://%s:%d' % (self.conf.host, self.conf.port)
        lines += ['  API:            %s/ with no authentication (a request without '
                  'credentials is an admin)' % api,
                  '  try:            curl %s/v1/resource/host' % api,
                  '                  gnocchi --endpoint %s resource list' % api,
                  '  console:        %s/console/ in a browser' % api]
        lines += self._describe_cloudwatch()
        lines += ['  progress:       a line in the log every %d s' % self.conf.progress_interval,
                  'Ctrl-C to stop.']
        return lines

    def _describe_cloudwatch(self):
        path = cloudwatch_credentials.keys_file_path(self.conf)
        key = next(iter(cloudwatch_credentials.load_keys_file(path).values()))
        url = 'http://%s:%s' % (self.conf.host, self.cloudwatch.effective_port)
        return ['  CloudWatch API: %s/ (SigV4: access key %s, its secret in %s)'
                % (url, key.access, path),
                '  try:            AWS_SHARED_CREDENTIALS_FILE=%s aws cloudwatch list-metrics '
                '--endpoint-url %s --region %s' % (path, url, self.conf.cloudwatch.region)]

    def _describe_policies(self):
        coarse = []
        for name in policy_mod.MINUTE_POINTS_POLICIES:
            if 60 * 10 ** 9 not in self.archive.index.get_archive_policy(name).granularities:
                coarse.append(name)
        if not coarse:
            return ('%s keep 1-minute points for a day, then 5-minute points for 30 days'
                    % ', '.join(policy_mod.MINUTE_POINTS_POLICIES))
        LOG.warning('archive policies %s have no 1-minute points: this data directory was '
                    'created by an older telewatch', ', '.join(coarse))
        return ('%s keep 5-minute points only (made by an older telewatch; a new --data-dir '
                'also keeps 1-minute points)' % ', '.join(coarse))

    def _describe_polling(self):
        if self.agent is None:
            return ['  polling:        off (--no-polling)']
        meters = {pollster.name for _, pollster in self.agent.manager.tasks}
        every = ('every %d s' % self.conf.interval if self.conf.interval
                 else 'at the intervals of the polling file')
        return ['  polling:        %s %s, the first cycle now, %d meters (%s)' % (
                    ', '.join(self.conf.namespace), every, len(meters),
                    os.path.abspath(config_file.find_file(self.conf,
                                                          self.conf.polling.cfg_file))),
                '  host:           this node\'s hardware.* (the shipped pipeline.yaml derives '
                'hardware.disk.*.rate and hardware.network.*.rate)',
                '  instances:      %s' % self.instances_note]

    def _processor_counters(self):
        return {'measures_processed': self.processor.processed,
                'measures_rejected_late': self.processor.rejected,
                'measures_of_deleted_metrics': self.processor.orphaned,
                'loop_errors': self.loop_errors()}

    def counts(self):
        """allinone_progress.Counts since start-up."""
        archives = [publisher for publisher in self.definition.publishers()
                    if isinstance(publisher, archive_publisher.ArchivePublisher)]
        sender = self.sender.counters
        return allinone_progress.Counts(
            polled=sender['polled'],
            derived=sum(p.published for p in self.pipeline.pipelines if p.transformers),
            archived=sum(publisher.archived for publisher in archives),
            aggregated=self.processor.processed, too_late=self.processor.rejected,
            unmapped=sum(sum(publisher.unmapped.values()) for publisher in archives),
            dropped=sender['dropped'] + sum(runner.counters['dropped']
                                            for runner in self.pipeline.runners))

    def summary(self):
        counters = self.sender.counters
        return ('stopped: %d polled samples processed, %d processed again, %d dropped; '
                '%d measures archived, %d rejected as too late'
                % (counters['accepted'], counters['retried'], counters['dropped'],
                   self.processor.processed, self.processor.rejected))
