"""The console's pure modules (telewatch/console/src: cloudwatch.js, alarm_form.js,
timeline.js) over the golden cases of tests/cases/console, run by node (which tools/install
installs to build the console); the cases are also checked against the Python they must
agree with: the archive's dimensions text, and the Aodh API that takes the form's bodies."""

import json
import pathlib
import shutil
import subprocess

import pytest
import webtest

from telewatch import service
from telewatch.alarms import storage as alarm_storage
from telewatch.api import app as app_mod
from telewatch.archive import store as store_mod
from telewatch.cloudwatch import mapping

REPO = pathlib.Path(__file__).resolve().parents[3]
SRC = REPO / 'telewatch' / 'console' / 'src'
CASES = REPO / 'tests' / 'cases' / 'console'
RUNNER = pathlib.Path(__file__).with_name('run_cases.mjs')


def run(case_file):
    node = shutil.which('node')
    assert node, 'node is needed to test the console (tools/install installs it)'
    done = subprocess.run([node, str(RUNNER), str(SRC), str(case_file)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def load(case_file):
    return json.loads(case_file.read_text())['cases']


@pytest.mark.parametrize('case_file', sorted(CASES.glob('*.json')), ids=lambda p: p.stem)
def test_golden_cases(case_file):
    for case, out in zip(load(case_file), run(case_file), strict=True):
        assert out['name'] == case['name']
        if 'error' in case:
            assert out.get('error') == case['error'], case['name']
        else:
            assert 'error' not in out, (case['name'], out['error'])
            assert out['result'] == case['expected'], case['name']


def test_the_dimensions_text_is_the_archives():
    for case in load(CASES / 'dimensions.json'):
        pairs = [tuple(pair) for pair in case['args'][0]]
        if 'error' in case:
            continue
        assert mapping.dimensions_text(sorted(pairs)) == case['expected'], case['name']


@pytest.fixture
def api(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    conf.set_override('auth_strategy', 'noauth', group='api')
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    alarm_storage.AlarmStore.from_conf(conf).upgrade()
    yield webtest.TestApp(app_mod.make_app(conf, store))
    store.close()


def test_the_forms_bodies_are_taken_by_the_alarm_api(api):
    # What the cases name exists (the API checks it): resource vm-1 and its cpu_util, and two
    # metrics standing for the cases' metric ids. An admin: log:// actions are admins' only.
    headers = {'X-User-Id': 'u', 'X-Project-Id': 'p', 'X-Roles': 'admin'}
    api.post_json('/v1/resource/generic', {'id': 'vm-1', 'metrics': {
        'cpu_util': {'archive_policy_name': 'low'}}}, headers=headers)
    ids = [api.post_json('/v1/metric', {'archive_policy_name': 'low'}, headers=headers).json['id']
           for _ in range(2)]
    for case in load(CASES / 'alarm_forms.json'):
        expected = case['expected']
        body = json.loads(json.dumps(expected['body']))
        rule = body.get('gnocchi_aggregation_by_metrics_threshold_rule')
        if rule:
            rule['metrics'] = ids
        response = api.post_json('/v2/alarms', body, headers=headers,
                                 expect_errors=True)
        if expected['errors']:
            assert response.status_int == 400, case['name']
        else:
            assert response.status_int == 201, (case['name'], response.text)
            rule = expected['body']['type'] + '_rule'
            assert response.json[rule]['threshold'] == expected['body'][rule]['threshold']
