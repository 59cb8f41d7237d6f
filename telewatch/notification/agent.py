"""The notification agent: listens on the bus, runs pipeline.yaml, reloads pipeline.yaml and
meters.yaml on SIGHUP (or when they change), and reports what it did. Its periodic loops
(status, reload, membership) outlive an unexpected error, counted in the status'
``loop_errors`` (telewatch.loops)."""

import collections
import gc
import json
import logging
import os
import threading

import oslo_messaging
import oslo_messaging.opts
from oslo_config import cfg

from telewatch import bus
from telewatch import component_reports
from telewatch import config_file
from telewatch import loops
from telewatch.alarms import event_listener
from telewatch.notification import decoders
from telewatch.notification import intake as intake_mod
from telewatch.notification import meter_definitions
from telewatch.notification import partitioning
from telewatch.notification import rabbit
from telewatch.pipeline import config as pipeline_config
from telewatch.pipeline import engine

LOG = logging.getLogger(__name__)
GC_THRESHOLD = 50000

OPTS = [
    cfg.IntOpt('batch_size', default=10, min=1,
               help='Messages handed to the pipeline at once (one batch, one flush). Small '
                    'batches keep fewer decoded samples alive at once, which the garbage '
                    'collector would scan: 10 measured faster than 100 or 1000.'),
    cfg.FloatOpt('batch_timeout', default=1.0, min=0.01,
                 help='Seconds to wait for a batch to fill before handing over what came.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Notification agent processes on this host (each consumes its share '
                    'of the messages; use workload_partitioning with stateful '
                    'transformers).'),
    cfg.StrOpt('meters_cfg_file', default='meters.yaml',
               help='Meter definitions for other services\' notifications (looked up like '
                    'pipeline_cfg_file).'),
    cfg.ListOpt('notification_control_exchanges',
                default=['nova', 'glance', 'cinder', 'neutron', 'heat', 'keystone',
                         'swift', 'trove', 'zaqar', 'magnum', 'octavia', 'manila'],
                help='Exchanges of the other services whose notifications (topic '
                     '"notifications") become samples through the meter definitions.'),
    cfg.StrOpt('notifications_topic', default='notifications',
               help='Topic the other services notify on.'),
    cfg.IntOpt('pipeline_reload_interval', default=0, min=0,
               help='Seconds between checks of pipeline.yaml and meters.yaml for changes '
                    '(0: reload only on SIGHUP).'),
    cfg.IntOpt('status_interval', default=60, min=1,
               help='Seconds between two logs (and writes of status_file) of the counters.'),
    cfg.StrOpt('status_file', default='',
               help='Where to write the counters as JSON every status_interval (for the '
                    'API\'s status); empty: only log them.'),
    cfg.IntOpt('message_attempts', default=3, min=1,
               help='How many times a message whose processing raises an unexpected error '
                    '(or whose samples a publisher hands back, alone, while the others are '
                    'taken) is processed alone before it is dead-lettered (written to '
                    '<data_dir>/dead-letter/notification.jsonl and acknowledged).'),
]


class Pipelines:
    """pipeline.yaml and meters.yaml as loaded together; ConfigErrors if either is bad."""

    def __init__(self, conf):
        self.pipeline_file = pipeline_config.find_pipeline_file(conf)
        self.meters_file = config_file.find_file(conf, conf.notification.meters_cfg_file)
        self.manager = engine.PipelineManager(
            pipeline_config.load_pipeline(self.pipeline_file, conf), conf)
        self.meter_definitions = meter_definitions.load_definitions(self.meters_file)
        self.stamp = self.files_stamp()

    def files_stamp(self):
        stamp = []
        for path in (self.pipeline_file, self.meters_file):
            try:
                info = os.stat(path)
                stamp.append((path, info.st_mtime_ns, info.st_size))
            except OSError:
                stamp.append((path, None, None))
        return stamp


