"""The console in a real browser, for its functional tests (import the fixtures you use).

- ``console_server``: a live telewatch-all-in-one (noauth: no credentials is its admin; no
  polling, so the store holds what the test writes) on a free port with its own data
  directory; a ``Console`` (``url``, ``page(route, params)``, ``api(method, path, ...)``).
- ``keystone_console``: a telewatch-api (gunicorn) and processor authenticating against the
  real Keystone (tools/services/keystone), for sign-in as alice and bob.
- ``browser``: headless Chromium (Debian's, installed by tools/services/chromium) through
  Selenium, window 1280x800, one per module.
- ``screenshot(driver, name)``: a PNG under ``$TELEWATCH_TEST_OUTPUT`` (default
  ``.tox/functional/log``) ``/screenshots/<name>.png``; ``perf(driver)``: the page's
  ``telewatch:*`` marks and measures, its resources and what they weighed over the wire;
  ``drawn(driver)``: every chart of ``window.telewatchCharts`` with the points uPlot holds;
  ``fill_*``: write the store through the public API.
"""

import contextlib
import dataclasses
import os
import pathlib
import shutil
import subprocess
import time
import urllib.parse

import pytest
import requests

from tests.functional import api_helpers
from tests.functional import services

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = api_helpers.BIN
STATIC = REPO / 'telewatch' / 'console' / 'static'
OUTPUT = pathlib.Path(os.environ.get('TELEWATCH_TEST_OUTPUT')
                      or REPO / '.tox' / 'functional' / 'log') / 'screenshots'
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
WINDOW = (1280, 800)
PHONE = (390, 844)


@dataclasses.dataclass
class Console:
    """A live API serving the console; ``headers`` go with every ``api`` call."""

    url: str
    data: pathlib.Path
    headers: dict = dataclasses.field(default_factory=dict)

    def page(self, route='', params=None):
        query = urllib.parse.urlencode(params or {}, doseq=True)
        return '%s/console/#/%s%s' % (self.url, route, '?' + query if query else '')

    def api(self, method, path, expect=(200, 201, 202, 204), **kwargs):
        headers = dict(self.headers, **kwargs.pop('headers', {}))
        response = requests.request(method, self.url + path, headers=headers, timeout=120,
                                    **kwargs)
        assert response.status_code in expect, (method, path, response.status_code,
                                                response.text[:500])
        return response.json() if response.content and response.headers.get(
            'Content-Type', '').startswith('application/json') else response


@pytest.fixture(scope='session')
def console_built():
    """The built console (tools/install builds it; built here when it is not)."""
    if not (STATIC / 'index.html').exists():
        result = subprocess.run([str(REPO / 'tools' / 'build-console')], capture_output=True,
                                text=True, timeout=600)
        if result.returncode:
            pytest.fail('tools/build-console failed:\n%s%s' % (result.stdout, result.stderr),
                        pytrace=False)
    return STATIC


@contextlib.contextmanager
def running_allinone(directory, cloudwatch_port=0):
    """A telewatch-all-in-one without polling on a free port (its CloudWatch API on
    ``cloudwatch_port``: any free one by default); its Console."""
    port = api_helpers.free_port()
    config = directory / 'telewatch.conf'
    config.write_text('[compute]\nlibvirt_uri = test://%s/absent.xml\n'
                      '[archive]\nprocessing_delay = 0.1\n' % directory)
    log = directory / 'allinone.log'
    with open(log, 'w') as out:
        process = subprocess.Popen(
            [str(BIN / 'telewatch-all-in-one'), '--config-dir', str(REPO / 'etc'),
             '--config-file', str(config), '--data-dir', str(directory / 'data'),
             '--port', str(port), '--cloudwatch-port', str(cloudwatch_port), '--no-polling'],
            stdout=out, stderr=out, cwd=directory)
    try:
        url = 'http://127.0.0.1:%d' % port
        api_helpers._wait_until_up(url, process, log, timeout=90)
        yield Console(url, directory)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope='module')
def console_server(tmp_path_factory, console_built):
    with running_allinone(tmp_path_factory.mktemp('console')) as console:
        yield console


@pytest.fixture(scope='module')
def keystone_console(keystone, tmp_path_factory, console_built):
    """A telewatch-api on the real Keystone; its Console calls the API as the admin."""
    config = '[api]\nauth_strategy = keystone\n[keystone_authtoken]\n' + ''.join(
        '%s = %s\n' % item for item in keystone.authtoken_options().items())
    directory = tmp_path_factory.mktemp('console-keystone')
    with api_helpers.running_api(directory, config) as url:
        yield Console(url, directory,
                      headers={'X-Auth-Token': keystone.token(keystone.admin).id})


def _driver(size):
    from selenium import webdriver
    from selenium.webdriver.chrome import service as chrome_service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage',
                     '--disable-gpu', '--no-first-run', '--disable-extensions',
                     '--disable-background-networking', '--disable-component-update',
                     '--disable-sync', '--window-size=%d,%d' % size):
        options.add_argument(argument)
    # The paths are given: Selenium Manager, which would download a driver, never runs.
    driver = webdriver.Chrome(options=options, service=chrome_service.Service(CHROMEDRIVER))
    driver.set_window_size(*size)
    driver.set_script_timeout(30)
    return driver


