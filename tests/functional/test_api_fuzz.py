"""Schemathesis against a running ``telewatch-api`` (gunicorn, noauth, embedded store, with
its processor), driven by the description the API serves at /v1/openapi.json: no request
it generates, valid or malformed, may get a 5xx, on any operation.

Two runs, each with a bounded number of examples per operation and a fixed seed:

- every operation with generated path parameters, in every phase (the description's
  examples, coverage of boundaries and malformed values, random fuzzing, and stateful
  sequences following the links schemathesis infers from what creations return);
- every operation but DELETE with its path parameters bound to objects that exist (a
  resource type with typed attributes, a resource, its metric with measures, a
  subscription, an alarm on that metric), so that bodies and queries reach the
  controllers' logic instead of a 404.

TELEWATCH_FUZZ_EXAMPLES scales both; TELEWATCH_FUZZ_SEED sets the seed (``random`` for a
new one each run, which the output shows).
"""

import os
import subprocess
import uuid
import xml.etree.ElementTree as ElementTree

import pytest
import requests

from telewatch.api import openapi
from tests.functional import api_helpers

BIN = api_helpers.BIN
ADMIN = {'Authorization': 'basic YWRtaW46'}  # gnocchi-basic, user admin
METHODS = ('get', 'post', 'put', 'patch', 'delete')
# With one worker (two threads trip CPython 3.11's "AST constructor recursion depth
# mismatch" inside Hypothesis, and are no faster on two cores): under a minute each.
EXAMPLES = int(os.environ.get('TELEWATCH_FUZZ_EXAMPLES', '40'))
SEED = os.environ.get('TELEWATCH_FUZZ_SEED', '20261122')
# Schemathesis leaves out the operation that serves the description it reads. Left out
# here: Prometheus' remote write, whose snappy-compressed protobuf bodies schemathesis
# cannot make, and InfluxDB's query endpoint, which serves CREATE DATABASE alone and, as
# Gnocchi's, answers any other query with a 501 that InfluxDB clients expect. Gnocchi's
# influxdb.yaml and prometheus.yaml and tests/cases/api/influxdb_write.yaml cover both.
EXCLUDED_PATHS = ('/v1/prometheus/write', '/v1/influxdb/query')
UNTESTED = {'GET /v1/openapi.json', 'POST /v1/prometheus/write', 'POST /v1/influxdb/query'}


@pytest.fixture(scope='module')
def endpoint(tmp_path_factory):
    """The root URL of a running telewatch-api and the log its errors go to."""
    data = tmp_path_factory.mktemp('api-fuzz')
    with api_helpers.running_api(data, '[api]\nworkers = 2\n') as url:
        yield url, data / 'api.log'


def described_operations(excluded_methods=()):
    return {'%s %s' % (method.upper(), path)
            for path, item in openapi.document()['paths'].items()
            for method in item if method in METHODS and method not in excluded_methods
            } - UNTESTED


