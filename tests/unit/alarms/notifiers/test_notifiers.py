import threading
import time

import pytest

from telewatch import delivery
from telewatch.alarms import notifiers as notifiers_mod
from telewatch.alarms.notifiers import base
from tests.unit.alarms.notifiers import webhook


def alarm(**actions):
    doc = {'alarm_id': 'a1', 'name': 'cpu high', 'severity': 'critical', 'type': 'event',
           'project_id': 'p1', 'user_id': 'u1', 'ok_actions': [], 'alarm_actions': [],
           'insufficient_data_actions': []}
    doc.update(actions)
    return doc


class Scripted(base.Notifier):
    """Fails as its script says (a SendError or None per attempt), remembers the rest."""

    def __init__(self, script=(), block=None):
        self.script = list(script)
        self.sent = []
        self.block = block
        self.closed = False

    def notify(self, action, notification):
        if self.block is not None:
            self.block.wait(5)
        outcome = self.script.pop(0) if self.script else None
        self.sent.append((action, notification))
        if outcome is not None:
            raise outcome

    def close(self):
        self.closed = True


@pytest.fixture
def conf(conf):
    notifiers_mod.register_opts(conf)
    conf.set_override('notifier_retry_backoff', 0.01, group='alarms')
    return conf


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.01)


def make(conf, plugins, records=None):
    record = None if records is None else (lambda a, kind, detail: records.append(
        (a['alarm_id'], kind, detail)))
    notifiers = notifiers_mod.Notifiers(conf, record, notifiers=plugins)
    notifiers.start()
    return notifiers


def test_each_action_of_the_new_state_is_delivered_and_recorded(conf):
    plugin, records = Scripted(), []
    notifiers = make(conf, {'test': plugin}, records)
    notifiers.notify(alarm(alarm_actions=['test://one', 'test://two'], ok_actions=['test://x']),
                     'ok', 'alarm', 'Transition to alarm', {'type': 'threshold'})
    wait_for(lambda: len(records) == 2)
    notifiers.stop()
    assert sorted(action for action, _ in plugin.sent) == ['test://one', 'test://two']
    notification = plugin.sent[0][1]
    assert notification.body() == {
        'alarm_name': 'cpu high', 'alarm_id': 'a1', 'severity': 'critical',
        'previous': 'ok', 'current': 'alarm', 'reason': 'Transition to alarm',
        'reason_data': {'type': 'threshold'}}
    assert notification.request_id.startswith('req-')
    assert sorted(detail['url'] for _, _, detail in records) == ['test://one', 'test://two']
    assert all(kind == 'action' and detail['outcome'] == 'delivered'
               and detail['attempts'] == 1 and detail['error'] is None
               and detail['state'] == 'alarm' for _, kind, detail in records)
    counters = notifiers.counters()
    assert counters['queued'] == 2 and counters['delivered'] == 2
    assert counters['queue_length'] == 0
    assert plugin.closed


def test_a_state_without_actions_sends_nothing(conf):
    plugin = Scripted()
    notifiers = make(conf, {'test': plugin})
    notifiers.notify(alarm(alarm_actions=['test://a']), 'alarm', 'insufficient data', 'r')
    notifiers.stop()
    assert plugin.sent == [] and notifiers.counters().get('queued', 0) == 0


def test_retryable_failures_are_retried_then_delivered(conf):
    plugin, records = Scripted([delivery.SendError('503'), delivery.SendError('timeout')]), []
    notifiers = make(conf, {'test': plugin}, records)
    notifiers.notify(alarm(alarm_actions=['test://a']), 'ok', 'alarm', 'r')
    wait_for(lambda: records)
    notifiers.stop()
    assert records[0][2]['outcome'] == 'delivered' and records[0][2]['attempts'] == 3
    # every attempt of one delivery carries the same request id
    assert len({n.request_id for _, n in plugin.sent}) == 1
    counters = notifiers.counters()
    assert (counters['failed'], counters['retried'], counters['delivered']) == (2, 2, 1)


def test_retries_end_in_a_recorded_failure(conf):
    conf.set_override('notifier_retries', 2, group='alarms')
    plugin, records = Scripted([delivery.SendError('down %d' % n) for n in range(5)]), []
    notifiers = make(conf, {'test': plugin}, records)
    notifiers.notify(alarm(alarm_actions=['test://a']), 'ok', 'alarm', 'r')
    wait_for(lambda: records)
    notifiers.stop()
    assert records[0][2] == {'url': 'test://a', 'state': 'alarm', 'outcome': 'failed',
                             'attempts': 3, 'error': 'down 2',
                             'request_id': plugin.sent[0][1].request_id}
    assert notifiers.counters()['dropped'] == 1


