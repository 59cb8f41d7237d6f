import ipaddress

import pytest

from telewatch import allow_list


@pytest.mark.parametrize('host, port, allowed', [
    ('10.0.0.7', 9092, True), ('10.0.1.7', 9092, False), ('10.0.0.7', 9093, False),
    ('Kafka.Example.org', 1234, True), ('example.org', 1234, False),
    ('::1', 5000, True), ('::1', 5100, True), ('::1', 5101, False),
])
def test_patterns(host, port, allowed):
    allow = allow_list.AllowList(['10.0.0.*:9092', '*.example.org:*', '[::1]:5000-5100'])
    assert allow.allows(host, port) is allowed


def test_describe():
    assert allow_list.AllowList([]).describe() == 'none'
    assert allow_list.AllowList(['a:1', 'b:*']).describe() == 'a:1, b:*'


@pytest.mark.parametrize('pattern', ['k1', 'k1:port', ':9092', 'k1:1-x'])
def test_a_bad_pattern_is_an_error(pattern):
    with pytest.raises(ValueError, match=repr(pattern).replace('[', r'\[')):
        allow_list.AllowList([pattern])


@pytest.mark.parametrize('address, link_local', [
    ('169.254.169.254', True), ('169.254.0.1', True), ('fe80::1', True),
    ('::ffff:169.254.169.254', True), ('10.0.0.1', False), ('127.0.0.1', False),
    ('fd00:ec2::254', False), ('::1', False),
])
def test_link_local(address, link_local):
    assert allow_list.is_link_local(ipaddress.ip_address(address)) is link_local


@pytest.mark.parametrize('host, address', [
    ('10.1.2.3', '10.1.2.3'), ('[::1]', '::1'), ('fe80::1%eth0', 'fe80::1'),
    ('example.org', None), ('10.1.2', None),
])
def test_parse_address(host, address):
    parsed = allow_list.parse_address(host)
    assert (str(parsed) if parsed else None) == address