@pytest.fixture
def objects(endpoint):
    """Objects for the path parameters of the second run, under names of their own (the
    first run may delete the default archive policies or resources of any type)."""
    url, _ = endpoint
    suffix = uuid.uuid4().hex[:8]
    policy, resource_type = 'fuzz-%s' % suffix, 'fuzz_vm_%s' % suffix

    def post(path, body, status=201):
        response = requests.post(url + path, json=body, headers=ADMIN, timeout=30)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    post('/v1/archive_policy', {'name': policy, 'definition': [
        {'granularity': '1 minute', 'points': 60}, {'granularity': '1 hour', 'points': 24}],
        'aggregation_methods': ['*']})
    post('/v1/resource_type', {'name': resource_type, 'attributes': {
        'host': {'type': 'string', 'required': False},
        'vcpus': {'type': 'number', 'required': False, 'min': 1, 'max': 64},
        'enabled': {'type': 'bool', 'required': False},
        'image': {'type': 'uuid', 'required': False},
        'booted_at': {'type': 'datetime', 'required': False}}})
    resource = post('/v1/resource/%s' % resource_type, {
        'id': 'fuzz-%s' % suffix, 'host': 'node-1', 'vcpus': 2,
        'metrics': {'cpu': {'archive_policy_name': policy}}})
    metric_id = resource['metrics']['cpu']
    post('/v1/metric/%s/measures' % metric_id, [
        {'timestamp': '2024-01-01T00:%02d:00' % minute, 'value': minute}
        for minute in range(0, 60, 5)], status=202)
    subscription = post('/v1/subscriptions', {
        'name': 'fuzz-%s' % suffix, 'meters': ['cpu'], 'resources': [resource['id']],
        'target': 'udp://127.0.0.1:4952'})
    alarm = post('/v2/alarms', {
        'name': 'fuzz-%s' % suffix, 'type': 'gnocchi_resources_threshold',
        'gnocchi_resources_threshold_rule': {
            'metric': 'cpu', 'resource_id': resource['id'], 'resource_type': resource_type,
            'threshold': 1, 'aggregation_method': 'rate:mean'}})
    return {'path.resource_type': resource_type, 'path.resource_id': resource['id'],
            'path.metric_name': 'cpu', 'path.metric_id': metric_id,
            'path.subscription_id': subscription['id'], 'path.alarm_id': alarm['alarm_id'],
            'path.project_id': 'fuzz-%s' % suffix}


def run_schemathesis(url, workdir, *options, parameters=None):
    """The CLI's exit status, its output and the operations of its JUnit report with their
    failures: ``{"GET /v1/metric": [failure texts]}``."""
    junit = workdir / 'junit.xml'
    command = [str(BIN / 'schemathesis')]
    if parameters:
        config = workdir / 'schemathesis.toml'
        config.write_text('[parameters]\n' + ''.join(
            '"%s" = "%s"\n' % item for item in parameters.items()))
        command += ['--config-file', str(config)]
    command += ['run', url + '/v1/openapi.json', '--header', 'Authorization: %s' % ADMIN[
        'Authorization'], '--checks', 'not_a_server_error', '--max-examples', str(EXAMPLES),
        '--workers', '1', '--generation-with-security-parameters', 'false',
        '--generation-database', 'none', '--no-color',
        '--report', 'junit', '--report-junit-path', str(junit),
        *[arg for path in EXCLUDED_PATHS for arg in ('--exclude-path', path)], *options]
    if SEED != 'random':
        command += ['--seed', SEED]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=workdir)
    operations = {}  # none if the CLI stopped before writing its report
    cases = ElementTree.parse(junit).iter('testcase') if junit.exists() else ()
    for case in cases:
        operations[case.get('name')] = [
            problem.get('message') or problem.text or problem.tag
            for problem in case if problem.tag in ('failure', 'error')]
    return result.returncode, result.stdout + result.stderr, operations


def check_run(run, api_log, expected):
    status, output, operations = run
    errors = [line for line in api_log.read_text().splitlines() if ' ERROR ' in line]
    where = '%s\n\nErrors the API logged:\n%s' % (output[-30000:], '\n'.join(errors)[-20000:])
    failed = {name: problems for name, problems in operations.items() if problems}
    assert not failed, where
    assert set(operations) - {'Stateful tests'} == expected, where
    assert status == 0, where


def test_no_request_gets_a_server_error(endpoint, tmp_path):
    url, api_log = endpoint
    check_run(run_schemathesis(url, tmp_path), api_log, described_operations())


def test_no_request_on_existing_objects_gets_a_server_error(endpoint, objects, tmp_path):
    url, api_log = endpoint
    run = run_schemathesis(url, tmp_path, '--exclude-method', 'DELETE',
                           '--phases', 'examples,coverage,fuzzing', parameters=objects)
    check_run(run, api_log, described_operations(excluded_methods=('delete',)))
