"""The real ``gnocchi`` CLI (python-gnocchiclient, unchanged) against a running
``telewatch-api`` (gunicorn, noauth, embedded store): every command family, with the values
it prints checked, not just its exit code."""

import json
import pathlib
import subprocess
import sys

import pytest

BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope='module')
def endpoint(telewatch_api):
    return telewatch_api


def gnocchi(endpoint, *args, expect_ok=True):
    """The CLI's parsed JSON output (``-f json``) or, for commands without one, its text."""
    result = subprocess.run([str(BIN / 'gnocchi'), '--endpoint', endpoint, *args],
                            capture_output=True, text=True, timeout=60)
    if expect_ok:
        assert result.returncode == 0, result.stderr
        try:
            return json.loads(result.stdout)
        except ValueError:
            return result.stdout
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_server_version_and_capabilities(endpoint):
    assert gnocchi(endpoint, 'server', 'version', '-f', 'json')['version']
    methods = gnocchi(endpoint, 'capabilities', 'list', '-f', 'json')['aggregation_methods']
    assert {'mean', 'rate:mean', '95pct'} <= set(methods)


def test_archive_policies_and_rules(endpoint):
    created = gnocchi(endpoint, 'archive-policy', 'create', 'cli-policy', '-d',
                      'granularity:1s,points:60', '-d', 'granularity:1m,timespan:1h',
                      '-m', 'mean', '-m', 'max', '-f', 'json')
    assert created['definition'] == [
        {'granularity': '0:00:01', 'points': 60, 'timespan': '0:01:00'},
        {'granularity': '0:01:00', 'points': 60, 'timespan': '1:00:00'}]
    names = [p['name'] for p in gnocchi(endpoint, 'archive-policy', 'list', '-f', 'json')]
    assert {'low', 'medium', 'high', 'cli-policy'} <= set(names)
    updated = gnocchi(endpoint, 'archive-policy', 'update', 'cli-policy', '-d',
                      'granularity:1s,points:120', '-d', 'granularity:1m,timespan:2h',
                      '-f', 'json')
    assert [d['points'] for d in updated['definition']] == [120, 120]
    gnocchi(endpoint, 'archive-policy-rule', 'create', 'cli-rule', '-a', 'cli-policy',
            '-m', 'cli.*', '-f', 'json')
    renamed = gnocchi(endpoint, 'archive-policy-rule', 'update', 'cli-rule', '-n',
                      'cli-rule2', '-f', 'json')
    assert renamed['name'] == 'cli-rule2'
    shown = gnocchi(endpoint, 'archive-policy-rule', 'show', 'cli-rule2', '-f', 'json')
    assert shown['metric_pattern'] == 'cli.*'
    error = gnocchi(endpoint, 'archive-policy', 'delete', 'cli-policy', expect_ok=False)
    assert 'is still in use' in error
    gnocchi(endpoint, 'archive-policy-rule', 'delete', 'cli-rule2')
    gnocchi(endpoint, 'archive-policy', 'delete', 'cli-policy')
    error = gnocchi(endpoint, 'archive-policy', 'show', 'cli-policy', expect_ok=False)
    assert 'Archive policy cli-policy does not exist (HTTP 404)' in error


