"""The console's alarm and dashboard pages in headless Chromium against a live all-in-one
(its evaluator and processor running): an alarm created from the form changes state on its
page once measures are posted, with the points drawn being those posted; a dashboard put with
boto3 through the all-in-one's CloudWatch API is drawn from what PutMetricData stored.
Screenshots of each page under the test output directory (console_browser.OUTPUT)."""

import datetime
import json
import time

import boto3
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.functional import api_helpers
from tests.functional import console_browser as cb

REGION = 'RegionOne'


@pytest.fixture(scope='module')
def console(tmp_path_factory, console_built):
    """The all-in-one with its CloudWatch API on a known port; ``.cloudwatch``: a boto3
    client with the access key it wrote."""
    port = api_helpers.free_port()
    with cb.running_allinone(tmp_path_factory.mktemp('console-alarms'), port) as server:
        from telewatch.cloudwatch import credentials
        keys = server.data / 'data' / 'cloudwatch-credentials'
        deadline = time.monotonic() + 30
        while not keys.exists():
            assert time.monotonic() < deadline, 'no %s' % keys
            time.sleep(0.1)
        key = next(iter(credentials.load_keys_file(keys).values()))
        server.cloudwatch = boto3.client(
            'cloudwatch', endpoint_url='http://127.0.0.1:%d' % port, region_name=REGION,
            aws_access_key_id=key.access, aws_secret_access_key=key.secret)
        yield server


def minute(offset=0):
    """The start of the current minute plus ``offset`` minutes, in epoch seconds."""
    return int(time.time()) // 60 * 60 + offset * 60


def fill(browser, name, value):
    element = browser.find_element(By.ID, 'alarm-' + name)
    if element.tag_name == 'select':
        Select(element).select_by_value(value)
    else:
        element.clear()
        element.send_keys(value)


def state_shown(browser):
    return browser.execute_script(
        "const b = document.querySelector('.alarm-state .badge'); return b && b.textContent")


def test_an_alarm_made_from_the_form_changes_state(console, browser):
    resource = console.api('POST', '/v1/resource/generic', json={
        'id': 'web-1', 'metrics': {'cpu_util': {'archive_policy_name': 'low'}}})
    metric_id = resource['metrics']['cpu_util']
    calm = [(minute(k), 10.0 + k) for k in range(-8, -3)]
    cb.fill_measures(console, metric_id, calm)
    cb.wait_processed(console)

    browser.get(console.page('alarm', {'new': '1'}))
    cb.wait_for(browser, "return !!document.getElementById('alarm-name')")
    for name, value in (('name', 'web-1 busy'), ('severity', 'critical'),
                        ('resource_type', 'generic'), ('resource_id', 'web-1'),
                        ('metric', 'cpu_util'), ('granularity', '60'),
                        ('comparison_operator', 'gt'), ('threshold', '50'),
                        ('alarm_actions', 'log://')):
        fill(browser, name, value)
    cb.screenshot(browser, 'alarm-new')
    browser.find_element(By.ID, 'alarm-save').click()
    alarm_id = cb.wait_for(browser, "const m = /[?&]id=([^&]+)/.exec(location.hash); "
                                    "return m && decodeURIComponent(m[1])")
    stored = console.api('GET', '/v2/alarms/%s' % alarm_id)
    rule = stored['gnocchi_resources_threshold_rule']
    assert (stored['name'], stored['severity'], rule['threshold'], rule['metric']) == (
        'web-1 busy', 'critical', 50.0, 'cpu_util')

    busy = [(minute(k), 90.0 + k) for k in range(-2, 1)]
    cb.fill_measures(console, metric_id, busy)
    cb.wait_for(browser, "const b = document.querySelector('.alarm-state .badge'); "
                         "return b && b.textContent === 'alarm'", timeout=60)
    # The timeline under the chart shows it too, once the history has the transition.
    cb.wait_for(browser, "return !!document.querySelector('.timeline-part.state-bg-alarm')")
    cb.wait_for(browser, 'return (window.telewatchCharts || []).some('
                         '(c) => c.plot.data[0].length >= %d)' % len(calm + busy))
    charts = cb.drawn(browser)
    assert len(charts) == 1
    assert cb.points_of(charts[0]) == dict(calm + busy)
    history = browser.find_element(By.ID, 'alarm-history').text
    assert 'state transition' in history and 'creation' in history
    cb.screenshot(browser, 'alarm')

    browser.get(console.page('alarms'))
    cb.wait_text(browser, 'web-1 busy')
    assert browser.execute_script(
        "return document.querySelector('a.card.figure .state-alarm').textContent") == '1'
    cb.screenshot(browser, 'alarms')


BODY = {'start': '-PT1H', 'widgets': [
    {'type': 'metric', 'x': 0, 'y': 0, 'width': 16, 'height': 8, 'properties': {
        'title': 'Latency', 'period': 60, 'stat': 'Maximum', 'region': REGION,
        'metrics': [['App', 'Latency', 'Host', 'web-1'], ['.', '.', '.', 'web-2']],
        'annotations': {'horizontal': [{'value': 400, 'label': 'SLO'}]}}},
    {'type': 'text', 'x': 16, 'y': 0, 'width': 8, 'height': 4,
     'properties': {'markdown': '# Runbook\n\nPage the <b>web</b> team.'}},
    {'type': 'alarm', 'x': 16, 'y': 4, 'width': 8, 'height': 4,
     'properties': {'title': 'Alarms', 'alarms': [
         'arn:aws:cloudwatch:%s:admin:alarm:web-1 busy' % REGION]}}]}


def test_a_dashboard_put_with_boto3_is_drawn(console, browser):
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    put = {}
    for host, base in (('web-1', 100.0), ('web-2', 300.0)):
        data = []
        for k in range(1, 11):
            moment = now - datetime.timedelta(minutes=k)
            # Two values a minute: the chart draws the Maximum of each.
            for value in (base + k, base + k + 5):
                data.append({'MetricName': 'Latency', 'Value': value, 'Timestamp': moment,
                             'Unit': 'Milliseconds',
                             'Dimensions': [{'Name': 'Host', 'Value': host}]})
            put.setdefault(host, {})[moment.timestamp()] = base + k + 5
        console.cloudwatch.put_metric_data(Namespace='App', MetricData=data)
    console.cloudwatch.put_dashboard(DashboardName='web', DashboardBody=json.dumps(BODY))
    cb.wait_processed(console)

    browser.get(console.page('dashboards'))
    cb.wait_text(browser, 'web')
    cb.screenshot(browser, 'dashboards')
    browser.find_element(By.LINK_TEXT, 'web').click()
    cb.wait_for(browser, "return document.getElementById('view').dataset.loaded === 'true'")
    charts = cb.drawn(browser)
    assert len(charts) == 1
    assert charts[0]['labels'] == ['Latency web-1', 'Latency web-2']
    assert cb.points_of(charts[0], 0) == put['web-1']
    assert cb.points_of(charts[0], 1) == put['web-2']
    text = browser.find_element(By.CSS_SELECTOR, '.widget-text').text
    assert 'Runbook' in text and 'Page the <b>web</b> team.' in text
    assert 'web-1 busy' in browser.find_element(By.CSS_SELECTOR, '.widget-alarm').text
    cb.screenshot(browser, 'dashboard')
    cb.resize(browser, cb.PHONE)
    try:
        browser.refresh()
        cb.wait_for(browser, "return document.getElementById('view').dataset.loaded === 'true'")
        cb.screenshot(browser, 'dashboard-phone')
    finally:
        cb.resize(browser, cb.WINDOW)
