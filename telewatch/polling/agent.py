"""The polling agent as a whole: plugins, polling.yaml, schedule and sender, with start,
reload (a bad new file keeps the old one running), stop, and the one-shot test mode."""

import collections
import json
import logging
import time

from oslo_config import cfg

from telewatch import config_file
from telewatch.polling import config
from telewatch.polling import loader
from telewatch.polling import manager as manager_mod
from telewatch.polling import sender as sender_mod

LOG = logging.getLogger(__name__)

OPTS = [
    cfg.StrOpt('cfg_file', default='polling.yaml',
               help='The polling definition (sources: meters, interval, resources). A '
                    'relative path is looked up in the working directory, then in the '
                    'configuration directories; last comes the copy installed with '
                    'telewatch.'),
    cfg.IntOpt('batch_size', default=50, min=0,
               help='Samples per message sent (0: one sample per message).'),
    cfg.IntOpt('batches_in_flight', default=4, min=1,
               help='Batches a polling cycle keeps on their way to the bus at once. Each '
                    'waits for the broker\'s confirmation on its own connection (up to '
                    'this many per agent); RabbitMQ writes them to disk together, which '
                    'measured half its CPU per message at 4, and the cycle does not wait '
                    'for each confirmation in turn. 1: one at a time. The cycle still ends '
                    'only when every batch is confirmed, so the batches of one cycle may '
                    'arrive in any order but the cycles stay in order (one sample per '
                    'meter and resource a cycle: each series stays in order).'),
    cfg.StrOpt('output', default='',
               help='Empty (the default): send the signed batches on the bus ([DEFAULT] '
                    'transport_url) to the notification agents. A file path, or - for '
                    'standard output: write them there instead, one JSON message per line.'),
]


class PollingAgent:
    """``first_poll_delay``: seconds to the first cycle of each interval group (None: a
    random part of the interval, so that a fleet does not poll in lock-step)."""

    def __init__(self, conf, sender=None, first_poll_delay=None):
        self.conf = conf
        self.first_poll_delay = first_poll_delay
        self.pollsters = loader.load_pollsters(conf, conf.namespace)
        self.discoveries = loader.load_discoveries(conf)
        self.manager = self._load()
        self._sender = sender
        self._scheduler = None
        self.loop_errors = collections.Counter()  # cycles that raised, kept across reloads

    def _load(self):
        """A PollingManager for the current polling file; ConfigErrors if it is bad."""
        path = config_file.find_file(self.conf, self.conf.polling.cfg_file)
        sources = config.load_polling(path, loader.provided_meters(),
                                      loader.discovery_names())
        manager = manager_mod.PollingManager(self.conf, sources, self.pollsters,
                                             self.discoveries)
        LOG.info('polling %s: %d sources, %d (source, meter) tasks in %d interval groups',
                 path, len(sources), len(manager.tasks), len(manager.groups()))
        return manager

    def test(self, stdout, stderr):
        """Poll every source once and print the samples as JSON lines; 1 if some source
        could not be polled at all."""
        def write(samples):
            for sample in samples:
                stdout.write(json.dumps(sample.to_dict()) + '\n')
        report = self.manager.poll(self.manager.tasks, write)
        stdout.flush()
        for source in report.unpolled_sources():
            stderr.write('source %s could not be polled:\n' % source)
            for failure in report.failures[source]:
                stderr.write('  %s\n' % failure)
        if not self.manager.tasks:
            stderr.write('no pollster of the namespaces %s is selected by any source\n'
                         % ', '.join(self.conf.namespace))
            return 1
        return 1 if report.unpolled_sources() else 0

    def _cycle(self, tasks):
        started = time.monotonic()
        batcher = sender_mod.Batcher(self._sender, self.conf.polling.batch_size,
                                     self.conf.polling.batches_in_flight)
        report = self.manager.poll(tasks, batcher.add)
        batcher.flush()
        LOG.info('polled %d samples from %d sources in %.2f s', batcher.sent,
                 len(report.samples), time.monotonic() - started)

    def start(self):
        if self._sender is None:
            self._sender = sender_mod.make_sender(self.conf)
        self._scheduler = manager_mod.Scheduler(self.manager, self._cycle,
                                                first_delay=self.first_poll_delay,
                                                loop_errors=self.loop_errors)
        self._scheduler.start()

    def reload(self):
        """Re-read the polling file; keep the running one if the new one is bad."""
        try:
            manager = self._load()
        except config_file.ConfigErrors as exc:
            LOG.error('the new polling file is rejected, the old one keeps running:\n%s',
                      exc)
            return False
        self._scheduler.stop()
        self.manager = manager
        self._scheduler = manager_mod.Scheduler(self.manager, self._cycle,
                                                first_delay=self.first_poll_delay,
                                                loop_errors=self.loop_errors)
        self._scheduler.start()
        return True

    def threads(self):
        """The polling threads, one per interval group (see service.AgentService)."""
        return list(self._scheduler.threads) if self._scheduler is not None else []

    def stop(self):
        """Let the cycles in flight finish and send what they polled."""
        if self._scheduler is not None:
            self._scheduler.stop()
        if self._sender is not None:
            self._sender.close()
