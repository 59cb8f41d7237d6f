"""The polling agent's work: cycles of pollsters over their resources, grouped by interval,
each group on its own schedule, the samples handed on in signed batches.
"""

import collections
import logging
import random
import threading
import time

from telewatch import delivery
from telewatch import loops
from telewatch.pollsters import base

LOG = logging.getLogger(__name__)


class CycleReport:
    """What one cycle did, per source: samples produced and pollster failures."""

    def __init__(self):
        self.samples = {}
        self.failures = {}

    def count(self, source, samples=0, failure=None):
        self.samples[source] = self.samples.get(source, 0) + samples
        if failure is not None:
            self.failures.setdefault(source, []).append(failure)

    def unpolled_sources(self):
        """Sources whose every pollster failed and which produced nothing."""
        return sorted(name for name, failures in self.failures.items()
                      if failures and not self.samples.get(name))


class PollingManager:
    """Runs the pollsters that each source selects.

    ``tasks``: (source, pollster) pairs; ``emit(samples)`` receives each pollster's samples.
    The blacklist of PermanentPollError lives here, per (source, meter), and forgets a
    resource once discovery stops returning it.
    """

    def __init__(self, conf, sources, pollsters, discoveries):
        self.conf = conf
        self.discoveries = discoveries
        self.tasks = [(source, pollster) for source in sources
                      for name, pollster in sorted(pollsters.items()) if source.meters(name)]
        self._blacklist = {}

    def groups(self):
        """{interval: [tasks]}: one schedule per distinct interval."""
        grouped = {}
        for source, pollster in self.tasks:
            grouped.setdefault(source.interval, []).append((source, pollster))
        return grouped

    def poll(self, tasks, emit):
        """One cycle over ``tasks`` (in random order); returns a CycleReport."""
        context = base.PollContext(self.conf)
        discovered, polled, report = {}, set(), CycleReport()
        for source, pollster in random.sample(tasks, len(tasks)):
            try:
                resources = self._resources(context, source, pollster, discovered)
            except Exception as exc:
                LOG.exception('source %s: discovery for %s failed', source.name, pollster.name)
                report.count(source.name, failure='%s: discovery: %s' % (pollster.name, exc))
                continue
            resources = self._not_yet_polled(pollster, resources, polled)
            resources = self._without_blacklisted(source, pollster, resources)
            if not resources:
                LOG.debug('source %s: nothing to poll for %s', source.name, pollster.name)
                continue
            self._run(context, source, pollster, resources, emit, report)
        return report

    def _run(self, context, source, pollster, resources, emit, report):
        produced = []
        try:
            produced.extend(pollster.get_samples(context, resources))
        except base.PermanentPollError as exc:
            keys = {base.resource_key(r) for r in exc.resources}
            self._blacklist.setdefault((source.name, pollster.name), set()).update(keys)
            LOG.warning('source %s: %s stops polling %s until they leave discovery: %s',
                        source.name, pollster.name, ', '.join(sorted(keys)), exc)
        except Exception as exc:
            LOG.exception('source %s: pollster %s failed; the cycle goes on', source.name,
                          pollster.name)
            report.count(source.name, failure='%s: %s: %s' % (
                pollster.name, type(exc).__name__, exc))
        if produced:
            emit(produced)
        report.count(source.name, samples=len(produced))

    def _resources(self, context, source, pollster, discovered):
        resources = list(source.resources)
        for name, param in source.discovery:
            resources.extend(self._discover(context, name, param, discovered))
        if not resources and not source.discovery and pollster.default_discovery:
            resources = self._discover(context, pollster.default_discovery, None, discovered)
        return resources

    def _discover(self, context, name, param, discovered):
        if (name, param) not in discovered:
            discovery = self.discoveries.get(name)
            if discovery is None:
                raise LookupError('discovery %r is not available on this host' % name)
            discovered[(name, param)] = list(discovery.discover(context, param))
        return discovered[(name, param)]

    @staticmethod
    def _not_yet_polled(pollster, resources, polled):
        fresh = []
        for resource in resources:
            key = (pollster.name, base.resource_key(resource))
            if key not in polled:
                polled.add(key)
                fresh.append(resource)
        return fresh

    def _without_blacklisted(self, source, pollster, resources):
        blocked = self._blacklist.get((source.name, pollster.name))
        if not blocked:
            return resources
        keys = {base.resource_key(r): r for r in resources}
        blocked &= set(keys)  # forget what discovery no longer returns
        return [resource for key, resource in keys.items() if key not in blocked]


class Scheduler:
    """One thread per interval group, each starting at a random offset (so a fleet does not
    poll in lock-step), or after ``first_delay`` seconds when given, and never overlapping
    itself; ``stop()`` lets the cycles in flight finish. A cycle that raises is logged and
    counted in ``loop_errors`` (a Counter), and the next one comes one interval later, or more
    after several errors in a row."""

    def __init__(self, manager, run_cycle, clock=time.monotonic, first_delay=None,
                 loop_errors=None):
        self._manager = manager
        self._run_cycle = run_cycle
        self._clock = clock
        self._first_delay = first_delay
        self.loop_errors = collections.Counter() if loop_errors is None else loop_errors
        self._stop = threading.Event()
        self.threads = []

    def start(self):
        for interval, tasks in sorted(self._manager.groups().items()):
            self.threads.append(loops.start_thread('polling-%ss' % interval, self._loop,
                                                   self._stop, interval, tasks))

    def _loop(self, interval, tasks):
        first_delay = self._first_delay
        if self._stop.wait(random.uniform(0, interval) if first_delay is None
                           else first_delay):
            return
        due = self._clock()

        def cycle():
            nonlocal due
            started = self._clock()
            self._run_cycle(tasks)
            took = self._clock() - started
            if took > interval:
                LOG.warning('the polling cycle every %s s took %.1f s: longer than its '
                            'interval, the next one starts now', interval, took)
            due = max(due + interval, self._clock())
            return due - self._clock()
        loops.run('polling cycle every %s s' % interval, cycle, self._stop, self.loop_errors,
                  delivery.Backoff.at_least(interval), key='polling')

    def stop(self):
        self._stop.set()
        for thread in self.threads:
            thread.join()
        self.threads = []
