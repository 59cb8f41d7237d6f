import pytest

from telewatch.pubsub import subscription as subscription_mod


@pytest.mark.parametrize('text, scheme, servers, topic, policy, length', [
    ('kafka://k1:9092?topic=mine', 'kafka', [('k1', 9092)], 'mine', 'queue', 10000),
    ('kafka://k1:9092,k2:9093?topic=a.b_c-1&policy=drop&max_queue_length=5', 'kafka',
     [('k1', 9092), ('k2', 9093)], 'a.b_c-1', 'drop', 5),
    ('udp://10.0.0.5:4952', 'udp', [('10.0.0.5', 4952)], None, 'queue', 10000),
    ('udp://[::1]:4952/?policy=retry', 'udp', [('::1', 4952)], None, 'retry', 10000),
])
def test_targets_parse(text, scheme, servers, topic, policy, length):
    target = subscription_mod.Target(text)
    assert (target.scheme, target.servers, target.topic, target.policy,
            target.max_queue_length) == (scheme, servers, topic, policy, length)


@pytest.mark.parametrize('text, reason', [
    (None, 'expected kafka://host:port?topic=T or udp://host:port'),
    ('k1:9092', 'expected kafka://host:port?topic=T or udp://host:port'),
    ('http://k1:80', "scheme 'http' is not kafka or udp"),
    ('kafka://k1:9092', 'a kafka target needs ?topic=NAME'),
    ('kafka://k1?topic=t', "'k1' has no port (write host:port)"),
    ('kafka://k1:99999?topic=t', "'k1:99999': Port out of range 0-65535"),
    ('kafka://:9092?topic=t', "':9092' has no host"),
    ('kafka://k1:9092?topic=no%20spaces', "topic 'no spaces' is not a Kafka topic name"),
    ('kafka://k1:9092?topic=..', "topic '..' is not a Kafka topic name"),
    ('kafka://k1:9092/path?topic=t', 'with no path, fragment or credentials'),
    ('kafka://user:pw@k1:9092?topic=t', 'with no path, fragment or credentials'),
    ('udp://h:1,h:2', 'a udp target is one host:port'),
    ('udp://h:1?topic=t', 'a udp target has no topic'),
    ('udp://h:1?policy=later', "policy 'later' is not one of queue, retry, drop"),
    ('udp://h:1?max_queue_length=0', "max_queue_length '0' is not a whole number"),
    ('udp://h:1?max_queue_length=many', "max_queue_length 'many' is not a whole number"),
    ('udp://h:1?speed=fast', 'unknown option(s) speed'),
    ('udp://h:1?policy=drop&policy=queue', "option 'policy' is given twice"),
])
def test_malformed_targets_are_refused_with_the_reason(text, reason):
    with pytest.raises(subscription_mod.InvalidSubscription) as caught:
        subscription_mod.Target(text)
    assert caught.value.field == 'target'
    assert reason in caught.value.reason


def test_the_destination_leaves_out_the_delivery_options():
    target = subscription_mod.Target('kafka://k1:9092,k2:9092?policy=drop&topic=t')
    assert target.destination == 'kafka://k1:9092,k2:9092?topic=t'


@pytest.mark.parametrize('host, port, allowed', [
    ('10.0.0.7', 9092, True), ('10.0.1.7', 9092, False), ('10.0.0.7', 9093, False),
    ('Kafka.Example.org', 1234, True), ('example.org', 1234, False),
    ('::1', 5000, True), ('::1', 5100, True), ('::1', 5101, False),
])
def test_the_allow_list(host, port, allowed):
    allow = subscription_mod.AllowList(['10.0.0.*:9092', '*.example.org:*', '[::1]:5000-5100'])
    assert allow.allows(host, port) is allowed


def test_a_target_must_be_allowed_on_every_server():
    allow = subscription_mod.AllowList(['k1:9092'])
    allow.check(subscription_mod.Target('kafka://k1:9092?topic=t'))
    with pytest.raises(subscription_mod.InvalidSubscription,
                       match='k2:9092 is not an allowed destination'):
        allow.check(subscription_mod.Target('kafka://k1:9092,k2:9092?topic=t'))
    with pytest.raises(subscription_mod.InvalidSubscription, match=r'\(allowed: none\)'):
        subscription_mod.AllowList([]).check(subscription_mod.Target('udp://h:1'))


@pytest.mark.parametrize('pattern', ['k1', 'k1:port', ':9092', 'k1:1-x'])
def test_a_bad_allow_list_entry_is_an_error(pattern):
    with pytest.raises(ValueError, match=repr(pattern).replace('[', r'\[')):
        subscription_mod.AllowList([pattern])


@pytest.mark.parametrize('meters, problem', [
    ([], 'no meters specified'),
    (['cpu', '!disk.*'], 'cannot mix included and excluded meters'),
    (['cpu lol'], "'cpu lol' cannot match any meter"),
    (['disk.*', 'näme'], "'näme' cannot match any meter"),
    (['*', '!*'], "'!*' excludes every meter"),
])
def test_meter_lists_that_cannot_work_are_refused(meters, problem):
    assert any(problem in text for text in subscription_mod.check_meters(meters))


@pytest.mark.parametrize('meters', [['cpu'], ['disk.*', 'network.[io]*'], ['*', '!cpu'],
                                    ['hardware.system_stats.load.1'], ['identity.*:success']])
def test_meter_lists_that_can_match(meters):
    assert subscription_mod.check_meters(meters) == []


def test_patterns_that_match_no_known_meter_are_listed():
    known = ['cpu', 'disk.read.bytes', 'memory.usage']
    assert subscription_mod.unmatched_patterns(
        ['cpu', 'disk.*', 'gpu.*', 'network.incoming.bytes'], known) == [
        'gpu.*', 'network.incoming.bytes']
    assert subscription_mod.unmatched_patterns(['*', '!cpu'], known) == []