@pytest.fixture(scope='session')
def chromium_installed():
    services._start('chromium')


@pytest.fixture(scope='module')
def browser(chromium_installed):
    """Headless Chromium, 1280x800 (``resize(driver, PHONE)`` for a phone's width)."""
    driver = _driver(WINDOW)
    try:
        yield driver
    finally:
        driver.quit()


def resize(driver, size):
    driver.set_window_size(*size)


def screenshot(driver, name):
    """Writes the page as OUTPUT/<name>.png; its path."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / ('%s.png' % name)
    driver.save_screenshot(str(path))
    return path


def wait_for(driver, script, timeout=15, interval=0.05):
    """The first truthy value of ``script`` (JavaScript returning a value) within
    ``timeout`` seconds; fails the test with the page's text otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = driver.execute_script(script)
        if value:
            return value
        if time.monotonic() > deadline:
            body = driver.execute_script('return document.body.innerText')
            pytest.fail('Not true within %s s: %s\nThe page says:\n%s'
                        % (timeout, script, body), pytrace=False)
        time.sleep(interval)


def wait_text(driver, text, timeout=15):
    return wait_for(driver, 'return document.body.innerText.includes(%s)'
                    % _js_string(text), timeout)


def _js_string(text):
    import json
    return json.dumps(text)


PERF_SCRIPT = """
const pick = (e) => ({name: e.name, startTime: e.startTime, duration: e.duration,
                      detail: e.detail || null});
const nav = performance.getEntriesByType('navigation')[0];
return {
  marks: performance.getEntriesByType('mark').filter((e) => e.name.startsWith('telewatch:'))
    .map(pick),
  measures: performance.getEntriesByType('measure')
    .filter((e) => e.name.startsWith('telewatch:')).map(pick),
  resources: [nav].concat(performance.getEntriesByType('resource')).filter(Boolean)
    .map((e) => ({name: e.name, type: e.initiatorType || 'navigation',
                  transferSize: e.transferSize, encodedBodySize: e.encodedBodySize,
                  decodedBodySize: e.decodedBodySize, startTime: e.startTime,
                  responseEnd: e.responseEnd})),
};
"""


def perf(driver):
    """``{marks, measures, resources}`` of the page (performance API): the console's
    ``telewatch:*`` marks and measures, and every resource with its transfer size."""
    return driver.execute_script(PERF_SCRIPT)


DRAWN_SCRIPT = """
return (window.telewatchCharts || []).map((c) => ({
  id: c.id,
  labels: c.plot.series.slice(1).map((s) => s.label),
  data: c.plot.data.map((column) => Array.from(column)),
}));
"""


def drawn(driver):
    """Every chart on the page: ``{id, labels, data}`` with uPlot's own data (``data[0]``
    the times in epoch seconds, ``data[i]`` series i's values, None for a gap)."""
    return driver.execute_script(DRAWN_SCRIPT)


def points_of(chart, index=0):
    """``{epoch seconds: value}`` of series ``index`` of a ``drawn`` chart (gaps left out)."""
    times, values = chart['data'][0], chart['data'][index + 1]
    return {t: v for t, v in zip(times, values) if v is not None}


def fill_resources(console, resource_type, count, measures_per_resource=1,
                   start=None, step=60, prefix='node'):
    """``count`` resources of ``resource_type`` (made as an InfluxDB database: Gnocchi's
    line protocol creates the resources and their metric ``load.value``) with
    ``measures_per_resource`` measures each, in one write."""
    console.api('POST', '/v1/influxdb/query',
                params={'q': 'CREATE DATABASE "%s"' % resource_type})
    start = int(start if start is not None else time.time() - step * measures_per_resource)
    lines = []
    for n in range(count):
        for k in range(measures_per_resource):
            lines.append('load,host=%s-%04d value=%s %d'
                         % (prefix, n, (n % 10) + k * 0.5, start + k * step))
    console.api('POST', '/v1/influxdb/write', params={'db': resource_type, 'precision': 's'},
                data='\n'.join(lines).encode(), headers={'Content-Type': 'text/plain'})
    return start


def fill_measures(console, metric_id, points):
    """``points``: ``[(epoch seconds, value), ...]`` posted to a metric."""
    console.api('POST', '/v1/metric/%s/measures' % metric_id, json=[
        {'timestamp': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t)), 'value': v}
        for t, v in points])


def wait_processed(console, timeout=60):
    """Until no measure waits to be aggregated."""
    deadline = time.monotonic() + timeout
    while console.api('GET', '/v1/status', params={'details': 'false'})[
            'storage']['summary']['measures']:
        assert time.monotonic() < deadline, 'measures still waiting after %s s' % timeout
        time.sleep(0.1)
