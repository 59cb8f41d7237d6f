"""Gnocchi's own functional tests (the gabbi files of the installed Gnocchi package) against a
live telewatch-api: where the files are, a fresh server for each, and doc/api.md's table.

Gnocchi's runner (gnocchi/tests/functional/fixtures.py, ConfigFixture) gives each file a new
database and storage with none of the default archive policies, a metricd thread processing
every 0.1 s, ``[api] max_limit = 7``, proxy header parsing, the CORS origin
``http://foobar.com``, and serves it under the prefix ``/gnocchi``. Here each file gets a new
data directory, ``telewatch-upgrade --skip-default-policies``, and a real ``telewatch-api``
(gunicorn, mounted at ``/gnocchi`` by its ``SCRIPT_NAME``) and ``telewatch-archive-processor``
on that configuration, spoken to over a socket. Both are the console scripts' own ``main``,
run in processes forked from a ``multiprocessing`` fork server that imported telewatch once:
the same programs, started in a fraction of a second instead of seconds.
"""

import collections
import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
import unittest

import numpy
import requests
import yaml
from gabbi import handlers
from gabbi import suitemaker
from gabbi import utils

REPO = pathlib.Path(__file__).resolve().parents[2]
DOC = REPO / 'doc' / 'api.md'
DIFFERENCES_HEADING = '## Where telewatch differs from Gnocchi, and why'
# Gnocchi's runner serves every file under this prefix (test_gabbi.PREFIX).
PREFIX = '/gnocchi'
# What Gnocchi's ConfigFixture sets for the tests, in telewatch's options.
CONFIG = """[DEFAULT]
data_dir = {data}
[api]
auth_strategy = noauth
port = {port}
max_limit = 7
[oslo_middleware]
enable_proxy_headers_parsing = true
[cors]
allowed_origin = http://foobar.com
[archive]
processing_delay = 0.1
"""
START_TIMEOUT = 60
REPORT = REPO / 'build' / 'gnocchi-gabbits.json'
# The console scripts each file's server runs (imported once, by the fork server).
SCRIPTS = ('telewatch-upgrade', 'telewatch-api', 'telewatch-archive-processor')
# What each test did, by file: {file: {test name: (outcome, details)}}; outcome 'pass'
# (or failed where the file says it may: xfail), 'fail' or 'skip'.
RESULTS = collections.OrderedDict()


class AssertNAN(yaml.YAMLObject):
    """Gnocchi's ``!AssertNAN`` tag (its fixtures module): equal to any NaN."""

    def __eq__(self, other):
        try:
            return bool(numpy.isnan(other))
        except TypeError:
            return False

    __hash__ = None


yaml.add_constructor('!AssertNAN', lambda loader, node: AssertNAN(), Loader=yaml.Loader)


def gnocchi_venv():
    """Where tools/services/gnocchi installs Gnocchi (its CACHE_DIR and VENV)."""
    cache = os.environ.get('TELEWATCH_CACHE') or os.path.join(
        os.environ.get('HOME') or '/root', '.cache', 'telewatch')
    version = os.environ.get('TELEWATCH_GNOCCHI_VERSION', '4.7.1')
    return pathlib.Path(cache) / 'gnocchi' / ('venv-' + version)


def gabbits_dir():
    """The gabbits directory of the installed Gnocchi package; ``tools/services/gnocchi
    start`` installs it first when it is not there (a new machine)."""
    pattern = 'lib/python*/site-packages/gnocchi/tests/functional/gabbits'
    found = sorted(gnocchi_venv().glob(pattern))
    if not found:
        subprocess.run([str(REPO / 'tools' / 'services' / 'gnocchi'), 'start'],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=900)
        found = sorted(gnocchi_venv().glob(pattern))
    if not found:
        raise RuntimeError('no Gnocchi package under %s: tools/services/gnocchi start '
                           'installs it' % gnocchi_venv())
    return found[-1]


def differences(text=None):
    """The tests doc/api.md says fail: its table of deliberate differences, {file: {test
    name: why}}."""
    return _table(DOC.read_text() if text is None else text, DIFFERENCES_HEADING)


def _table(text, heading):
    """The ``| file | test | why |`` rows of the section under ``heading``."""
    section = text.split(heading, 1)[1].split('\n#', 1)[0] if heading in text else ''
    table = collections.defaultdict(dict)
    for line in section.splitlines():
        cells = [cell.strip().replace('\\|', '|')
                 for cell in re.split(r'(?<!\\)\|', line.strip())[1:-1]]
        if len(cells) != 3 or cells[0] in ('file', '') or set(cells[0]) <= set('-:'):
            continue
        table[cells[0].strip('`')][cells[1].strip('`')] = cells[2]
    return dict(table)


def _script_main(name, argv, log_path, environ):
    """In a process of the fork server: console script ``name``'s main with ``argv``, its
    output appended to ``log_path``."""
    # What a console script's process has: the fork server passed its own start method
    # on (cotyledon's workers, under it, could not be pickled).
    multiprocessing.set_start_method('fork', force=True)
    os.environ.update(environ)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.argv = [name] + argv
    main = importlib.metadata.entry_points(group='console_scripts', name=name)
    sys.exit(next(iter(main)).load()(argv))


