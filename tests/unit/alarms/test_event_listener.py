"""The event alarms' listener on the real alarm store (SQLite) with notifiers that remember
what they were asked to send."""

import time

import pytest

from telewatch import loops
from telewatch.alarms import event_listener
from telewatch.alarms import notifiers as notifiers_mod
from telewatch.alarms import storage
from telewatch.archive import errors as archive_errors
from tests.unit.alarms import golden

NOTIFICATIONS = golden.load('event_alarms.yaml')['notifications']
INSTANCE = '6f8a7c4e-0000-4000-8000-000000000001'
HEAT_RULE = {'event_type': 'compute.instance.update',
             'query': [{'field': 'traits.instance_id', 'op': 'eq', 'value': INSTANCE,
                        'type': 'string'},
                       {'field': 'traits.state', 'op': 'eq', 'value': 'error',
                        'type': 'string'}]}


class RememberingNotifiers:
    def __init__(self, record):
        self.record = record
        self.sent = []
        self.started = self.stopped = False

    def notify(self, alarm, previous, current, reason, reason_data=None):
        self.sent.append((alarm['alarm_id'], previous, current, reason, reason_data))

    def start(self):
        self.started = True

    def stop(self, timeout=None):
        self.stopped = True

    def threads(self):
        return []

    def counters(self):
        return {'delivered': len(self.sent)}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def store(tmp_path):
    store = storage.AlarmStore('sqlite:///%s' % (tmp_path / 'alarms.sqlite'))
    store.upgrade()
    yield store
    store.close()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def listener(conf, store, clock):
    return event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)


def create(store, project='proj-a', rule=HEAT_RULE, **fields):
    return store.create(dict({'name': 'heal', 'type': 'event', 'project_id': project,
                              'user_id': 'user-1', 'rule': rule, 'state': 'ok',
                              'alarm_actions': ['http://heat:8004/signal']}, **fields))


def test_heats_auto_healing_alarm_fires_once(listener, store):
    alarm = create(store)
    listener.handle(NOTIFICATIONS['instance_active'])
    assert listener.notifiers.sent == []
    listener.handle(NOTIFICATIONS['instance_error'])
    stored = store.get(alarm['alarm_id'])
    assert stored['state'] == 'alarm'
    assert stored['state_reason'].startswith(
        'Event <id=1a2b3c4d-0000-4000-8000-00000000000a,event_type=compute.instance.update> '
        'hits the query')
    assert stored['reason_data']['type'] == 'event'
    assert ['instance_id', 1, INSTANCE] in stored['reason_data']['event']['traits']
    [(alarm_id, previous, current, reason, reason_data)] = listener.notifiers.sent
    assert (alarm_id, previous, current) == (alarm['alarm_id'], 'ok', 'alarm')
    assert reason == stored['state_reason'] and reason_data == stored['reason_data']
    kinds = [entry['type'] for entry in store.history(alarm['alarm_id'])]
    assert kinds.count('state transition') == 1
    # in alarm already: the same event again changes nothing
    listener.handle(NOTIFICATIONS['instance_error'])
    assert len(listener.notifiers.sent) == 1
    assert listener.counters()['fired'] == 1


def test_repeat_actions_notify_every_matching_event(listener, store):
    alarm = create(store, repeat_actions=True, state='alarm')
    listener.handle(NOTIFICATIONS['instance_error'])
    listener.handle(NOTIFICATIONS['instance_error'])
    assert [sent[1:3] for sent in listener.notifiers.sent] == [('alarm', 'alarm')] * 2
    assert store.get(alarm['alarm_id'])['state'] == 'alarm'


def test_only_enabled_event_alarms_of_the_events_project(listener, store):
    create(store, project='proj-b')
    create(store, enabled=False)
    create(store, type='gnocchi_resources_threshold',
           rule={'metric': 'cpu', 'threshold': 1.0, 'resource_id': 'r',
                 'resource_type': 'instance'})
    listener.handle(NOTIFICATIONS['instance_error'])
    listener.handle(NOTIFICATIONS['orphan'])
    listener.handle({'payload': {}})
    assert listener.notifiers.sent == []
    assert listener.counters()['invalid'] == 1


def test_an_alarm_whose_rule_is_bad_is_skipped_and_counted(listener, store):
    create(store, rule={'query': [{'field': 'traits.x', 'op': 'like', 'value': 'y'}]})
    good = create(store, rule={'event_type': 'compute.*'})
    listener.handle(NOTIFICATIONS['instance_error'])
    assert [sent[0] for sent in listener.notifiers.sent] == [good['alarm_id']]
    assert listener.counters()['invalid_rules'] == 1


def test_the_alarms_of_a_project_are_cached_for_the_ttl(conf, store, clock):
    conf.set_override('event_alarm_cache_ttl', 60, group='alarms')
    listener = event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)
    listener.handle(NOTIFICATIONS['instance_error'])  # reads (no alarm yet)
    create(store)
    clock.now += 59
    listener.handle(NOTIFICATIONS['instance_error'])
    assert listener.notifiers.sent == []
    clock.now += 2
    listener.handle(NOTIFICATIONS['instance_error'])
    assert len(listener.notifiers.sent) == 1


