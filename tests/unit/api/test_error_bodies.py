"""Every error the API answers is Gnocchi's JSON ``{"code", "title", "description"}``
(Aodh's ``{"error_message": {"faultstring", "faultcode", "debuginfo"}}`` under /v2): a
walk of every described route (with existing and unknown ids, and a segment or two
beyond), each with usual and odd methods and bodies, plus paths and queries no backend can
store; and the middleware that makes it so."""

import json

import pytest
import webob
import webtest

from telewatch.api import app as app_mod
from telewatch.api import middleware
from telewatch.api import openapi
from telewatch.archive import aggregates
from telewatch.archive import errors

ADMIN = {'Authorization': 'basic YWRtaW46'}
METHODS = ('GET', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'FOO')
BODY_METHODS = ('POST', 'PUT', 'PATCH')
BODIES = ((b'{}', 'application/json'), (b'{"a": ', None))
EXISTING = {'name': 'low', 'resource_type': 'generic', 'resource_id': 'r1',
            'metric_name': 'cpu'}
ODD_PATHS = ('/v2', '/favicon.ico', '/v1/search/metric', '/v1/search', '/v1/metric/%ff',
             '/v1/archive_policy/a%00b', '/v1/metric?name=a%00b', '/v1/metric?%ff=1',
             '/v1/resource/generic?sort=%ed%a0%80', '/v1//metric', '/v1/./metric/..')


def _paths(api):
    created = api.post_json('/v1/resource/generic', {
        'id': 'r1', 'metrics': {'cpu': {'archive_policy_name': 'low'}}}, headers=ADMIN)
    alarm = api.post_json('/v2/alarms', {'name': 'a', 'type': 'event'}, headers=ADMIN)
    values = dict(EXISTING, metric_id=created.json['metrics']['cpu'],
                  subscription_id='00000000-0000-0000-0000-000000000000',
                  alarm_id=alarm.json['alarm_id'], project_id='p1')
    for template in openapi.document()['paths']:
        filled = template.format(**values)
        yield from (filled, filled.rstrip('/') + '/x', filled.rstrip('/') + '/x/y')
        if '{' in template:
            unknown = template.format(**{k: 'nope' for k in values})
            yield from (unknown, unknown + '/x')
    yield from ODD_PATHS


def _requests(api):
    for path in _paths(api):
        for method in METHODS:
            yield method, path, b'', None
        for method in BODY_METHODS:
            for body, content_type in BODIES:
                yield method, path, body, content_type


def _not_json(api, method, path, body, content_type):
    """What is wrong with the answer to a request, if it is an error not in Gnocchi's
    shape."""
    headers = dict(ADMIN, **({'Content-Type': content_type} if content_type else {}))
    if path.startswith('/v2'):  # as the aodh CLI asks (Pecan writes JSON errors itself)
        headers['Accept'] = 'application/json'
    response = api.request(path, method=method, body=body, headers=headers,
                           expect_errors=True)
    if response.status_int < 400:
        return None
    where = '%s %s (%s) -> %s' % (method, path, body, response.status)
    if not response.content_type == 'application/json':
        return '%s: %s %s' % (where, response.content_type, response.body[:80])
    if method == 'HEAD':
        return None
    error = json.loads(response.body)
    if path.startswith('/v2'):
        fault = error.get('error_message') or {}
        if response.status_int == 500:  # Aodh's shape, and still a server's error
            return '%s: %s' % (where, error)
        if set(error) != {'error_message'} or set(fault) != {
                'faultstring', 'faultcode', 'debuginfo'} or fault['faultcode'] != (
                'Client' if response.status_int < 500 else 'Server'):
            return '%s: %s' % (where, error)
        return None
    if set(error) != {'code', 'title', 'description'} or (
            error['code'] != response.status_int):
        return '%s: %s' % (where, error)
    return None


@pytest.mark.filterwarnings('ignore:Unknown REQUEST_METHOD')  # webtest's, for FOO
def test_every_error_is_json_in_gnocchi_shape(conf, store):
    api = webtest.TestApp(app_mod.make_app(conf, store))
    wrong = [problem for request in _requests(api) if (problem := _not_json(api, *request))]
    assert not wrong, '\n'.join(wrong[:20])


def test_an_error_page_of_a_library_becomes_json():
    def html_page(environ, start_response):
        start_response('404 Not Found', [('Content-Type', 'text/html')])
        return [b'<html>gone</html>']

    app = middleware.JsonErrors(html_page, {413: 'too large'})
    response = webtest.TestApp(app).get('/', expect_errors=True)
    assert response.status_int == 404
    assert response.json == {'code': 404, 'title': 'Not Found',
                             'description': 'The resource could not be found.'}


