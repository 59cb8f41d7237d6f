import ipaddress
import socket

import pytest

from telewatch.alarms import actions
from telewatch.alarms import keystone
from telewatch.api import auth

ALICE = auth.RequestContext('alice-id', 'project-a', ('member', 'reader'))
ADMIN = auth.RequestContext('admin-id', 'admin', ('admin',))


def fake_dns(table):
    """A getaddrinfo answering from {name: [address]} (unknown names: gaierror)."""
    def resolve(host, port, proto=0):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, 'Name or service not known')
        return [(socket.AF_INET6 if ':' in a else socket.AF_INET, socket.SOCK_STREAM, proto,
                 '', (a, port)) for a in table[host]]
    return resolve


DNS = fake_dns({'hooks.example.org': ['203.0.113.5'], 'metadata.evil': ['169.254.169.254'],
                'api.local': ['192.0.2.10'], 'both.example.org': ['203.0.113.6', 'fe80::2']})


class FakeTrusts:
    def __init__(self):
        self.created = []
        self.deleted = []

    def create(self, token, user_id, project_id, roles):
        self.created.append((token, user_id, project_id, tuple(roles)))
        return 'trust%d' % len(self.created)

    def delete(self, trust_id, token=None, project_id=None):
        self.deleted.append((trust_id, token, project_id))


class TokenContext:
    """The API's context with the caller's Keystone token (what the API passes)."""

    def __init__(self, context, token):
        self.user_id, self.project_id = context.user_id, context.project_id
        self.roles, self.is_admin = context.roles, context.is_admin
        self.auth_token = token


@pytest.fixture
def trusts():
    return FakeTrusts()


def make(conf, trusts, patterns=None, api=('127.0.0.1', 8041)):
    return actions.Actions(conf, trusts=trusts,
                           destinations=actions.Destinations(patterns, api, DNS))


@pytest.mark.parametrize('host, port, refused', [
    ('hooks.example.org', 80, None),
    ('203.0.113.9', 8041, None),
    ('127.0.0.1', 8000, None),
    ('127.0.0.1', 8041, 'is the API itself'),
    ('169.254.169.254', 80, 'link-local'),
    ('metadata.evil', 80, 'link-local'),
    ('both.example.org', 80, 'link-local'),
    ('::ffff:169.254.169.254', 80, 'link-local'),
    ('unknown.example.org', 80, 'does not resolve'),
])
def test_the_default_destinations(host, port, refused):
    destinations = actions.Destinations(None, ('127.0.0.1', 8041), DNS)
    if refused is None:
        destinations.check(host, port)
    else:
        with pytest.raises(actions.Refused, match=refused):
            destinations.check(host, port)


def test_an_unresolved_name_is_accepted_at_creation_with_the_default_only():
    actions.Destinations(None, resolve=DNS).check('later.example.org', 80,
                                                  unresolved_ok=True)
    with pytest.raises(actions.Refused) as caught:
        actions.Destinations(['*.example.com:*'], resolve=DNS).check(
            'later.example.org', 80, unresolved_ok=True)
    assert caught.value.unresolved


def test_the_api_listening_everywhere_refuses_every_local_address():
    destinations = actions.Destinations(None, ('0.0.0.0', 8041), DNS)
    for host in ('127.0.0.1', '127.0.0.53', '0.0.0.0'):
        with pytest.raises(actions.Refused, match='the API itself'):
            destinations.check(host, 8041)
    destinations.check('203.0.113.9', 8041)
    destinations.check('127.0.0.1', 8042)


def test_the_api_by_name():
    destinations = actions.Destinations(None, ('api.local', 8041), DNS)
    with pytest.raises(actions.Refused, match='the API itself'):
        destinations.check('192.0.2.10', 8041)
    destinations.check('127.0.0.1', 8041)


def test_an_explicit_list_replaces_the_default():
    destinations = actions.Destinations(['169.254.169.254:80', '203.0.113.*:*'],
                                        resolve=DNS)
    destinations.check('169.254.169.254', 80)
    destinations.check('hooks.example.org', 443)  # by its address
    with pytest.raises(actions.Refused, match=r'allowed: 169.254.169.254:80, 203'):
        destinations.check('127.0.0.1', 8000)
    with pytest.raises(actions.Refused, match='allowed'):
        destinations.check('both.example.org', 80)  # one address is not allowed
    with pytest.raises(actions.Refused, match='allowed: none'):
        actions.Destinations([], resolve=DNS).check('hooks.example.org', 80)


def test_is_local():
    assert actions.is_local(ipaddress.ip_address('127.0.0.1'))
    assert not actions.is_local(ipaddress.ip_address('203.0.113.77'))


def test_check_keeps_good_urls_in_order_without_duplicates(conf, trusts):
    checked = make(conf, trusts).check(
        ['http://hooks.example.org/a', 'https://hooks.example.org/b?aodh-alarm-ssl-verify=0',
         'http://hooks.example.org/a', 'kafka://k1:9092,k2?topic=alarms'], ALICE)
    assert checked == ['http://hooks.example.org/a',
                       'https://hooks.example.org/b?aodh-alarm-ssl-verify=0',
                       'kafka://k1:9092,k2?topic=alarms']
    assert trusts.created == []