def test_resource_types_resources_history_and_search(endpoint):
    gnocchi(endpoint, 'resource-type', 'create', 'cli_vm', '-a', 'host:string:false',
            '-a', 'vcpus:number:false:min=1', '-f', 'json')
    gnocchi(endpoint, 'resource-type', 'update', 'cli_vm', '-a', 'flavor:string:false',
            '-f', 'json')
    shown = gnocchi(endpoint, 'resource-type', 'show', 'cli_vm', '-f', 'json')
    assert shown['attributes/vcpus'] == 'max=None, min=1, required=False, type=number'
    assert 'attributes/flavor' in shown
    created = gnocchi(endpoint, 'resource', 'create', 'cli-vm-1', '-t', 'cli_vm',
                      '-a', 'host:node-1', '-a', 'vcpus:2', '-a', 'project_id:p1',
                      '-n', 'cpu:low', '-f', 'json')
    assert created['original_resource_id'] == 'cli-vm-1' and created['host'] == 'node-1'
    gnocchi(endpoint, 'resource', 'create', 'cli-vm-2', '-t', 'cli_vm', '-a', 'host:node-2',
            '-a', 'project_id:p2', '-f', 'json')
    gnocchi(endpoint, 'resource', 'update', '-t', 'cli_vm', 'cli-vm-1', '-a', 'host:node-3',
            '-f', 'json')
    history = gnocchi(endpoint, 'resource', 'history', '-t', 'cli_vm', 'cli-vm-1',
                      '--details', '-f', 'json')
    assert [r['host'] for r in history] == ['node-1', 'node-3']
    found = gnocchi(endpoint, 'resource', 'search', '-t', 'cli_vm', 'host="node-2" or vcpus>=2',
                    '-f', 'json')
    assert sorted(r['original_resource_id'] for r in found) == ['cli-vm-1', 'cli-vm-2']
    listed = gnocchi(endpoint, 'resource', 'list', '-t', 'cli_vm', '--limit', '1',
                     '--sort', 'original_resource_id:desc', '-f', 'json')
    assert [r['original_resource_id'] for r in listed] == ['cli-vm-2']
    deleted = gnocchi(endpoint, 'resource', 'batch', 'delete', '-t', 'cli_vm',
                      'project_id="p2"', '-f', 'json')
    assert deleted['deleted'] == 1
    gnocchi(endpoint, 'resource', 'delete', 'cli-vm-1')
    gnocchi(endpoint, 'resource-type', 'delete', 'cli_vm')


def test_metrics_measures_batches_and_aggregates(endpoint, tmp_path):
    gnocchi(endpoint, 'archive-policy', 'create', 'cli-1m', '-d', 'granularity:1m,points:60',
            '-m', 'mean', '-m', 'max', '-m', 'sum', '-f', 'json')
    a = gnocchi(endpoint, 'metric', 'create', 'a', '-a', 'cli-1m', '-f', 'json')['id']
    b = gnocchi(endpoint, 'metric', 'create', 'b', '-a', 'cli-1m', '-f', 'json')['id']
    assert gnocchi(endpoint, 'metric', 'show', a, '-f', 'json')['archive_policy/name'] == 'cli-1m'
    gnocchi(endpoint, 'measures', 'add', a, '-m', '2024-01-01T00:00:00@1',
            '-m', '2024-01-01T00:00:30@3', '-m', '2024-01-01T00:01:00@10')
    rows = gnocchi(endpoint, 'measures', 'show', a, '--refresh', '--utc', '-f', 'json')
    assert [(r['timestamp'][:19], r['value']) for r in rows] == [
        ('2024-01-01T00:00:00', 2.0), ('2024-01-01T00:01:00', 10.0)]
    rows = gnocchi(endpoint, 'measures', 'show', a, '--aggregation', 'max', '--utc',
                   '-f', 'json')
    assert [r['value'] for r in rows] == [3.0, 10.0]
    batch = tmp_path / 'batch.json'
    batch.write_text(json.dumps({b: [{'timestamp': '2024-01-01T00:00:00', 'value': 5},
                                     {'timestamp': '2024-01-01T00:01:00', 'value': 6}]}))
    gnocchi(endpoint, 'measures', 'batch-metrics', str(batch))
    rows = gnocchi(endpoint, 'measures', 'show', b, '--refresh', '-f', 'json')
    assert [r['value'] for r in rows] == [5.0, 6.0]
    aggregated = gnocchi(endpoint, 'aggregates',
                         '(aggregate sum (metric (%s mean) (%s mean)))' % (a, b),
                         '-f', 'json')
    assert [r['value'] for r in aggregated] == [7.0, 16.0]
    gnocchi(endpoint, 'resource', 'create', 'cli-host', '-f', 'json')
    batch.write_text(json.dumps({'cli-host': {'load': {
        'archive_policy_name': 'cli-1m',
        'measures': [{'timestamp': '2024-01-01T00:00:00', 'value': 4}]}}}))
    gnocchi(endpoint, 'measures', 'batch-resources-metrics', '--create-metrics', str(batch))
    rows = gnocchi(endpoint, 'measures', 'show', '-r', 'cli-host', 'load', '--refresh',
                   '-f', 'json')
    assert [r['value'] for r in rows] == [4.0]
    status = gnocchi(endpoint, 'status', '-f', 'json')
    assert status['storage/number of metric having measures to process'] == 0
    gnocchi(endpoint, 'metric', 'delete', a)
    error = gnocchi(endpoint, 'metric', 'show', a, expect_ok=False)
    assert 'Metric %s does not exist (HTTP 404)' % a in error