class Servers:
    """Starts a fresh telewatch (store, API, processor) for one gabbit file at a time."""

    def __init__(self):
        self.context = multiprocessing.get_context('forkserver')
        modules = [entry.module for name in SCRIPTS for entry in
                   importlib.metadata.entry_points(group='console_scripts', name=name)]
        self.context.set_forkserver_preload(modules + [__name__])

    def _start(self, script, config, log, environ=None):
        process = self.context.Process(
            target=_script_main, name=script,
            args=(script, ['--config-file', str(config)], str(log), environ or {}))
        process.start()
        return process

    @contextlib.contextmanager
    def serve(self, data):
        """The port of a telewatch-api serving ``PREFIX`` on a new store in ``data``."""
        port = free_port()
        config, log = data / 'telewatch.conf', data / 'servers.log'
        config.write_text(CONFIG.format(data=data, port=port))
        upgrade = self.context.Process(
            target=_script_main, name='telewatch-upgrade', args=(
                'telewatch-upgrade', ['--config-file', str(config),
                                      '--skip-default-policies'], str(log), {}))
        upgrade.start()
        upgrade.join(START_TIMEOUT)
        if upgrade.exitcode != 0:
            raise RuntimeError('telewatch-upgrade failed:\n' + log.read_text())
        processes = [self._start('telewatch-api', config, log, {'SCRIPT_NAME': PREFIX}),
                     self._start('telewatch-archive-processor', config, log)]
        try:
            _wait_until_up('http://127.0.0.1:%d%s/' % (port, PREFIX), processes, log)
            yield port
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(30)
                if process.exitcode is None:
                    process.kill()
                    process.join()


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _wait_until_up(url, processes, log):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            if any(process.exitcode is not None for process in processes):
                break
            time.sleep(0.05)
    raise RuntimeError('telewatch-api did not answer on %s:\n%s' % (url, log.read_text()))


class _Outcomes(unittest.TestResult):
    """Each gabbi test's outcome, by its name in the file."""

    def __init__(self):
        super().__init__()
        self.outcomes = collections.OrderedDict()

    def _set(self, test, outcome, details=''):
        self.outcomes[test.test_data['name']] = (outcome, details)

    def addSuccess(self, test):
        self._set(test, 'pass')

    def addExpectedFailure(self, test, err):
        self._set(test, 'pass')

    def addUnexpectedSuccess(self, test):
        self._set(test, 'fail', 'passed, but the file says it fails (xfail)')

    def addFailure(self, test, err):
        self._set(test, 'fail', _last_lines(self._exc_info_to_string(err, test)))

    def addError(self, test, err):
        self._set(test, 'fail', _last_lines(self._exc_info_to_string(err, test)))

    def addSkip(self, test, reason):
        self._set(test, 'skip', reason)


def _last_lines(traceback, count=4):
    """The end of a failure's traceback: what was expected and what came."""
    return '\n'.join(traceback.rstrip().splitlines()[-count:])


def run_file(path, port):
    """Run the gabbit file ``path`` against the API on ``port``: {test name: (outcome,
    details)}, in the file's order."""
    suite_dict = utils.load_yaml(yaml_file=str(path), safe=False)
    suite = suitemaker.test_suite_from_dict(
        unittest.TestLoader(), path.stem, suite_dict, str(path.parent), '127.0.0.1', port,
        None, None, prefix=PREFIX, handlers=[kind() for kind in handlers.RESPONSE_HANDLERS],
        test_loader_name='gnocchi_gabbits')
    result = _Outcomes()
    suite.run(result)
    return result.outcomes


def problems(outcomes, expected):
    """What makes a file's run fail: a test outside doc/api.md's table that fails, one
    inside it that passes, one the table names that the file lacks."""
    found = []
    for name, (outcome, details) in outcomes.items():
        if outcome == 'fail' and name not in expected:
            found.append('FAILS (not in doc/api.md): %s\n%s' % (name, details))
        elif outcome == 'pass' and name in expected:
            found.append('PASSES (listed in doc/api.md as a difference): %s' % name)
    found.extend('NO SUCH TEST (listed in doc/api.md): %s' % name
                 for name in expected if name not in outcomes)
    return found


def counts():
    """{file: (passed, tests)} of the files run, and the totals."""
    by_file = collections.OrderedDict(
        (name, (sum(outcome == 'pass' for outcome, _ in outcomes.values()), len(outcomes)))
        for name, outcomes in RESULTS.items())
    total = (sum(p for p, _ in by_file.values()), sum(t for _, t in by_file.values()))
    return by_file, total


def report_lines():
    by_file, (passed, tests) = counts()
    lines = ['%-36s %4d / %4d' % (name, *figures) for name, figures in by_file.items()]
    share = 100.0 * passed / max(tests, 1)
    lines.append('%-36s %4d / %4d (%.1f %%)' % ('all', passed, tests, share))
    return lines


def save(path=REPORT):
    """Keep the figures and every test's outcome (``REPORT``, ignored by git)."""
    path.parent.mkdir(exist_ok=True)
    by_file, (passed, tests) = counts()
    path.write_text(json.dumps({'files': {name: {'passed': p, 'tests': t}
                                          for name, (p, t) in by_file.items()},
                                'passed': passed, 'tests': tests,
                                'results': RESULTS}, indent=1))