@pytest.mark.parametrize('url, message, status', [
    ('gopher://hooks.example.org/', 'Unsupported action gopher://', 400),
    ('notaurl', 'Unsupported action notaurl', 400),
    ('http://[::1/', 'Unable to parse action', 400),
    ('http:///path', 'Invalid action http:///path: no host', 400),
    ('http://169.254.169.254/latest/meta-data', 'is link-local', 400),
    ('http://127.0.0.1:8041/v2/alarms', 'is the API itself', 400),
    ('kafka://k1:9092', 'topic=NAME', 400),
    ('kafka://k1:9092?topic=bad/name', 'topic=NAME', 400),
    ('kafka://169.254.169.254:9092?topic=t', 'link-local', 400),
    ('https://h.example.org/?aodh-alarm-ssl-verify=no', 'is 0 or 1', 400),
    ('trust+http://t1:delete@hooks.example.org/', 'trust URL cannot contain a trust ID', 400),
    ('log://', 'You are not authorized to create action: log://', 401),
])
def test_refused_actions(conf, trusts, url, message, status):
    with pytest.raises(actions.InvalidAction, match=message.replace('?', r'\?')) as caught:
        make(conf, trusts).check([url], ALICE)
    assert caught.value.url == url
    assert caught.value.status == status


def test_an_admin_may_log(conf, trusts):
    assert make(conf, trusts).check(['log://'], ADMIN) == ['log://']


def test_at_most_alarm_max_actions(conf, trusts):
    conf.set_override('alarm_max_actions', 2, group='alarms')
    urls = ['http://hooks.example.org/%d' % i for i in range(3)]
    with pytest.raises(actions.InvalidAction,
                       match='alarm_actions count exceeds maximum value 2'):
        make(conf, trusts).check(urls, ALICE, field='alarm_actions')
    assert make(conf, trusts).check(urls[:2] + urls[:1], ALICE) == urls[:2]


def test_trust_actions_get_one_trust_from_the_caller(conf, trusts):
    context = TokenContext(ALICE, 'alice-token')
    checked = make(conf, trusts).check(
        ['trust+http://hooks.example.org/scale-up', 'trust+https://hooks.example.org/x'],
        context)
    assert checked == ['trust+http://trust1:delete@hooks.example.org/scale-up',
                       'trust+https://trust1:delete@hooks.example.org/x']
    assert trusts.created == [('alice-token', 'alice-id', 'project-a', ('member', 'reader'))]
    assert [actions.scrub(url) for url in checked] == [
        'trust+http://hooks.example.org/scale-up', 'trust+https://hooks.example.org/x']


def test_a_trust_of_the_alarm_is_reused(conf, trusts):
    context = TokenContext(ALICE, 'alice-token')
    checked = make(conf, trusts).check(
        ['trust+http://hooks.example.org/down'], context,
        existing=['http://hooks.example.org/a', 'trust+http://old:delete@hooks.example.org/up'])
    assert checked == ['trust+http://old:delete@hooks.example.org/down']
    assert trusts.created == []


def test_a_trust_needs_a_keystone_token(conf, trusts):
    with pytest.raises(actions.InvalidAction, match='needs a Keystone trust'):
        make(conf, trusts).check(['trust+http://hooks.example.org/'], ALICE)


def test_keystone_refusing_the_trust(conf):
    class Refusing(FakeTrusts):
        def create(self, *args):
            raise keystone.TrustError('Keystone did not create the trust: Forbidden')

    with pytest.raises(actions.InvalidAction, match='Forbidden') as caught:
        make(conf, Refusing()).check(['trust+http://hooks.example.org/'],
                                     TokenContext(ALICE, 'tok'))
    assert caught.value.status == 400


def test_release_deletes_the_trusts_no_longer_used(conf, trusts):
    ours = make(conf, trusts)
    ours.release(['trust+http://t1:delete@h/a', 'trust+http://t1:delete@h/b',
                  'trust+http://t2:delete@h/c', 'trust+http://t3:delete@h/d',
                  'trust+http://t4@h/e', 'http://u:delete@h/'],
                 keep=['trust+http://t3:delete@h/x'],
                 context=TokenContext(ALICE, 'alice-token'))
    assert trusts.deleted == [('t1', 'alice-token', 'project-a'),
                              ('t2', 'alice-token', 'project-a')]
    ours.release(['trust+https://t5:delete@h/'])
    assert trusts.deleted[-1] == ('t5', None, None)


@pytest.mark.parametrize('url, scrubbed', [
    ('trust+http://abc:delete@hooks:80/x?y=1', 'trust+http://hooks:80/x?y=1'),
    ('trust+https://abc@hooks/x', 'trust+https://hooks/x'),
    ('trust+http://hooks/x', 'trust+http://hooks/x'),
    ('http://user:pw@hooks/x', 'http://user:pw@hooks/x'),
    ('log://', 'log://'),
])
def test_scrub(url, scrubbed):
    assert actions.scrub(url) == scrubbed
    assert actions.Actions.scrub(url) == scrubbed
