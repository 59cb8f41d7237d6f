"""The browser console (telewatch/console) in headless Chromium against a live all-in-one
whose store the tests fill, and against telewatch-api on the real Keystone: sign-in, the
pages, the points a chart draws, and the figures of issue 17 (first load, time to the first
chart, drawing speed), printed as they are measured."""

import datetime
import os
import time

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from tests.functional import console_browser as cb

FIRST_LOAD_LIMIT = 250 * 1024
FIRST_CHART_LIMIT_MS = 1000
DRAW_LIMIT_MS = 100
REDRAWS = 4
FIRST_CHART_TRIES = 3
POLICY = 'console-minutes'
FLEET = 1000
MINUTE = 60


def _iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def _measures(start, count, step=MINUTE, skip=()):
    return [{'timestamp': _iso(start + k * step), 'value': round(10 + (k % 37) * 1.5, 2)}
            for k in range(count) if k not in skip]


def _uptime():
    return os.getloadavg()


class Store:
    """What the module's tests find: ids of the resources and metrics written."""


@pytest.fixture(scope='module')
def store(console_server):
    """The all-in-one's store, filled through the public API: a resource type with
    attributes and three resources of it (one ended, one updated), 45 minutes of minutes with a
    10-minute gap on web-1's cpu_util, a day of minutes on ten metrics of db-1, 1,000
    resources of another type in one line-protocol write, and an alarm."""
    c = console_server
    s = Store()
    c.api('POST', '/v1/archive_policy', json={
        'name': POLICY, 'aggregation_methods': ['mean', 'max', 'min'],
        'definition': [{'granularity': '1m', 'timespan': '1d'},
                       {'granularity': '1h', 'timespan': '7d'}]})
    c.api('POST', '/v1/resource_type', json={'name': 'console_vm', 'attributes': {
        'display_name': {'type': 'string', 'required': False},
        'flavor': {'type': 'string', 'required': False}}})
    for rid, name, ended in (('web-1', 'web-1', None), ('db-1', 'db-1', None),
                             ('old-1', 'old-1', '2026-01-01T00:00:00Z')):
        c.api('POST', '/v1/resource/console_vm', json={
            'id': rid, 'display_name': name, 'flavor': 'm1.small', 'ended_at': ended})
    c.api('PATCH', '/v1/resource/console_vm/web-1', json={'flavor': 'm1.large'})
    now = int(time.time()) // MINUTE * MINUTE
    s.hour_start = now - 44 * MINUTE  # all in the last hour for a quarter of an hour
    s.day_start = now - 1439 * MINUTE
    body = {'web-1': {'cpu_util': {'archive_policy_name': POLICY, 'unit': '%',
                                   'measures': _measures(s.hour_start, 45,
                                                         skip=range(20, 30))}},
            'db-1': {'disk.%d.bytes' % n: {'archive_policy_name': POLICY, 'unit': 'B/s',
                                           'measures': _measures(s.day_start + n, 1440)}
                     for n in range(10)}}
    c.api('POST', '/v1/batch/resources/metrics/measures',
          params={'create_metrics': 'true'}, json=body)
    cb.fill_resources(c, 'console_fleet', FLEET)
    cb.wait_processed(c)
    web = c.api('GET', '/v1/resource/console_vm/web-1')
    s.web_id, s.cpu = web['id'], web['metrics']['cpu_util']
    db = c.api('GET', '/v1/resource/console_vm/db-1')
    s.disks = [db['metrics']['disk.%d.bytes' % n] for n in range(10)]
    c.api('POST', '/v2/alarms', json={
        'name': 'web-1 busy', 'type': 'gnocchi_resources_threshold', 'severity': 'critical',
        'gnocchi_resources_threshold_rule': {
            'metric': 'cpu_util', 'resource_id': s.web_id, 'resource_type': 'console_vm',
            'threshold': 90, 'comparison_operator': 'gt', 'aggregation_method': 'mean',
            'granularity': 60, 'evaluation_periods': 1}})
    return s


def _stored(console, metric, granularity, start):
    measures = console.api('GET', '/v1/metric/%s/measures' % metric, params={
        'granularity': granularity, 'start': _iso(start), 'aggregation': 'mean'})
    return {datetime.datetime.fromisoformat(ts).timestamp(): value
            for ts, _, value in measures}


