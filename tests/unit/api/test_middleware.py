"""What the API answers before authentication, through oslo.middleware as Gnocchi's does:
``/healthcheck``, CORS (``[cors]``) and the proxy headers (``Forwarded``)."""

import webtest

from telewatch.api import app as app_mod


def _api(conf, store, overrides=()):
    for (group, name), value in dict(overrides).items():
        conf.set_override(name, value, group=group)
    return webtest.TestApp(app_mod.make_app(conf, store))


def test_healthcheck_answers_without_credentials(conf, store):
    api = _api(conf, store)
    response = api.get('/healthcheck')
    assert (response.status_int, response.content_type) == (200, 'text/plain')
    # The rest of the API still wants credentials.
    assert api.get('/v1/metric', status=401).json['code'] == 401


def test_healthcheck_is_503_when_its_disable_file_exists(conf, store, tmp_path):
    flag = tmp_path / 'healthcheck_disable'
    api = _api(conf, store, {('healthcheck', 'backends'): ['disable_by_file']})
    # The plugin registers its option as it loads.
    conf.set_override('disable_by_file_path', str(flag), group='healthcheck')
    assert api.get('/healthcheck').status_int == 200
    flag.write_text('')
    assert api.get('/healthcheck', status=503).text == 'DISABLED BY FILE'


def test_cors_preflight_of_an_allowed_origin(conf, store):
    api = _api(conf, store, {('cors', 'allowed_origin'): ['http://foobar.com']})
    response = api.options('/v1/status', headers={
        'Origin': 'http://foobar.com', 'Access-Control-Request-Method': 'GET'})
    assert response.headers['Access-Control-Allow-Origin'] == 'http://foobar.com'
    assert response.headers['Access-Control-Allow-Methods'] == 'GET'
    refused = api.options('/v1/status', headers={
        'Origin': 'http://notallowed.com', 'Access-Control-Request-Method': 'GET'})
    assert 'Access-Control-Allow-Origin' not in refused.headers
    assert 'Access-Control-Allow-Methods' not in refused.headers


def test_cors_preflight_allows_the_noauth_and_token_headers(conf, store):
    api = _api(conf, store, {('cors', 'allowed_origin'): ['http://console.example']})
    response = api.options('/v1/metric', headers={
        'Origin': 'http://console.example', 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'X-Auth-Token,X-Project-Id,Content-Type'})
    allowed = response.headers['Access-Control-Allow-Headers'].lower()
    assert {'x-auth-token', 'x-project-id', 'content-type'} <= set(allowed.split(','))


def test_forwarded_header_sets_the_links_only_when_enabled(conf, store):
    forwarded = {'Forwarded': 'for=192.0.2.60;proto=https;host=telemetry.example'}
    plain = _api(conf, store).get('/', headers=forwarded).json
    assert plain['versions'][0]['links'][0]['href'] == 'http://localhost/v1/'
    api = _api(conf, store, {('oslo_middleware', 'enable_proxy_headers_parsing'): True})
    proxied = api.get('/', headers=forwarded).json
    assert proxied['versions'][0]['links'][0]['href'] == 'https://telemetry.example/v1/'