class NotificationAgent:
    def __init__(self, conf, transport=None):
        self.conf = conf
        self.secret = conf.publisher.telemetry_secret
        self.loop_errors = collections.Counter()
        self._current = Pipelines(conf)
        self._reports = None
        self.event_alarms = event_listener.from_conf(conf)  # None unless [alarms] event_alarms
        self.intake = intake_mod.Intake(
            self.process, self._decoders(),
            intake_mod.DeadLetters(os.path.join(conf.data_dir, 'dead-letter')),
            attempts=conf.notification.message_attempts)
        self._unreadable = rabbit.UnreadableMessages(self.intake)
        self._bus = bus.open(conf)
        self._transport = transport
        self._lock = threading.Lock()
        self._listener = None
        self._stopping = threading.Event()
        self._threads = []
        self._coordinator = None
        self.partitions = None  # all of them, without workload partitioning

    # -- what the intake uses ----------------------------------------------------------------

    @property
    def meter_definitions(self):
        return self._current.meter_definitions

    def process(self, records):
        """Samples through the pipelines, then events (decoders.Event) to the publishers
        that take them; False as PipelineManager.process."""
        samples = [r for r in records if r.__class__ is not decoders.Event]
        events = [r for r in records if r.__class__ is decoders.Event] if (
            len(samples) < len(records)) else ()
        with self._lock:
            return self._current.manager.process(samples, events=events)

    def wants_event(self, event_type):
        return self._current.manager.wants_event(event_type)

    def _decoders(self):
        def samples(message):
            return decoders.decode_samples(message, self.secret)
        notifications = decoders.NotificationDecoder(lambda: self.meter_definitions,
                                                     self.wants_event)
        if self.event_alarms is not None:
            notifications = self.event_alarms.tap(notifications)
        return dict([(priority, samples) for priority in decoders.SAMPLE_PRIORITIES]
                    + [(priority, notifications)
                       for priority in decoders.NOTIFICATION_PRIORITIES])

    # -- lifecycle -----------------------------------------------------------------------------

    def targets(self):
        """Sample topics (this agent's partitions only, when partitioned) and the other
        services' notification topics."""
        topics = bus.topics(self.conf)
        if self.partitions is not None:
            topics = [topics[n] for n in self.partitions]
        targets = [oslo_messaging.Target(topic=topic) for topic in topics]
        targets += [oslo_messaging.Target(topic=self.conf.notification.notifications_topic,
                                          exchange=exchange)
                    for exchange in self.conf.notification.notification_control_exchanges]
        return targets

    def start(self):
        """Publishers first, then the listener: nothing is consumed before it can go on."""
        # Each batch allocates thousands of short-lived objects (decoded samples): with the
        # default threshold the collector scans them again and again (measured: ~4 us per
        # sample). Reference counting frees them; cycles are rare here.
        gc.set_threshold(GC_THRESHOLD, 20, 100)
        self._current.manager.start()
        self._reports = component_reports.for_agent(self.conf, lambda: self._current.manager)
        if self._reports is not None:  # /v1/status's components
            self._reports.start()
        if self.event_alarms is not None:
            self.event_alarms.start()
        if self._bus.divides_partitions:
            # Kafka's consumer group divides the partitions: no tooz, no oslo transport.
            self._listener = self._bus.listener(
                self.intake, self.loop_errors, self.conf.notification.message_attempts)
            self._listener.start()
            self._start_thread(self._report_periodically, 'status')
            return
        if self._transport is None:
            self._transport = bus.get_transport(self.conf)
        # One batch at a time, in order: a stateful transformer must see a resource's
        # samples in the order they were sent (the pipeline is locked anyway).
        oslo_messaging.opts.set_defaults(self.conf, executor_thread_pool_size=1)
        if self.conf.bus.workload_partitioning:
            self._coordinator = partitioning.PartitionCoordinator(self.conf)
            self._coordinator.start()
            self.partitions = self._coordinator.owned()
            self._start_thread(self._watch_membership, 'membership')
        self._start_listener()
        self._start_thread(self._report_periodically, 'status')
        if self.conf.notification.pipeline_reload_interval:
            self._start_thread(self._watch_files, 'reload')

    def _start_listener(self):
        """The listener on oslo.messaging (Kafka's starts in ``start``)."""
        LOG.info('consuming %s', ', '.join('%s/%s' % (t.exchange or '', t.topic)
                                           for t in self.targets()))
        self._unreadable.install()
        self._listener = rabbit.listener(
            self._transport, self.targets(), self.intake,
            self.conf.notification.batch_size, self.conf.notification.batch_timeout)
        self._listener.start()

    def _stop_listener(self):
        """Stop consuming; the batch in hand is finished and acknowledged first."""
        if self._listener is not None:
            self._listener.stop()
            if hasattr(self._listener, 'wait'):  # oslo.messaging's: stop, then drain
                self._listener.wait()
            self._listener = None

    def _watch_membership(self):
        loops.run_every('membership', self.conf.coordination.check_watchers,
                        self._follow_membership, self._stopping, self.loop_errors)

    def _follow_membership(self):
        try:
            owned = self._coordinator.owned()
        except Exception:
            LOG.exception('cannot read the group membership; keeping the partitions')
            return
        if owned != self.partitions:
            LOG.info('partitions %s -> %s', self.partitions, owned)
            self._stop_listener()
            self.partitions = owned
            self._start_listener()

    def _start_thread(self, target, name):
        self._threads.append(loops.start_thread(name, target, self._stopping))

    def threads(self):
        """The threads that run as long as the agent (see service.AgentService)."""
        threads = list(self._threads) + self._current.manager.threads()
        listener_thread = getattr(self._listener, 'thread', None)
        if self.event_alarms is not None:
            threads += self.event_alarms.threads()
        return threads + ([listener_thread] if listener_thread is not None else [])

    def stop(self):
        """Stop consuming, finish and acknowledge the batch in hand, flush every pipeline."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self._stop_listener()
        self._unreadable.remove()
        if self._coordinator is not None:
            self._coordinator.stop()
        with self._lock:
            self._current.manager.stop()
        if self._reports is not None:
            self._reports.stop()
        if self.event_alarms is not None:
            self.event_alarms.stop()
        self.report()

    def reload(self):
        """Load the files again; a bad one is rejected and the running pipeline goes on. A
        good one replaces it between two batches, after the old one is flushed."""
        try:
            new = Pipelines(self.conf)
        except config_file.ConfigErrors as exc:
            LOG.error('the new configuration is rejected, the running one goes on:\n%s', exc)
            return False
        new.manager.start()
        with self._lock:
            old, self._current = self._current, new
            old.manager.stop()
        LOG.info('reloaded %s and %s', new.pipeline_file, new.meters_file)
        return True

    def _watch_files(self):
        loops.run_every('reload', self.conf.notification.pipeline_reload_interval,
                        self._reload_if_changed, self._stopping, self.loop_errors)

    def _reload_if_changed(self):
        if self._current.files_stamp() != self._current.stamp:
            self.reload()

    # -- status ----------------------------------------------------------------------------------

    def status(self):
        status = self._current.manager.counters()
        status['partitions'] = self.partitions
        status.update(self.intake.counters())
        status['meter_definitions'] = dict(self._current.meter_definitions.counters)
        if self.event_alarms is not None:
            status['event_alarms'] = self.event_alarms.counters()
        status['loop_errors'] = dict(collections.Counter(status.get('loop_errors', {}))
                                     + self.loop_errors)
        return status

    def report(self):
        status = self.status()
        LOG.info('status: %s', json.dumps(status, sort_keys=True))
        path = self.conf.notification.status_file
        if path:
            temporary = '%s.%d.tmp' % (path, os.getpid())
            with open(temporary, 'w') as stream:
                json.dump(status, stream, sort_keys=True)
            os.replace(temporary, path)

    def _report_periodically(self):
        loops.run_every('status', self.conf.notification.status_interval, self._report,
                        self._stopping, self.loop_errors)

    def _report(self):
        try:
            self.report()
        except OSError as exc:
            LOG.error('cannot write the status: %s', exc)
