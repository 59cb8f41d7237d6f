import json
import logging
import socket
import urllib.parse

import pytest

from telewatch import delivery
from telewatch.alarms import actions
from telewatch.alarms import keystone
from telewatch.alarms import notifiers as notifiers_mod
from telewatch.alarms.notifiers import base
from telewatch.alarms.notifiers import http
from telewatch.alarms.notifiers import kafka
from telewatch.alarms.notifiers import log
from tests.unit.alarms.notifiers import webhook

ALARM = {'alarm_id': 'a1', 'name': 'cpu high', 'severity': 'low', 'type': 'composite',
         'project_id': 'p1', 'user_id': 'u1'}


class FakeTrusts:
    def __init__(self, error=None):
        self.error = error
        self.forgotten = []

    def auth_headers(self, trust_id):
        if self.error:
            raise self.error
        return {'X-Auth-Token': 'token-of-' + trust_id}

    def forget(self, trust_id):
        self.forgotten.append(trust_id)


def notification():
    return base.Notification(ALARM, 'ok', 'alarm', 'Transition to alarm', {'n': 1})


@pytest.fixture
def conf(conf):
    notifiers_mod.register_opts(conf)
    return conf


def shared(conf, trusts=None, patterns=None, resolve=socket.getaddrinfo):
    return notifiers_mod.Shared(conf, actions.Destinations(patterns, resolve=resolve), trusts)


def test_http_posts_aodhs_body(conf):
    with webhook.Webhook() as hook:
        http.HttpNotifier(conf, shared(conf)).notify(hook.url + '/hook?x=1', notification())
    path, headers, body = hook.received[0]
    assert path == '/hook?x=1'
    assert body == {'alarm_name': 'cpu high', 'alarm_id': 'a1', 'severity': 'low',
                    'previous': 'ok', 'current': 'alarm', 'reason': 'Transition to alarm',
                    'reason_data': {'n': 1}}
    assert headers['Content-Type'] == 'application/json'
    assert headers['x-openstack-request-id'].startswith('req-')
    assert 'X-Auth-Token' not in headers


@pytest.mark.parametrize('status, permanent', [
    (500, False), (503, False), (429, False), (408, False), (404, True), (400, True),
    (301, True),
])
def test_http_failures(conf, status, permanent):
    with webhook.Webhook([status], redirect='http://169.254.169.254/') as hook:
        with pytest.raises(delivery.SendError, match='answered %d' % status) as caught:
            http.HttpNotifier(conf, shared(conf)).notify(hook.url + '/', notification())
    assert caught.value.permanent is permanent
    assert len(hook.received) == 1  # a redirect is not followed


