"""The console's server side: its built files under /console/ (cache headers, gzip, nothing
outside its directory, 503 when not built), its settings and its sign-in's refusals."""

import gzip

import pytest
import webob
import webtest

from telewatch import console
from telewatch import service
from telewatch.api import auth


def _inner(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'the API']


@pytest.fixture
def conf():
    conf = service.prepare_service([])
    conf.register_opts(auth.OPTS, group='api')
    conf.set_override('auth_strategy', 'noauth', group='api')
    return conf


@pytest.fixture
def static(tmp_path):
    files = {'index.html': b'<script src="app.0123abcd.js"></script>',
             'app.0123abcd.js': b'console.log("built");' * 20}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        (tmp_path / (name + '.gz')).write_bytes(gzip.compress(data))
    return tmp_path


def _app(conf, static, anonymous=True):
    return webtest.TestApp(console.Console(_inner, conf, anonymous, static))


def test_other_paths_go_to_the_api(conf, static):
    app = _app(conf, static)
    assert app.get('/v1/status').body == b'the API'
    assert app.get('/consoles').body == b'the API'


def test_the_page_is_revalidated_and_the_hashed_files_kept(conf, static):
    app = _app(conf, static)
    page = app.get('/console/')
    assert page.headers['Cache-Control'] == 'no-cache'
    assert page.content_type == 'text/html'
    assert page.body == (static / 'index.html').read_bytes()
    assert app.get('/console/', headers={'If-None-Match': page.headers['ETag']},
                   status=304)
    bundle = app.get('/console/app.0123abcd.js')
    assert bundle.headers['Cache-Control'] == 'public, max-age=31536000, immutable'
    assert bundle.content_type == 'text/javascript'


def _get(conf, static, path, headers):
    # webob, not webtest: webtest decodes what it receives.
    return webob.Request.blank(path, headers=headers).get_response(
        console.Console(_inner, conf, True, static))


def test_gzip_only_for_a_client_that_takes_it(conf, static):
    zipped = _get(conf, static, '/console/app.0123abcd.js', {'Accept-Encoding': 'gzip, br'})
    assert zipped.headers['Content-Encoding'] == 'gzip'
    assert zipped.headers['Vary'] == 'Accept-Encoding'
    assert zipped.body == (static / 'app.0123abcd.js.gz').read_bytes()
    for headers in ({}, {'Accept-Encoding': 'identity'}, {'Accept-Encoding': 'gzip;q=0'}):
        plain = _get(conf, static, '/console/app.0123abcd.js', headers)
        assert 'Content-Encoding' not in plain.headers
        assert plain.body == (static / 'app.0123abcd.js').read_bytes()


def test_only_the_built_files_are_served(conf, static, tmp_path):
    app = _app(conf, static)
    for path in ('/console/nothing.js', '/console/app.0123abcd.js.gz',
                 '/console/%2e%2e/secret', '/console/sub/index.html'):
        assert app.get(path, status=404).json['code'] == 404
    assert app.post('/console/index.html', status=405).headers['Allow'] == 'GET, HEAD'


def test_console_without_a_slash_is_redirected(conf, static):
    response = _app(conf, static).get('/console', status=301)
    assert response.headers['Location'].endswith('/console/')


def test_not_built_is_a_503_that_says_what_to_run(conf, tmp_path):
    response = _app(conf, tmp_path / 'missing').get('/console/', status=503)
    assert 'tools/build-console' in response.json['description']


@pytest.mark.parametrize('anonymous, strategy, expected', [
    (True, 'noauth', True), (False, 'noauth', False), (True, 'keystone', False)])
def test_settings_say_how_to_sign_in(conf, static, anonymous, strategy, expected):
    conf.set_override('auth_strategy', strategy, group='api')
    body = _app(conf, static, anonymous).get('/console/config.json').json
    assert body == {'auth_strategy': strategy, 'anonymous': expected}


def test_sign_in_refuses_what_it_cannot_use(conf, static):
    app = _app(conf, static)
    assert app.post_json('/console/signin', {}, status=404).json['code'] == 404  # noauth
    assert app.get('/console/signin', status=405).json['description']


@pytest.fixture
def keystone_conf(conf):
    from keystonemiddleware import auth_token
    for group, options in auth_token.list_opts():
        conf.register_opts(options, group=group)
    conf.set_override('auth_strategy', 'keystone', group='api')
    return conf


@pytest.mark.parametrize('body, missing', [
    ({'user': 'alice', 'password': 'x'}, 'project'),
    ({'user': '', 'password': 'x', 'project': 'p'}, 'user'),
    ({'user': 'alice', 'password': 1, 'project': 'p'}, 'password')])
def test_sign_in_names_the_missing_fields(keystone_conf, static, body, missing):
    response = _app(keystone_conf, static).post_json('/console/signin', body, status=400)
    assert missing in response.json['description']


def test_sign_in_with_a_body_that_is_not_json(keystone_conf, static):
    app = _app(keystone_conf, static)
    response = app.post('/console/signin', b'user=a', status=400,
                        headers={'Content-Type': 'application/json'})
    assert response.json['description'] == 'The body is not JSON.'


def test_sign_in_when_keystone_does_not_answer_is_a_503(keystone_conf, static):
    import socket
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    keystone_conf.set_override('www_authenticate_uri', 'http://127.0.0.1:%d/v3' % port,
                               group='keystone_authtoken')
    response = _app(keystone_conf, static).post_json(
        '/console/signin', {'user': 'alice', 'password': 'secret', 'project': 'p'},
        status=503)
    assert 'secret' not in response.text
    assert response.headers['Cache-Control'] == 'no-store'