def _open(browser, console, route, params=None):
    browser.get('about:blank')  # a new page: its own charts and performance entries
    browser.get(console.page(route, params))
    cb.wait_for(browser, 'return document.querySelector("#view h1") !== null')


def _wait_chart(browser, points=1):
    return cb.wait_for(browser, """
        const c = window.telewatchCharts || [];
        return c.length && c[0].plot.data[0].length >= %d && c[0].plot.data.length > 1
            && !c[0].pending;""" % points)


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
    assert requests.get(console_server.url + '/', timeout=10).json()['versions']


def test_noauth_goes_straight_in_to_the_overview_and_the_first_load_is_small(
        console_server, store, browser):
    browser.get(console_server.page())
    cb.wait_for(browser, "return location.hash.startsWith('#/overview')")
    cb.wait_text(browser, 'Resources by type')
    resources = cb.perf(browser)['resources']
    console = [r for r in resources if '/console/' in r['name']]
    weight = sum(r['transferSize'] for r in console)
    print('\nfirst load: %d B over the wire (%s); load %.1f %.1f %.1f' % ((weight, ', '.join(
        '%s %d' % (r['name'].rsplit('/', 1)[-1] or 'index', r['transferSize'])
        for r in console)) + _uptime()))
    assert 0 < weight <= FIRST_LOAD_LIMIT
    # No request leaves the machine: every resource the page loaded came from the API.
    assert all(r['name'].startswith(console_server.url) for r in resources), resources
    text = cb.wait_for(browser, """
        const t = document.body.innerText;
        return /console_fleet\\s+1,000\\s+0/.test(t)
            && t.includes('evaluator') && t.includes('agent') && t.includes('processor') && t;""")
    row = browser.find_element(By.XPATH, '//tr[td[normalize-space()="console_vm"]]').text
    assert row.split()[-2:] == ['2', '1']  # active, ended
    assert 'measures rejected as too late' in text
    assert 'archive://' in text  # the all-in-one's publisher, with its dropped and queued
    figures = ['[data-figure="alarms-%s"] .value' % state
               for state in ('alarm', 'ok', 'insufficient_data')]
    alarms = [int(browser.find_element(By.CSS_SELECTOR, f).text) for f in figures]
    assert sum(alarms) == 1  # the one alarm, in whatever state it is by now
    cb.wait_for(browser, 'return !document.body.innerText.includes("…")')  # rates known
    cb.screenshot(browser, 'overview')


def test_find_a_resource_and_its_chart_draws_the_stored_points(
        console_server, store, browser):
    _open(browser, console_server, 'resources')
    cb.wait_for(browser, 'return document.querySelector("#resource-type")')
    Select(browser.find_element(By.ID, 'resource-type')).select_by_visible_text('console_vm')
    query = browser.find_element(By.ID, 'resource-filter')
    query.send_keys("display_name = 'web-1'")
    query.send_keys(Keys.ENTER)
    cb.wait_for(browser, "return location.hash.includes('console_vm') && "
                         "document.body.innerText.includes('1 resources')")
    cb.screenshot(browser, 'resources')
    browser.find_element(By.LINK_TEXT, 'web-1').click()
    cb.wait_text(browser, 'History')
    page = browser.find_element(By.ID, 'view').text
    assert 'm1.large' in page and 'flavor: m1.large' in page  # attributes and history
    cb.screenshot(browser, 'resource')
    browser.find_element(By.LINK_TEXT, 'cpu_util').click()
    _wait_chart(browser, 35)
    drawn = cb.drawn(browser)
    assert len(drawn) == 1 and drawn[0]['labels'] == ['web-1 · cpu_util']
    stored = _stored(console_server, store.cpu, 60, store.hour_start - 3600)
    assert cb.points_of(drawn[0]) == stored and len(stored) == 35
    times = drawn[0]['data'][0]
    gap_at = store.hour_start + 20 * MINUTE
    assert gap_at in times and drawn[0]['data'][1][times.index(gap_at)] is None  # a gap
    assert browser.execute_script(  # the unit on the axis
        'return window.telewatchCharts[0].plot.axes[1].label') == '%'
    cb.screenshot(browser, 'chart')


