"""The alarm notifiers against the real services: trust+http actions with trusts of the real
Keystone (tools/services/keystone: alice's trust to the service user telewatch), and kafka
actions on the real broker (tools/services/kafka), read back with a kafka-python consumer."""

import json
import time

import requests

from telewatch import service
from telewatch.alarms import actions
from telewatch.alarms import keystone as alarm_keystone
from telewatch.alarms import notifiers as notifiers_mod
from telewatch.api import auth
from tests.functional.test_kafka_publisher import read_topic
from tests.unit.alarms.notifiers import webhook


class Caller:
    """The API's RequestContext of a Keystone-authenticated caller, with its token."""

    def __init__(self, token):
        context = auth.RequestContext(token.user_id, token.project_id, token.roles)
        self.user_id, self.project_id = context.user_id, context.project_id
        self.roles, self.is_admin = context.roles, context.is_admin
        self.auth_token = token.id


def _conf(tmp_path, keystone=None):
    lines = ['[alarms]', 'notifier_retry_backoff = 0.05']
    if keystone is not None:
        options = dict(keystone.authtoken_options())
        options.pop('www_authenticate_uri')
        lines += ['[service_credentials]'] + ['%s = %s' % item for item in options.items()]
    path = tmp_path / 'telewatch.conf'
    path.write_text('\n'.join(lines) + '\n')
    return service.prepare_service(['--config-file', str(path)])


