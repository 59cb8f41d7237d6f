"""The one rule of what text telewatch accepts: what every index can store."""

import pytest

from telewatch import text


@pytest.mark.parametrize('value', ['', 'vm-1', 'a\x01\t\n\x1f\x7f', 'é😀', '\ufffe\uffff',
                                   '\U0010ffff'])
def test_every_backend_stores_these(value):
    assert text.unstorable_reason(value) is None


@pytest.mark.parametrize('value, reason', [
    ('vm\x00evil', 'NUL (U+0000) is not allowed in a text'),
    ('\x00', 'NUL (U+0000) is not allowed in a text'),
    ('a\udc00', 'a lone surrogate (U+DC00) is no character'),
    ('\ud83d', 'a lone surrogate (U+D83D) is no character'),
])
def test_no_backend_stores_these(value, reason):
    assert text.unstorable_reason(value) == reason


def test_the_path_to_the_first_unstorable_text_of_a_value():
    value = {'id': 'vm-1', 'metrics': {'cpu': {'unit': 'ns'}, 'mem\x00': {}},
             'list': [1, None, True, 2.5, ['ok', 'b\x00']]}
    path, reason = text.find_unstorable(value)
    assert path == ['metrics', 'mem\x00'] and reason.startswith('NUL')
    del value['metrics']['mem\x00']
    assert text.find_unstorable(value)[0] == ['list', 4, 1]
    value['list'][4][1] = 'b'
    assert text.find_unstorable(value) is None


def test_the_keys_of_an_object_come_before_its_values():
    assert text.find_unstorable({'a': 'x\x00', 'b\x00': 1})[0] == ['b\x00']
    assert text.find_unstorable([{'a': 'x\x00'}, {'b': 'y\x00'}])[0] == [0, 'a']


def test_a_deep_value_needs_no_recursion():
    value = 'x\x00'
    for _ in range(5000):
        value = [value]
    assert text.find_unstorable(value)[0] == [0] * 5000