def test_range_and_granularity_change_and_stay_in_the_url(console_server, store, browser):
    _open(browser, console_server, 'chart', {'metric': store.cpu})
    _wait_chart(browser, 35)
    browser.find_element(By.CSS_SELECTOR, '[data-range="1d"]').click()
    cb.wait_for(browser, "return location.hash.includes('range=1d')")
    Select(browser.find_element(By.ID, 'chart-granularity')).select_by_value('3600')
    cb.wait_for(browser, "return location.hash.includes('granularity=3600')")
    cb.wait_for(browser, 'const c = window.telewatchCharts[0]; '
                         'return c && !c.pending && c.plot.data[0].length <= 2')
    hourly = _stored(console_server, store.cpu, 3600, store.hour_start - 86400)
    assert cb.points_of(cb.drawn(browser)[0]) == hourly and hourly
    url = browser.current_url
    browser.get('about:blank')
    browser.get(url)  # a shared link shows the same chart
    cb.wait_for(browser, 'const c = (window.telewatchCharts || [])[0]; '
                         'return c && !c.pending && c.plot.data[0].length')
    assert cb.points_of(cb.drawn(browser)[0]) == hourly
    assert Select(browser.find_element(By.ID, 'chart-granularity')
                  ).first_selected_option.get_attribute('value') == '3600'


def test_a_chart_of_ten_metrics_of_a_day_of_minutes_is_drawn_fast(
        console_server, store, browser):
    _open(browser, console_server, 'chart', {
        'metric': store.disks, 'range': 'custom', 'start': _iso(store.day_start),
        'stop': _iso(store.day_start + 1440 * MINUTE), 'granularity': 60})
    _wait_chart(browser, 1440)
    drawn = cb.drawn(browser)[0]
    assert len(drawn['labels']) == 10
    assert all(len(cb.points_of(drawn, n)) == 1440 for n in range(10))
    for _ in range(REDRAWS):  # drawn again: the best of several, the machine being shared
        browser.execute_script('const c = window.telewatchCharts[0]; c.update(c.series);')
        cb.wait_for(browser, 'return !window.telewatchCharts[0].pending')
    draws = [m for m in cb.perf(browser)['measures'] if m['name'] == 'telewatch:chart-draw']
    assert len(draws) == REDRAWS + 1
    assert all(m['detail']['points'] == 14400 for m in draws)
    durations = [m['duration'] for m in draws]
    print('\n10 metrics x 1,440 points drawn in %.1f ms (best of %d; first %.1f ms, all %s); '
          'load %.1f %.1f %.1f' % ((min(durations), len(durations), durations[0],
                                   ' '.join('%.0f' % d for d in durations)) + _uptime()))
    assert min(durations) <= DRAW_LIMIT_MS
    cb.screenshot(browser, 'chart-10-metrics')


def test_time_to_the_first_chart_on_a_store_of_a_thousand_resources(
        console_server, store, browser):
    fleet = console_server.api('POST', '/v1/search/resource/console_fleet',
                               params={'filter': "original_resource_id = 'node-0999'"})
    metric = fleet[0]['metrics']['load.value']
    assert len(console_server.api('GET', '/v1/resource/generic', params={
        'limit': 1000})) == 1000
    marks = []
    for _ in range(FIRST_CHART_TRIES):  # the best of a few: the machine is shared
        browser.get('about:blank')
        browser.get(console_server.page('chart', {'metric': metric}))
        marks.append(cb.wait_for(browser, "const m = performance.getEntriesByName("
                                          "'telewatch:first-chart'); return m.length && "
                                          "m[0].startTime"))
    steps = ', '.join('%s %.0f-%.0f' % (
        r['name'].split('?')[0].rsplit('/', 2)[-1] or 'page', r['startTime'], r['responseEnd'])
        for r in cb.perf(browser)['resources'])
    print('\ntime to the first chart (%d resources): %.0f ms from navigation (best of %s; '
          'the last: %s); load %.1f %.1f %.1f'
          % ((FLEET + 3, min(marks), ' '.join('%.0f' % m for m in marks), steps) + _uptime()))
    assert min(marks) <= FIRST_CHART_LIMIT_MS
    assert cb.points_of(cb.drawn(browser)[0])  # the fleet's one measure