def _wait(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


def _alarm(**actions_of_states):
    return dict({'alarm_id': 'b0c5a1d2-0000-4000-8000-000000000001', 'name': 'scale-up',
                 'severity': 'moderate', 'type': 'gnocchi_resources_threshold',
                 'project_id': 'p', 'user_id': 'u', 'ok_actions': [], 'alarm_actions': [],
                 'insufficient_data_actions': []}, **actions_of_states)


def _validate(keystone, token):
    """What Keystone says of a token (validated with the admin's), None if it refuses it."""
    response = requests.get(keystone.auth_url + '/auth/tokens', timeout=30, headers={
        'X-Auth-Token': keystone.token(keystone.admin).id, 'X-Subject-Token': token})
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()['token']


def test_a_trust_action_sends_a_token_of_the_callers_trust(keystone, tmp_path):
    conf = _conf(tmp_path, keystone)
    alice = Caller(keystone.token(keystone.alice))
    checker = actions.Actions(conf)

    def accepts(headers):  # as Heat's signal URL: a token Keystone accepts
        return _validate(keystone, headers.get('X-Auth-Token', '')) is not None

    with webhook.Webhook([503], authenticate=accepts) as hook:
        url = hook.url.replace('http://', 'trust+http://') + '/signal'
        stored = checker.check([url, url + '/2'], alice, field='alarm_actions')
        trust_id = actions.trust_of(stored[0])
        assert stored == [url.replace('//', '//%s:delete@' % trust_id, 1),
                          (url + '/2').replace('//', '//%s:delete@' % trust_id, 1)]
        assert [actions.scrub(u) for u in stored] == [url, url + '/2']

        records = []
        notifiers = notifiers_mod.Notifiers(conf, lambda *args: records.append(args))
        notifiers.start()
        try:
            notifiers.notify(_alarm(alarm_actions=stored[:1]), 'ok', 'alarm', 'cpu high')
            _wait(lambda: records)
            assert records[0][2]['outcome'] == 'delivered'
            assert records[0][2]['attempts'] == 2  # the 503 was retried
            sent = [headers['X-Auth-Token'] for _, headers, _ in hook.received]
            assert len(sent) == 2
            token = _validate(keystone, sent[-1])
            assert token['user']['id'] == alice.user_id  # impersonation
            assert token['project']['id'] == alice.project_id
            assert token['OS-TRUST:trust']['id'] == trust_id
            assert token['OS-TRUST:trust']['trustee_user']['id'] == \
                alarm_keystone.Trusts(conf).trustee_id()
            assert sorted(role['name'] for role in token['roles']) == sorted(alice.roles)

            # the alarm is deleted: its trust goes, and its action can no longer be sent
            checker.release(stored, context=alice)
            notifiers.notify(_alarm(alarm_actions=stored[:1]), 'ok', 'alarm', 'again')
            _wait(lambda: len(records) == 2)
        finally:
            notifiers.stop()
        # the webhook refused the cached token of the deleted trust (401); a new token was
        # asked for, and Keystone refused it: permanent
        assert records[1][2]['outcome'] == 'failed'
        assert records[1][2]['attempts'] == 2
        assert 'no token for trust %s' % trust_id in records[1][2]['error']
        assert len(hook.received) == 3


def test_a_trust_action_is_refused_without_a_keystone_token(keystone, tmp_path):
    conf = _conf(tmp_path, keystone)
    noauth = auth.RequestContext('u', 'p', ('member',), auth_method=auth.HEADERS)
    try:
        actions.Actions(conf).check(['trust+http://127.0.0.1:9/'], noauth)
    except actions.InvalidAction as exc:
        assert 'needs a Keystone trust' in exc.reason
    else:
        raise AssertionError('accepted')


def test_an_updated_alarm_keeps_its_trust_and_release_keeps_what_is_kept(keystone, tmp_path):
    conf = _conf(tmp_path, keystone)
    bob = Caller(keystone.token(keystone.bob))
    checker = actions.Actions(conf)
    first = checker.check(['trust+http://127.0.0.1:9/up'], bob)
    second = checker.check(['trust+http://127.0.0.1:9/down'], bob, existing=first)
    trust_id = actions.trust_of(first[0])
    assert actions.trust_of(second[0]) == trust_id
    trusts = checker.trusts
    checker.release(first, keep=second, context=bob)
    assert 'X-Auth-Token' in trusts.auth_headers(trust_id)  # still there
    checker.release(second, context=bob)
    _wait(lambda: _gone(trusts, trust_id))


def _gone(trusts, trust_id):
    fresh = alarm_keystone.Trusts(trusts._conf)
    try:
        fresh.auth_headers(trust_id)
    except alarm_keystone.TrustError:
        return True
    return False


def test_a_kafka_action_writes_each_state_change_keyed_by_alarm(
        kafka_bootstrap, kafka_topics, tmp_path):
    conf = _conf(tmp_path)
    topic = kafka_topics.new('test-alarm-notifier')
    url = 'kafka://%s?topic=%s' % (kafka_bootstrap, topic)
    assert actions.Actions(conf).check([url], None) == [url]
    records = []
    notifiers = notifiers_mod.Notifiers(conf, lambda *args: records.append(args))
    notifiers.start()
    try:
        alarm = _alarm(alarm_actions=[url], ok_actions=[url])
        notifiers.notify(alarm, 'insufficient data', 'alarm', 'up', {'most_recent': 91.0})
        _wait(lambda: records)
        notifiers.notify(alarm, 'alarm', 'ok', 'down', {'most_recent': 10.0})
        _wait(lambda: len(records) == 2)
    finally:
        notifiers.stop()
    assert [r[2]['outcome'] for r in records] == ['delivered', 'delivered']
    written = read_topic(kafka_bootstrap, topic)
    assert [r.key for r in written] == [alarm['alarm_id'].encode()] * 2
    assert len({r.partition for r in written}) == 1
    values = [json.loads(r.value) for r in written]
    assert [(v['previous'], v['current'], v['reason'], v['reason_data']) for v in values] == [
        ('insufficient data', 'alarm', 'up', {'most_recent': 91.0}),
        ('alarm', 'ok', 'down', {'most_recent': 10.0})]
    assert values[0]['alarm_name'] == 'scale-up' and values[0]['project_id'] == 'p'


def test_a_kafka_action_to_a_broker_that_is_not_there_fails_and_is_recorded(tmp_path):
    conf = _conf(tmp_path)
    conf.set_override('notifier_retries', 1, group='alarms')
    records = []
    notifiers = notifiers_mod.Notifiers(conf, lambda *args: records.append(args))
    notifiers.start()
    try:
        notifiers.notify(_alarm(alarm_actions=['kafka://127.0.0.1:9?topic=t']), 'ok',
                         'alarm', 'r')
        _wait(lambda: records, timeout=60)
    finally:
        notifiers.stop()
    assert records[0][2]['outcome'] == 'failed' and records[0][2]['attempts'] == 2
    assert 'Kafka' in records[0][2]['error']
