"""What telewatch changes in Pecan (telewatch/api/framework.py)."""

import decimal
import json

import orjson
import pecan
import pecan.core
import pecan.jsonify
import pecan.rest
import pecan.routing
import pecan.util
import pytest

from telewatch.api import framework
from telewatch.api.controllers import metric as metric_api
from telewatch.api.controllers import root


def test_the_app_routes_with_cached_argument_specs(api):
    # If a Pecan upgrade renames or moves its getargspec, this fails: the cache is gone.
    for module in (pecan.core, pecan.rest, pecan.routing):
        assert module.getargspec is framework.cached_getargspec, module.__name__


def test_a_cached_spec_is_pecans():
    controllers = [root.RootController().index_get,
                   metric_api.MetricsController()._lookup,
                   metric_api.MetricsController().post,  # decorated by pecan.expose
                   metric_api.MetricsController._lookup,
                   pecan.rest.RestController()._handle_get]
    for controller in controllers:
        assert framework.cached_getargspec(controller) == pecan.util.getargspec(controller)


def test_a_function_spec_is_computed_once():
    first = framework.cached_getargspec(metric_api.MetricsController()._lookup)
    again = framework.cached_getargspec(metric_api.MetricsController()._lookup)
    assert again is first
    assert first.args == ['self', 'metric_id'] and first.varargs == 'remainder'


def test_a_callable_object_is_not_kept():
    class Handler:
        def __call__(self, a, b=1):
            return a

    handler = Handler()
    assert framework.cached_getargspec(handler) == pecan.util.getargspec(handler)
    assert handler not in framework._ARGSPECS


def test_a_body_is_decoded_once_for_pecan_and_the_controllers():
    request = framework.Request.blank('/', method='POST', body=b'{"a": [1, 2]}')
    assert request.decoded_json() == {'a': [1, 2]}
    assert request.json is request.json_body is request.decoded_json()


def test_pecan_sees_no_body_but_an_object():
    request = framework.Request.blank('/', method='POST', body=b'[{"a": 1}]')
    assert request.decoded_json() == [{'a': 1}]
    with pytest.raises(ValueError, match='not a JSON object'):
        request.json


def test_an_empty_body_is_null():
    assert framework.decode_json(b'') is None
    assert framework.Request.blank('/', method='POST').decoded_json() is None


@pytest.mark.parametrize('body, error', [
    (b'[' * 257 + b']' * 257, 'nested deeper than 256 levels'),  # decoded, then measured
    (b'[' * 100000, 'nested deeper than 256 levels'),  # beyond the decoder's recursion
    (b'{"a": "\\udb35"}', 'a: a lone surrogate'),
    (b'{"a": [1, {"b\\u0000": 2}]}', r'a\.1\.b\x00: NUL'),
    (b'\xff', "can't decode byte"),
    (b'{"a": }', 'Expecting value'),
])
def test_what_does_not_decode_is_a_value_error(body, error):
    with pytest.raises(ValueError, match=error):
        framework.decode_json(body)
    request = framework.Request.blank('/', method='POST', body=body)
    for _ in range(2):  # the error is kept, as the value is
        with pytest.raises(ValueError, match=error):
            request.decoded_json()


def test_256_levels_decode():
    assert framework.decode_json(b'[' * 256 + b']' * 256) is not None
    assert framework.decode_json(b'[' + b','.join([b'[{}]'] * 300) + b']')  # shallow


def _rendered(namespace):
    return framework.JsonRenderer(None, None).render(None, namespace)


def test_json_responses_are_written_by_orjson():
    rows = [['2024-01-01T00:00:00+00:00', 60.0, 1.5]]
    assert _rendered(rows) == orjson.dumps(rows)


def test_a_null_is_written_by_orjson_too():
    namespace = {'values': [1.0, None], 'nested': [{'a': None, 'b': [2.5, 'null']}]}
    assert _rendered(namespace) == orjson.dumps(namespace, option=orjson.OPT_INDENT_2)
    assert b'"a": null' in _rendered(namespace)


@pytest.mark.parametrize('value', [
    float('nan'), float('inf'), -float('inf'),  # orjson would write null
    2 ** 70, decimal.Decimal('1.5'),  # what orjson refuses
])
def test_what_orjson_writes_otherwise_than_json_is_written_as_before(value):
    namespace = {'values': [1.0, value]}
    assert _rendered(namespace) == pecan.jsonify.encode(namespace)
    assert json.loads(_rendered(namespace))['values'][0] == 1.0


def test_a_rest_controller_class_is_checked_once(monkeypatch):
    class Checked(framework.RestController):
        pass

    members = []
    monkeypatch.setattr(pecan.rest, 'getmembers', lambda cls: members.append(cls) or [])
    Checked(), Checked()
    assert members == [Checked]


def test_a_rest_controller_still_refuses_path_segments():
    class Routed(framework.RestController):
        @pecan.expose(route='some-path')
        def get_all(self):
            pass

    for _ in range(2):
        with pytest.raises(ValueError, match='Path segments cannot be used'):
            Routed()


def test_error_json_keeps_text_as_is_and_escapes_what_utf8_cannot_carry():
    assert framework.error_json({'d': 'a ≠ b'}) == '{"d": "a ≠ b"}'
    assert framework.error_json({'d': 'x\ud800'}) == '{"d": "x\\ud800"}'