def test_json_and_successful_answers_pass_through():
    def answer(environ, start_response):
        status = environ['PATH_INFO'][1:]
        kind = 'application/json' if status == '409' else 'text/plain'
        start_response('%s Whatever' % status, [('Content-Type', kind)])
        return [b'as is']

    api = webtest.TestApp(middleware.JsonErrors(answer))
    assert api.get('/200').body == b'as is'
    assert api.get('/409', expect_errors=True).body == b'as is'


def test_the_413_of_a_declared_length_says_the_limit(conf, store):
    conf.set_override('max_request_body_size', 100, group='oslo_middleware')
    api = webtest.TestApp(app_mod.make_app(conf, store))
    response = api.post('/v1/metric', b'{"archive_policy_name": "low", "x": "%s"}'
                        % (b'a' * 100), headers=dict(ADMIN, **{
                            'Content-Type': 'application/json'}), expect_errors=True)
    assert response.status_int == 413
    assert response.json == {'code': 413, 'title': 'Request Entity Too Large',
                             'description': 'Request is too large. Larger than 100.'}


def test_the_413_of_a_chunked_body_too(conf, store):
    conf.set_override('max_request_body_size', 100, group='oslo_middleware')
    app = app_mod.make_app(conf, store)
    request = webob.Request.blank('/v1/metric', method='POST', headers=dict(
        ADMIN, **{'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked'}))
    request.body_file = _Unsized(b'{"archive_policy_name": "%s"}' % (b'a' * 200))
    response = request.get_response(app)
    assert response.status_int == 413
    assert response.json == {'code': 413, 'title': 'Request Entity Too Large',
                             'description': 'Request is too large. Larger than 100.'}


class _Unsized:
    """A body read as a chunked one is: no Content-Length, read until it ends."""

    def __init__(self, data):
        self.data = data

    def read(self, size=-1):
        size = len(self.data) if size is None or size < 0 else size
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def test_the_default_limit_takes_tens_of_megabytes(conf):
    assert conf.oslo_middleware.max_request_body_size == 32 * 2 ** 20


def _released(monkeypatch, environ, response_headers=()):
    """The environ once ReleaseMemory closed the answer, and whether it trimmed."""
    trimmed = []
    monkeypatch.setattr(middleware, 'trim_memory', lambda: trimmed.append(True))

    def app(environ, start_response):
        environ['telewatch.json_body'] = ([1] * 10, None)
        environ['pecan.locals'] = {'request': environ}  # a cycle, as Pecan's
        start_response('202 Accepted', list(response_headers))
        return [b'']

    environ = dict(environ, **{'wsgi.input': object()})
    body = middleware.ReleaseMemory(app)(environ, lambda *args: None)
    assert list(body) == [b'']
    body.close()
    assert 'telewatch.json_body' not in environ and 'pecan.locals' not in environ
    assert environ['wsgi.input'].read() == b''
    return bool(trimmed)


def test_a_large_request_is_released_and_its_memory_trimmed(monkeypatch):
    assert _released(monkeypatch, {'CONTENT_LENGTH': str(2 ** 20)})
    assert _released(monkeypatch, {'HTTP_TRANSFER_ENCODING': 'chunked'})
    assert _released(monkeypatch, {}, [('Content-Length', str(2 ** 21))])


def test_a_small_one_is_released_only(monkeypatch):
    assert not _released(monkeypatch, {'CONTENT_LENGTH': '100'})
    assert not _released(monkeypatch, {'CONTENT_LENGTH': ''}, [('Content-Length', '5')])


def test_typed_errors_have_gnocchis_statuses():
    assert app_mod.status_of(aggregates.NoSuchAggregationGranularity('m1', 'mean', 42)) == 404
    for error in (aggregates.NoOverlap([['a', 'mean']]),
                  aggregates.InvalidOperations('Expected ...'),
                  aggregates.InvalidParameter('fill', 'Must be a float'),
                  errors.ArchivePolicyInUse('low'), errors.NoArchivePolicyRuleMatch('x')):
        assert app_mod.status_of(error) == 400
    assert app_mod.status_of(errors.NoSuchMetric('m')) == 404
    assert app_mod.status_of(errors.ResourceAlreadyExists('r')) == 409