def test_a_state_changed_meanwhile_is_read_again(conf, store, clock):
    conf.set_override('event_alarm_cache_ttl', 60, group='alarms')
    listener = event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)
    alarm = create(store)
    listener.handle(NOTIFICATIONS['instance_active'])  # caches the alarm in ok
    store.transition(alarm['alarm_id'], 'ok', 'insufficient data', 'set by hand', None)
    listener.handle(NOTIFICATIONS['instance_error'])
    assert [sent[1:3] for sent in listener.notifiers.sent] == [('insufficient data', 'alarm')]
    assert listener.counters()['conflicts'] == 1
    # the cache follows the alarm's new state: no second firing
    listener.handle(NOTIFICATIONS['instance_error'])
    assert len(listener.notifiers.sent) == 1


def test_a_conflict_with_an_alarm_fired_meanwhile_does_not_notify_twice(conf, store, clock):
    conf.set_override('event_alarm_cache_ttl', 60, group='alarms')
    listener = event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)
    alarm = create(store)
    listener.handle(NOTIFICATIONS['instance_active'])
    store.transition(alarm['alarm_id'], 'ok', 'alarm', 'another listener', None)
    listener.handle(NOTIFICATIONS['instance_error'])
    assert listener.notifiers.sent == []


def test_the_action_history_is_recorded(listener, store):
    alarm = create(store)
    listener.record_action(alarm, 'action', {'url': 'http://heat:8004/signal',
                                             'outcome': 'delivered'})
    [entry] = [e for e in store.history(alarm['alarm_id'], on_behalf_of='proj-a')
               if e['type'] == 'action']
    assert entry['user_id'] == 'user-1'


def test_tap_queues_and_the_worker_evaluates(conf, store, clock):
    listener = event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)
    create(store)
    decoded = listener.tap(lambda message: ('samples of', message['event_type']))
    listener.start()
    try:
        assert decoded(NOTIFICATIONS['instance_error']) == (
            'samples of', 'compute.instance.update')
        deadline = time.monotonic() + 5
        while not listener.notifiers.sent:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        listener.stop()
    assert listener.notifiers.started and listener.notifiers.stopped
    assert listener.counters()['received'] == 1


def test_a_full_queue_drops_without_blocking(conf, store, clock):
    conf.set_override('event_alarm_queue_length', 2, group='alarms')
    listener = event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)
    for _ in range(5):
        listener.submit(NOTIFICATIONS['instance_error'])
    counters = listener.counters()
    assert counters['dropped'] == 3 and counters['queue_length'] == 2


def test_the_store_down_is_retried_and_a_bug_does_not_stop_the_worker(
        conf, store, clock, monkeypatch):
    monkeypatch.setattr(event_listener.delivery.Backoff, 'next', lambda self: 0.01)
    listener = event_listener.EventAlarmListener(conf, store, RememberingNotifiers, clock)
    create(store)
    search, calls = store.search, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise archive_errors.StorageUnavailable('alarm store: connection refused')
        if len(calls) == 2:
            raise RuntimeError('bug')
        return search(*args, **kwargs)

    monkeypatch.setattr(store, 'search', flaky)
    listener.start()
    try:
        listener.submit(NOTIFICATIONS['instance_error'])  # down, then a bug: lost, counted
        listener.submit(NOTIFICATIONS['instance_error'])  # goes through
        deadline = time.monotonic() + 5
        while not listener.notifiers.sent:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        listener.stop()
    counters = listener.counters()
    assert counters['store_retries'] == 1 and counters['errors'] == 1


def test_off_by_default(conf):
    assert event_listener.from_conf(conf) is None


def test_on_it_uses_the_alarm_store_of_the_configuration(conf, tmp_path):
    conf.set_override('event_alarms', True, group='alarms')
    conf.set_override('connection', 'sqlite:///%s' % (tmp_path / 'a.sqlite'), group='alarms')
    listener = event_listener.from_conf(conf)
    assert listener is not None
    assert str(listener.store.engine.url).endswith('a.sqlite')
    assert isinstance(listener.notifiers, notifiers_mod.Notifiers)
    listener.stop()  # safe without start


def test_the_threads_are_watched_loop_threads(conf, store, clock):
    conf.set_override('event_alarms', True, group='alarms')
    conf.set_override('notifier_workers', 1, group='alarms')
    listener = event_listener.EventAlarmListener(
        conf, store, lambda record: notifiers_mod.Notifiers(conf, record), clock)
    listener.start()
    threads = listener.threads()
    assert len(threads) == 2 and all(isinstance(t, loops.LoopThread) for t in threads)
    loops.check(threads)
    listener.stop()
    assert not any(thread.is_alive() for thread in threads)
    loops.check(threads)
