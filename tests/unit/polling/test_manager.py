"""Polling cycles: resources, discovery, failures that do not stop the cycle, the
blacklist, interval groups and a schedule that never overlaps itself."""

import logging
import threading
import time

from telewatch import delivery as delivery_mod
from telewatch import loops
from telewatch import meter_filter
from telewatch import sample as sample_mod
from telewatch.polling import config
from telewatch.polling import manager as manager_mod
from telewatch.pollsters import base


class FakePollster(base.Pollster):
    def __init__(self, name, discovery=None, fail=None):
        super().__init__(None, name)
        self.default_discovery = discovery
        self.fail = fail
        self.calls = []

    def get_samples(self, context, resources):
        self.calls.append(list(resources))
        context.cache.setdefault('calls', []).append(self.name)
        if isinstance(self.fail, base.PermanentPollError):
            raise self.fail
        if self.fail is not None:
            raise self.fail
        for resource in resources:
            yield sample_mod.Sample.create(self.name, 'gauge', 'u', 1, str(resource))


class FakeDiscovery(base.Discovery):
    def __init__(self, found):
        super().__init__(None)
        self.found = found
        self.calls = 0

    def discover(self, context, param=None):
        self.calls += 1
        return list(self.found if param is None else [param])


def source(name, meters, interval=60, resources=(), discovery=()):
    return config.PollingSource(name, interval, meter_filter.MeterFilter(meters),
                                list(resources), list(discovery))


def poll(manager):
    emitted = []
    report = manager.poll(manager.tasks, emitted.extend)
    return sorted((s.name, s.resource_id) for s in emitted), report


def test_static_resources_then_default_discovery():
    pollsters = {'a': FakePollster('a', discovery='d'), 'b': FakePollster('b', discovery='d')}
    discoveries = {'d': FakeDiscovery(['vm-1', 'vm-2'])}
    manager = manager_mod.PollingManager(None, [
        source('static', ['a'], resources=['x']), source('found', ['b'])],
        pollsters, discoveries)
    emitted, report = poll(manager)
    assert emitted == [('a', 'x'), ('b', 'vm-1'), ('b', 'vm-2')]
    assert report.samples == {'static': 1, 'found': 2}


def test_discovery_is_cached_per_cycle_and_parameterised():
    pollsters = {'a': FakePollster('a'), 'b': FakePollster('b')}
    discovery = FakeDiscovery(['vm-1'])
    manager = manager_mod.PollingManager(None, [
        source('s', ['a', 'b'], discovery=[('d', None), ('d', 'vm-9')])], pollsters,
        {'d': discovery})
    emitted, _ = poll(manager)
    assert emitted == [('a', 'vm-1'), ('a', 'vm-9'), ('b', 'vm-1'), ('b', 'vm-9')]
    assert discovery.calls == 2


def test_a_resource_is_polled_once_per_pollster_even_if_two_sources_list_it():
    pollster = FakePollster('a')
    manager = manager_mod.PollingManager(None, [
        source('one', ['a'], resources=['x']), source('two', ['*'], resources=['x', 'y'])],
        {'a': pollster}, {})
    emitted, _ = poll(manager)
    assert emitted == [('a', 'x'), ('a', 'y')]


def test_a_failing_pollster_does_not_stop_the_others_and_is_reported():
    pollsters = {'bad': FakePollster('bad', fail=RuntimeError('boom')),
                 'good': FakePollster('good')}
    manager = manager_mod.PollingManager(None, [source('s', ['*'], resources=['x'])],
                                         pollsters, {})
    emitted, report = poll(manager)
    assert emitted == [('good', 'x')]
    assert report.failures == {'s': ['bad: RuntimeError: boom']}
    assert report.unpolled_sources() == []


def test_a_source_whose_every_pollster_fails_is_unpolled():
    manager = manager_mod.PollingManager(None, [source('s', ['bad'], resources=['x'])],
                                         {'bad': FakePollster('bad', fail=OSError('down'))}, {})
    _, report = poll(manager)
    assert report.unpolled_sources() == ['s']


