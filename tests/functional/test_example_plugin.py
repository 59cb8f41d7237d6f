"""examples/telewatch-example-plugin, installed by pip, works with telewatch as it is: its
pollster through ``telewatch-polling --test``, its publisher through ``telewatch-pipeline``
and the pipeline engine.

pip installs the plugin into a directory of its own that the commands get on PYTHONPATH (and
this process on sys.path, for one test), not into the environment's site-packages: there its
``csv`` publisher would change the lists of installed plugins that other tests check, for
every test run in this environment from then on.
"""

import csv
import importlib.util
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys

import pytest
import stevedore

from telewatch import sample as sample_mod
from telewatch import service
from telewatch.pipeline import config
from telewatch.pipeline import engine

REPO = pathlib.Path(__file__).resolve().parents[2]
PLUGIN = REPO / 'examples' / 'telewatch-example-plugin'
BIN = pathlib.Path(sys.executable).parent
HOST = socket.gethostname()

POLLING = """
sources:
  - name: uptime
    interval: 60
    meters: [example.uptime]
    resources: [localhost, elsewhere.example.org]
"""

PIPELINE = """
sources:
  - {name: uptime, meters: [example.uptime], sinks: [uptime_csv]}
sinks:
  - name: uptime_csv
    transformers:
      - name: unit_conversion
        parameters: {target: {name: example.uptime.hours, unit: h, scale: volume / 3600}}
    publishers: ['csv://%s']
"""


def _build_flags():
    """Build with this environment's setuptools (offline) when it can make wheels: from
    70.1 on by itself, before with the wheel package; else pip fetches them."""
    if importlib.util.find_spec('setuptools') is None:
        return []
    import setuptools
    version = tuple(int(part) for part in setuptools.__version__.split('.')[:2])
    if version >= (70, 1) or importlib.util.find_spec('wheel') is not None:
        return ['--no-build-isolation']
    return []


@pytest.fixture(scope='module')
def plugin_path(tmp_path_factory):
    """A directory where pip installed the plugin (a fresh one per test session)."""
    # pip builds in the source tree, leaving build/ and an egg-info there, which would make
    # the plugin visible to every test that puts the checkout on sys.path: build a copy.
    source = tmp_path_factory.mktemp('example-plugin-source') / PLUGIN.name
    shutil.copytree(PLUGIN, source, ignore=shutil.ignore_patterns(
        'build', '*.egg-info', '__pycache__', 'tests'))
    target = tmp_path_factory.mktemp('example-plugin')
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--quiet', '--no-deps', '--target',
         str(target)] + _build_flags() + [str(source)],
        capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail('pip could not install %s:\n%s%s' % (PLUGIN, result.stdout,
                                                         result.stderr))
    return target


def _run(command, *args, plugin_path=None, cwd=None):
    env = dict(os.environ)
    if plugin_path is not None:
        env['PYTHONPATH'] = os.pathsep.join(
            [str(plugin_path)] + ([env['PYTHONPATH']] if env.get('PYTHONPATH') else []))
    return subprocess.run([str(BIN / command)] + [str(arg) for arg in args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def _samples(stdout):
    """The samples ``telewatch-polling --test`` printed: its standard output is the input
    of ``telewatch-pipeline replay``, so every line must be one JSON sample."""
    samples = []
    for number, line in enumerate(stdout.splitlines(), 1):
        try:
            samples.append(sample_mod.Sample.from_dict(json.loads(line)))
        except ValueError as exc:
            pytest.fail('line %d of the standard output is not a JSON sample (%s): %r'
                        % (number, exc, line))
    return samples


def test_the_polling_agent_runs_the_plugin_pollster(plugin_path, tmp_path):
    polling = tmp_path / 'polling.yaml'
    polling.write_text(POLLING)
    result = _run('telewatch-polling', '--test', '--namespace', 'central',
                  '--polling-file', polling, plugin_path=plugin_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    samples = _samples(result.stdout)
    # elsewhere.example.org raised PermanentPollError: this host's sample is still there.
    assert [(s.name, s.type, s.unit, s.resource_id, s.resource_metadata)
            for s in samples] == [('example.uptime', 'gauge', 's', HOST, {'host': HOST})]
    assert samples[0].volume > 0


def test_without_the_plugin_its_names_are_unknown(tmp_path):
    polling = tmp_path / 'polling.yaml'
    polling.write_text(POLLING)
    result = _run('telewatch-polling', '--test', '--namespace', 'central',
                  '--polling-file', polling, cwd=tmp_path)
    assert result.returncode == 1
    assert "no installed pollster provides the meter 'example.uptime'" in result.stderr
    result = _run('telewatch-pipeline', 'validate', PLUGIN / 'etc' / 'pipeline.yaml',
                  cwd=tmp_path)
    assert result.returncode == 1
    assert "unknown publisher 'csv'" in result.stderr


def test_the_shipped_files_poll_then_replay(plugin_path, tmp_path):
    etc = PLUGIN / 'etc'
    polled = _run('telewatch-polling', '--test', '--namespace', 'central',
                  '--polling-file', etc / 'polling.yaml', plugin_path=plugin_path,
                  cwd=tmp_path)
    assert polled.returncode == 0, polled.stderr
    (uptime,) = _samples(polled.stdout)
    samples = tmp_path / 'samples.jsonl'
    samples.write_text(polled.stdout)

    validated = _run('telewatch-pipeline', 'validate', etc / 'pipeline.yaml',
                     plugin_path=plugin_path, cwd=tmp_path)
    assert (validated.returncode, validated.stdout) == (0, 'OK\n'), validated.stderr
    replayed = _run('telewatch-pipeline', 'replay', '--pipeline', etc / 'pipeline.yaml',
                    samples, plugin_path=plugin_path, cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    (record,) = [json.loads(line) for line in replayed.stdout.splitlines()]
    assert (record['name'], record['unit'], record['resource_id'], record['sink']) == (
        'example.uptime.hours', 'h', HOST, 'uptime_csv')
    assert record['volume'] == pytest.approx(uptime.volume / 3600)


def test_the_pipeline_engine_publishes_to_csv(plugin_path, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_path))
    # stevedore keeps the entry points it has read for the whole process: read them afresh
    # here, and leave the other tests the cache that knows nothing of the plugin.
    monkeypatch.setattr(stevedore.ExtensionManager, 'ENTRY_POINT_CACHE', {})
    output = tmp_path / 'out' / 'uptime.csv'
    pipeline = tmp_path / 'pipeline.yaml'
    pipeline.write_text(PIPELINE % output)
    conf = service.prepare_service([])
    manager = engine.PipelineManager(config.load_pipeline(str(pipeline), conf), conf)
    manager.start()
    try:
        manager.process([sample_mod.Sample.create(
            name='example.uptime', type='gauge', unit='s', volume=7200, resource_id=HOST,
            timestamp='2024-01-01T00:00:00Z')])
    finally:
        manager.stop()
    with open(output, newline='', encoding='utf-8') as stream:
        assert list(csv.reader(stream)) == [
            ['name', 'volume', 'unit', 'resource_id', 'timestamp'],
            ['example.uptime.hours', '2.0', 'h', HOST, '2024-01-01T00:00:00+00:00']]
    assert list(manager.counters()['publishers'].values()) == [
        {'published': 1, 'queue_length': 0, 'policy': 'retry'}]
