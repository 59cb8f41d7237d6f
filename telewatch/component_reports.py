"""The reports of the chain's long-running parts (notification agents, alarm evaluators)
written into the archive every few seconds, for ``/v1/status``'s ``components``.

A report is small (the file storage keeps 4 KiB of it): what ``agent_report`` or
``evaluator_report`` make of a part's own counters, and ``updated`` (epoch seconds)."""

import collections
import logging
import os
import socket
import threading
import time

from telewatch import loops

LOG = logging.getLogger(__name__)
REPORT_SECONDS = 10.0
# Publishers listed in an agent's report: a report must stay small.
MAX_PUBLISHERS = 12
_PUBLISHER_FIELDS = ('published', 'dropped', 'queued', 'retried', 'queue_length', 'policy')


def default_name():
    return '%s-%d' % (socket.gethostname(), os.getpid())


def agent_report(manager, polled=None):
    """An agent's report from its PipelineManager: samples received (and ``polled`` by the
    agent itself, if it polls), ``derived`` by its transformers, and by publisher what was
    published, dropped, queued and is waiting."""
    counters = manager.counters()
    publishers = {}
    for key, status in list(counters.get('publishers', {}).items())[:MAX_PUBLISHERS]:
        name = key.strip('<>').split(' ', 1)[-1]
        publishers[name[:120]] = {field: status[field] for field in _PUBLISHER_FIELDS
                                  if field in status}
    report = {'received': counters.get('received', 0), 'publishers': publishers,
              'derived': sum(p.published for p in manager.pipelines if p.transformers),
              'loop_errors': sum(counters.get('loop_errors', {}).values())}
    if polled is not None:
        report['polled'] = polled
    return report


def evaluator_report(counters, loop_errors):
    """An alarm evaluator's report from its counters (ticks, evaluations, transitions,
    notifications) and its loops' errors."""
    report = {name: int(value) for name, value in counters.items()}
    report['loop_errors'] = sum(loop_errors.values())
    return report


def for_agent(conf, manager):
    """The reports of a notification agent whose pipeline archives (an ``archive://``
    publisher), through a store of its own on that archive; None for one that does not (it
    reaches no archive) or when the archive cannot be opened. ``manager()``: the agent's
    current PipelineManager (a reload replaces it)."""
    # Imported here: the archive publisher's imports are the agent's only when it archives.
    from telewatch.archive import store as store_mod
    from telewatch.publishers import archive as archive_publisher
    if not any(isinstance(runner.publisher, archive_publisher.ArchivePublisher)
               for runner in manager().runners):
        return None
    try:
        store = store_mod.ArchiveStore.from_conf(conf)
    except Exception as exc:  # the agent's work goes on without its reports
        LOG.warning('The agent will not report to /v1/status: %s', exc)
        return None
    reports = ComponentReports(store, owns_store=True)
    reports.add('agent', lambda: agent_report(manager()))
    return reports


class ComponentReports:
    """Reports ``status()`` of each part ``add``ed into ``store`` (an ArchiveStore) every
    ``interval`` seconds in a thread of its own, from ``start`` to ``stop`` (which closes
    ``store`` when it ``owns_store``)."""

    def __init__(self, store, interval=REPORT_SECONDS, owns_store=False):
        self.store = store
        self.owns_store = owns_store
        self.interval = interval
        self.sources = []
        self.loop_errors = collections.Counter()
        self._stopping = threading.Event()
        self._thread = None

    def add(self, kind, status, name=None):
        self.sources.append((kind, name or default_name(), status))

    def report(self):
        """Every part's report, now; one that fails is counted and logged, never raised."""
        for kind, name, status in self.sources:
            try:
                self.store.report_component(kind, name, dict(status(), updated=time.time()))
            except Exception as exc:  # a report that cannot be told must stop nothing
                loops.count(self.loop_errors, 'component-reports')
                LOG.debug('Could not report %s %s: %s', kind, name, exc)

    def start(self):
        self.report()
        self._thread = loops.start_thread(
            'component-reports', loops.run_every, self._stopping, 'component-reports',
            self.interval, self.report, self._stopping, self.loop_errors)

    def stop(self):
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(10)
        if self.owns_store:
            self.store.close()

    def threads(self):
        return [self._thread] if self._thread is not None else []