def test_http_connection_refused_may_pass(conf):
    probe = socket.socket()
    probe.bind(('127.0.0.1', 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(delivery.SendError) as caught:
        http.HttpNotifier(conf, shared(conf)).notify('http://127.0.0.1:%d/' % port,
                                                     notification())
    assert not caught.value.permanent


def test_the_allow_list_is_checked_at_send_time(conf):
    with webhook.Webhook() as hook:
        port = int(hook.url.rsplit(':', 1)[1])
        refusing = shared(conf, patterns=['10.0.0.*:*'])
        with pytest.raises(delivery.SendError, match='not an allowed destination') as caught:
            http.HttpNotifier(conf, refusing).notify(hook.url + '/', notification())
        assert caught.value.permanent
        # a name that now resolves to the metadata address
        moved = shared(conf, resolve=lambda host, port, proto=0: [
            (socket.AF_INET, socket.SOCK_STREAM, proto, '', ('169.254.169.254', port))])
        with pytest.raises(delivery.SendError, match='link-local'):
            http.HttpNotifier(conf, moved).notify('http://hooks.example.org:%d/' % port,
                                                  notification())
        # a name that does not resolve now may later
        gone = shared(conf, resolve=lambda *a, **k: (_ for _ in ()).throw(
            socket.gaierror(socket.EAI_NONAME, 'unknown')))
        with pytest.raises(delivery.SendError, match='does not resolve') as caught:
            http.HttpNotifier(conf, gone).notify('http://hooks.example.org:%d/' % port,
                                                 notification())
        assert not caught.value.permanent
    assert hook.received == []


@pytest.mark.parametrize('url, options, tls', [
    ('https://h/', {}, {'verify': True}),
    ('https://h/?aodh-alarm-ssl-verify=0', {}, {'verify': False}),
    ('https://h/?aodh-alarm-ssl-verify=1', {'notifier_ca_bundle': '/ca.pem'},
     {'verify': '/ca.pem'}),
    ('https://h/', {'notifier_ssl_verify': False}, {'verify': False}),
    ('https://h/', {'notifier_certificate_file': '/c.pem'}, {'verify': True, 'cert': '/c.pem'}),
    ('https://h/', {'notifier_certificate_file': '/c.pem', 'notifier_certificate_key': '/k'},
     {'verify': True, 'cert': ('/c.pem', '/k')}),
    ('http://h/?aodh-alarm-ssl-verify=0', {}, {}),
])
def test_https_options(conf, url, options, tls):
    for name, value in options.items():
        conf.set_override(name, value, group='alarms')
    notifier = http.HttpNotifier(conf, shared(conf))
    assert notifier._tls(urllib.parse.urlsplit(url)) == tls


def test_trust_http_sends_the_trust_token_to_the_plain_url(conf):
    with webhook.Webhook() as hook:
        action = hook.url.replace('http://', 'trust+http://t1:delete@') + '/signal?a=b'
        http.TrustHttpNotifier(conf, shared(conf, FakeTrusts())).notify(action, notification())
    path, headers, body = hook.received[0]
    assert path == '/signal?a=b'
    assert headers['X-Auth-Token'] == 'token-of-t1'
    assert body['alarm_id'] == 'a1'


@pytest.mark.parametrize('error, permanent', [
    (keystone.TrustError('401', retryable=False), True),
    (keystone.TrustError('unreachable', retryable=True), False),
])
def test_trust_http_without_a_token(conf, error, permanent):
    with webhook.Webhook() as hook:
        action = hook.url.replace('http://', 'trust+http://t1:delete@') + '/'
        with pytest.raises(delivery.SendError) as caught:
            http.TrustHttpNotifier(conf, shared(conf, FakeTrusts(error))).notify(
                action, notification())
    assert caught.value.permanent is permanent
    assert hook.received == []


def test_trust_http_drops_a_token_the_webhook_refuses(conf):
    trusts = FakeTrusts()
    with webhook.Webhook([401, 403]) as hook:
        action = hook.url.replace('http://', 'trust+http://t1:delete@') + '/'
        notifier = http.TrustHttpNotifier(conf, shared(conf, trusts))
        with pytest.raises(delivery.SendError, match='answered 401') as caught:
            notifier.notify(action, notification())
        assert not caught.value.permanent and trusts.forgotten == ['t1']
        with pytest.raises(delivery.SendError, match='answered 403') as caught:
            notifier.notify(action, notification())
        assert caught.value.permanent and trusts.forgotten == ['t1']


def test_trust_http_without_a_trust(conf):
    with pytest.raises(delivery.SendError, match='carries no trust') as caught:
        http.TrustHttpNotifier(conf, shared(conf, FakeTrusts())).notify(
            'trust+http://127.0.0.1:9/', notification())
    assert caught.value.permanent


def test_kafka_targets():
    parts = urllib.parse.urlsplit('kafka://k1:9093,k2?topic=alarms.changes')
    assert kafka.target(parts) == kafka.Target((('k1', 9093), ('k2', 9092)), 'alarms.changes')
    assert kafka.KafkaNotifier.destinations(parts) == [('k1', 9093), ('k2', 9092)]
    for bad in ('kafka://k1', 'kafka://k1?topic=a&topic=b', 'kafka://k1/path?topic=t',
                'kafka://k1?topic=t&acks=0', 'kafka://u:p@k1?topic=t', 'kafka://?topic=t'):
        with pytest.raises(ValueError):
            kafka.KafkaNotifier.validate(urllib.parse.urlsplit(bad))


def test_kafka_record():
    value = json.loads(kafka.record(notification()))
    assert value.pop('timestamp')
    assert value.pop('request_id').startswith('req-')
    assert value == {'alarm_name': 'cpu high', 'alarm_id': 'a1', 'severity': 'low',
                     'previous': 'ok', 'current': 'alarm', 'reason': 'Transition to alarm',
                     'reason_data': {'n': 1}, 'type': 'composite', 'project_id': 'p1',
                     'user_id': 'u1'}


def test_log(conf, caplog):
    caplog.set_level(logging.INFO, logger=log.__name__)
    log.LogNotifier(conf, shared(conf)).notify('log://', notification())
    assert 'Notifying alarm cpu high a1 of low priority from ok to alarm with action log:// ' \
           'because Transition to alarm' in caplog.text