def test_zoom_by_dragging_makes_the_range_custom(console_server, store, browser):
    _open(browser, console_server, 'chart', {'metric': store.cpu})
    _wait_chart(browser, 35)
    from selenium.webdriver.common.action_chains import ActionChains
    over = browser.find_element(By.CSS_SELECTOR, '#chart .u-over')
    width = over.size['width']
    ActionChains(browser).move_to_element_with_offset(over, -width // 4, 0).click_and_hold() \
        .move_by_offset(width // 4, 0).release().perform()
    cb.wait_for(browser, "return location.hash.includes('range=custom') && "
                         "location.hash.includes('start=')")
    assert cb.wait_for(browser, 'const c = window.telewatchCharts[0]; '
                                'return c && !c.pending && c.plot.data[0].length')


def test_phone_width_and_the_keyboard(console_server, store, browser):
    cb.resize(browser, cb.PHONE)
    try:
        for route, params, name in (('overview', {}, 'overview-phone'),
                                    ('chart', {'metric': store.cpu}, 'chart-phone')):
            _open(browser, console_server, route, params)
            cb.wait_text(browser, 'Resources by type' if route == 'overview' else 'points')
            overflow = browser.execute_script(
                'return document.documentElement.scrollWidth - window.innerWidth')
            assert overflow <= 1, '%s is wider than the phone by %d px' % (route, overflow)
            cb.screenshot(browser, name)
    finally:
        cb.resize(browser, cb.WINDOW)
    _open(browser, console_server, 'resources')
    cb.wait_for(browser, 'return document.querySelector("#resource-type")')
    reached = set()
    body = browser.find_element(By.TAG_NAME, 'body')
    body.send_keys(Keys.TAB)
    for _ in range(20):
        active = browser.switch_to.active_element
        reached.add(active.get_attribute('id') or active.text)
        active.send_keys(Keys.TAB)
    assert {'Overview', 'Resources', 'Charts', 'resource-type', 'resource-filter',
            'Search'} <= reached, reached


def test_keystone_sign_in_and_the_project_sees_only_its_own(
        keystone, keystone_console, browser):
    alice = keystone.token(keystone.alice)
    bob = keystone.token(keystone.bob)
    for token, name in ((alice, 'alice-vm'), (bob, 'bob-vm')):
        keystone_console.api('POST', '/v1/resource/generic', headers={
            'X-Auth-Token': token.id}, json={'id': name})
    browser.get(keystone_console.page())
    cb.wait_for(browser, 'return document.querySelector("form.signin")')
    _sign_in(browser, keystone.alice.name, 'wrong', keystone.alice.project)
    cb.wait_text(browser, 'Keystone refused')
    _sign_in(browser, keystone.alice.name, keystone.alice.password, keystone.alice.project)
    cb.wait_for(browser, "return location.hash.startsWith('#/overview')")
    cb.wait_text(browser, 'admins only')
    stored = browser.execute_script('return JSON.parse(sessionStorage.getItem('
                                    '"telewatch.session"))')
    assert stored['project_id'] == alice.project_id and stored['token']
    assert browser.execute_script('return localStorage.length') == 0  # the tab only
    browser.get(keystone_console.page('resources'))
    cb.wait_for(browser, "return document.body.innerText.includes('alice-vm')")
    assert 'bob-vm' not in browser.find_element(By.ID, 'view').text
    cb.screenshot(browser, 'resources-keystone')
    browser.find_element(By.XPATH, '//button[text()="Sign out"]').click()
    cb.wait_for(browser, 'return document.querySelector("form.signin")')
    cb.screenshot(browser, 'signin')
    assert browser.execute_script('return sessionStorage.getItem("telewatch.session")') is None


def _sign_in(browser, user, password, project):
    form = browser.find_element(By.CSS_SELECTOR, 'form.signin')
    for name, value in (('user', user), ('password', password), ('project', project)):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    form.find_element(By.CSS_SELECTOR, 'button[type=submit]').click()