def test_a_permanent_failure_is_not_retried(conf):
    plugin, records = Scripted([delivery.SendError('404', permanent=True)]), []
    notifiers = make(conf, {'test': plugin}, records)
    notifiers.notify(alarm(alarm_actions=['test://a']), 'ok', 'alarm', 'r')
    wait_for(lambda: records)
    notifiers.stop()
    assert records[0][2]['attempts'] == 1 and records[0][2]['error'] == '404'


def test_a_scheme_without_notifier_fails_and_a_bug_does_not_stop_the_workers(conf):
    plugin, records = Scripted([RuntimeError('bug')]), []
    notifiers = make(conf, {'test': plugin}, records)
    notifiers.notify(alarm(alarm_actions=['nope://a', 'test://bug']), 'ok', 'alarm', 'r')
    wait_for(lambda: notifiers.counters().get('errors') == 1 and records)
    notifiers.notify(alarm(alarm_actions=['test://after']), 'ok', 'alarm', 'r')
    wait_for(lambda: len(records) == 2)
    notifiers.stop()
    assert records[0][2]['error'] == 'no notifier for this scheme'
    assert records[1][2]['url'] == 'test://after' and records[1][2]['outcome'] == 'delivered'


def test_notify_never_blocks_and_a_full_queue_drops(conf):
    conf.set_override('notifier_queue_length', 2, group='alarms')
    conf.set_override('notifier_workers', 1, group='alarms')
    gate = threading.Event()
    plugin = Scripted(block=gate)
    notifiers = make(conf, {'test': plugin})
    started = time.monotonic()
    for n in range(6):
        notifiers.notify(alarm(alarm_actions=['test://%d' % n]), 'ok', 'alarm', 'r')
    assert time.monotonic() - started < 0.5
    counters = notifiers.counters()
    assert counters['queued'] + counters['dropped'] == 6 and counters['dropped'] >= 3
    gate.set()
    notifiers.stop()
    assert len(plugin.sent) == notifiers.counters()['queued']


def test_stop_flushes_then_drops_what_is_left(conf):
    conf.set_override('notifier_workers', 1, group='alarms')
    conf.set_override('notifier_retry_backoff', 30, group='alarms')
    plugin, records = Scripted([delivery.SendError('down')]), []
    notifiers = make(conf, {'test': plugin}, records)
    notifiers.notify(alarm(alarm_actions=['test://a', 'test://b']), 'ok', 'alarm', 'r')
    started = time.monotonic()
    notifiers.stop(timeout=2)
    # the 30 s backoff does not hold the stop: retries go at once
    assert time.monotonic() - started < 2
    assert sorted(d['outcome'] for _, _, d in records) == ['delivered', 'delivered']
    notifiers.notify(alarm(alarm_actions=['test://late']), 'ok', 'alarm', 'r')
    assert notifiers.counters()['dropped'] == 1
    notifiers.stop()  # twice is fine


def test_stop_without_start(conf):
    notifiers_mod.Notifiers(conf, notifiers={'test': Scripted()}).stop()


def test_a_failing_record_is_counted(conf):
    def record(*args):
        raise RuntimeError('database down')

    notifiers = notifiers_mod.Notifiers(conf, record, notifiers={'test': Scripted()})
    notifiers.start()
    notifiers.notify(alarm(alarm_actions=['test://a']), 'ok', 'alarm', 'r')
    wait_for(lambda: notifiers.counters().get('record_errors') == 1)
    notifiers.stop()
    assert notifiers.counters()['delivered'] == 1


def test_the_entry_points_are_loaded(conf):
    notifiers = notifiers_mod.Notifiers(conf)
    assert set(notifiers._notifiers) == {'http', 'https', 'trust+http', 'trust+https', 'log',
                                         'kafka'}
    notifiers.stop()


def test_webhook_end_to_end(conf):
    with webhook.Webhook([503]) as hook:
        records = []
        notifiers = notifiers_mod.Notifiers(conf, lambda *a: records.append(a))
        notifiers.start()
        notifiers.notify(alarm(alarm_actions=[hook.url + '/scale-up']), 'ok', 'alarm', 'r')
        wait_for(lambda: records)
        notifiers.stop()
    assert [path for path, _, _ in hook.received] == ['/scale-up', '/scale-up']
    assert records[0][2]['outcome'] == 'delivered' and records[0][2]['attempts'] == 2
