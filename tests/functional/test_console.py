"""The browser console (telewatch/console) in headless Chromium against a live all-in-one
whose store the tests fill, and against telewatch-api on the real Keystone: sign-in, the
pages, the points a chart draws, and the figures of issue 17 (first load, time to the first
chart, drawing speed), printed as they are measured."""

import requests

from tests.functional import console_browser as cb

FIRST_LOAD_LIMIT = 250 * 1024


def test_the_console_is_served_compressed_and_cached(console_server):
    index = requests.get(console_server.url + '/console/', timeout=10,
                         headers={'Accept-Encoding': 'gzip'})
    assert index.status_code == 200
    assert index.headers['Cache-Control'] == 'no-cache'
    assert index.headers['Content-Encoding'] == 'gzip'
    script = next(name for name in index.text.split('"') if name.startswith('app.'))
    bundle = requests.get(console_server.url + '/console/' + script, timeout=10)
    assert bundle.headers['Cache-Control'] == 'public, max-age=31536000, immutable'
    assert bundle.headers['Content-Type'].startswith('text/javascript')
    plain = requests.get(console_server.url + '/console/' + script, timeout=10,
                         headers={'Accept-Encoding': 'identity'})
    assert 'Content-Encoding' not in plain.headers and plain.content == bundle.content
    again = requests.get(console_server.url + '/console/', timeout=10,
                         headers={'If-None-Match': index.headers['ETag']})
    assert again.status_code == 304
    assert requests.get(console_server.url + '/console/../etc/passwd',
                        timeout=10).status_code in (404, 400)
    assert requests.get(console_server.url + '/', timeout=10).json()['versions']


def test_noauth_goes_straight_in_and_the_first_load_is_small(console_server, browser):
    browser.get(console_server.page())
    cb.wait_for(browser, "return location.hash.startsWith('#/overview')")
    cb.wait_text(browser, 'measures waiting')
    cb.screenshot(browser, 'overview')
    resources = cb.perf(browser)['resources']
    console = [r for r in resources if '/console/' in r['name']]
    weight = sum(r['transferSize'] for r in console)
    print('first load: %d B over the wire (%s)' % (weight, ', '.join(
        '%s %d' % (r['name'].rsplit('/', 1)[-1] or 'index', r['transferSize'])
        for r in console)))
    assert 0 < weight <= FIRST_LOAD_LIMIT
    assert all(r['name'].startswith(console_server.url) for r in resources)