def test_permanent_error_blacklists_until_the_resource_leaves_discovery():
    pollster = FakePollster('a', discovery='d')
    discovery = FakeDiscovery(['vm-1', 'vm-2'])
    manager = manager_mod.PollingManager(None, [source('s', ['a'])], {'a': pollster},
                                         {'d': discovery})
    pollster.fail = base.PermanentPollError(['vm-1'])
    poll(manager)
    pollster.fail = None
    assert poll(manager)[0] == [('a', 'vm-2')]
    discovery.found = ['vm-2']  # vm-1 leaves discovery...
    poll(manager)
    discovery.found = ['vm-1', 'vm-2']  # ...and comes back: polled again
    assert poll(manager)[0] == [('a', 'vm-1'), ('a', 'vm-2')]


def test_pollsters_share_the_cycle_cache(monkeypatch):
    pollsters = {'a': FakePollster('a'), 'b': FakePollster('b')}
    manager = manager_mod.PollingManager(None, [source('s', ['*'], resources=['x'])],
                                         pollsters, {})
    contexts = []

    class RecordingContext(base.PollContext):
        def __init__(self, conf):
            super().__init__(conf)
            contexts.append(self)
    monkeypatch.setattr(base, 'PollContext', RecordingContext)
    poll(manager)
    assert len(contexts) == 1 and sorted(contexts[0].cache['calls']) == ['a', 'b']


def test_groups_by_interval():
    pollsters = {'a': FakePollster('a'), 'b': FakePollster('b')}
    manager = manager_mod.PollingManager(None, [
        source('fast', ['a'], interval=10), source('slow', ['a', 'b'], interval=300),
        source('also_fast', ['b'], interval=10)], pollsters, {})
    groups = {interval: sorted((s.name, p.name) for s, p in tasks)
              for interval, tasks in manager.groups().items()}
    assert groups == {10: [('also_fast', 'b'), ('fast', 'a')],
                      300: [('slow', 'a'), ('slow', 'b')]}


def test_scheduler_never_overlaps_a_slow_cycle_and_stop_waits_for_it():
    manager = manager_mod.PollingManager(None, [source('s', ['a'], interval=0.05)],
                                         {'a': FakePollster('a')}, {})
    running, overlaps, finished = [], [], []
    lock = threading.Lock()

    def slow_cycle(tasks):
        with lock:
            if running:
                overlaps.append(True)
            running.append(True)
        time.sleep(0.15)  # three intervals long
        with lock:
            running.pop()
            finished.append(time.monotonic())
    scheduler = manager_mod.Scheduler(manager, slow_cycle)
    scheduler.start()
    time.sleep(0.6)
    scheduler.stop()
    assert overlaps == [] and len(finished) >= 2
    assert running == []  # stop() returned only after the cycle in flight ended


def test_scheduler_with_a_first_delay_starts_then_and_not_at_random():
    manager = manager_mod.PollingManager(None, [source('s', ['a'], interval=3600)],
                                         {'a': FakePollster('a')}, {})
    cycles = []
    started = time.monotonic()
    scheduler = manager_mod.Scheduler(manager, lambda tasks: cycles.append(time.monotonic()),
                                      first_delay=0)
    scheduler.start()
    deadline = started + 5
    while not cycles and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.stop()
    # A random offset in an hour-long interval would almost never come within 5 s.
    assert len(cycles) == 1 and cycles[0] - started < 5


def test_a_polling_thread_outlives_a_cycle_that_raises(monkeypatch, caplog):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    monkeypatch.setattr(manager_mod.random, 'uniform', lambda low, high: 0)
    manager = manager_mod.PollingManager(None, [source('s', ['a'], interval=0.05)],
                                         {'a': FakePollster('a')}, {})
    cycles = []

    def cycle(tasks):
        cycles.append(tasks)
        if len(cycles) == 1:
            raise RuntimeError('a bug')
    scheduler = manager_mod.Scheduler(manager, cycle)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        scheduler.start()
        try:
            deadline = time.monotonic() + 10
            while len(cycles) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert loops.ended(scheduler.threads) == []
        finally:
            scheduler.stop()
    assert len(cycles) >= 2
    assert scheduler.loop_errors == {'polling': 1}
    assert 'polling cycle every 0.05 s: unexpected error (1 so far)' in caplog.text
