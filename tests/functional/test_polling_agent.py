"""telewatch-polling as an operator runs it: --test, and the daemon with signed batches,
SIGHUP (a bad new file keeps the old one running) and a clean SIGTERM."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from telewatch import messages
from tests.functional.bus_helpers import wait_for

BIN = pathlib.Path(sys.executable).parent
REPO = pathlib.Path(__file__).resolve().parents[2]
SECRET = 'functional-secret'


def polling(*args, **kwargs):
    return subprocess.run([str(BIN / 'telewatch-polling'), *args], capture_output=True,
                          text=True, timeout=120, **kwargs)


def test_test_mode_prints_host_samples():
    result = polling('--test', '--namespace', 'host', '--polling-file',
                     str(REPO / 'etc' / 'polling.yaml'))
    assert result.returncode == 0, result.stderr
    samples = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = {(s['name'], s['type'], s['unit']) for s in samples}
    assert {('hardware.memory.used', 'gauge', 'KB'), ('hardware.memory.total', 'gauge', 'KB'),
            ('hardware.system_stats.load.1', 'gauge', 'process')} <= kinds


def test_test_mode_reports_a_bad_polling_file(tmp_path):
    bad = tmp_path / 'polling.yaml'
    bad.write_text('sources:\n  - name: node\n    interval: 0\n    meters: [cpu_utilisation]\n')
    result = polling('--test', '--namespace', 'host', '--polling-file', str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        '%s:3: sources[0].interval: must be more than 0 seconds, got 0' % bad,
        "%s:4: sources[0].meters[0]: no installed pollster provides the meter "
        "'cpu_utilisation'" % bad]


def _write_polling(path, meter, interval=1):
    path.write_text('sources:\n  - name: node\n    interval: %s\n    meters: [%s]\n'
                    % (interval, meter))


def _meters_after(output, offset):
    """Meter names of the verified batches written after byte ``offset``."""
    names = set()
    with open(output) as stream:
        stream.seek(offset)
        for line in stream:
            for sample in messages.decode_batch(json.loads(line), SECRET):
                names.add(sample.name)
    return names


@pytest.fixture
def daemon(tmp_path):
    polling_file = tmp_path / 'polling.yaml'
    _write_polling(polling_file, 'hardware.memory.used')
    output = tmp_path / 'batches.jsonl'
    output.touch()
    conf = tmp_path / 'telewatch.conf'
    conf.write_text('[polling]\noutput = %s\n[publisher]\ntelemetry_secret = %s\n'
                    % (output, SECRET))
    process = subprocess.Popen(
        [str(BIN / 'telewatch-polling'), '--namespace', 'host', '--config-file', str(conf),
         '--polling-file', str(polling_file)], stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / 'agent.log', 'w'), start_new_session=True)
    yield process, polling_file, output, tmp_path / 'agent.log'
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_daemon_reload_and_stop(daemon):
    process, polling_file, output, log = daemon
    assert wait_for(lambda: 'hardware.memory.used' in _meters_after(output, 0)), \
        log.read_text()

    # A bad file: rejected with its errors, the old configuration keeps polling.
    polling_file.write_text('sources: [{name: node, interval: -1, meters: [nothing]}]\n')
    process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: 'the new polling file is rejected' in log.read_text())
    offset = output.stat().st_size
    assert wait_for(lambda: 'hardware.memory.used' in _meters_after(output, offset))
    assert process.poll() is None

    # A good file replaces it.
    _write_polling(polling_file, 'hardware.system_stats.load.1')
    process.send_signal(signal.SIGHUP)
    time.sleep(1.5)
    offset = output.stat().st_size
    assert wait_for(lambda: _meters_after(output, offset) == {
        'hardware.system_stats.load.1'}), log.read_text()

    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert 'Traceback' not in log.read_text()


def test_test_mode_fails_clearly_when_a_source_cannot_be_polled(tmp_path):
    polling_file = tmp_path / 'polling.yaml'
    polling_file.write_text('sources:\n  - {name: instances, interval: 60, meters: [cpu]}\n'
                            '  - {name: node, interval: 60, meters: [hardware.memory.used]}\n')
    result = polling('--test', '--namespace', 'compute', '--namespace', 'host',
                     '--polling-file', str(polling_file),
                     '--libvirt-uri', 'test:///%s/absent-node.xml' % tmp_path)
    assert result.returncode == 1
    # The node source was still polled; the instances source names what failed.
    assert [json.loads(line)['name'] for line in result.stdout.splitlines()] == [
        'hardware.memory.used']
    assert ('source instances could not be polled:\n  cpu: discovery: XML error: failed to '
            'parse xml document') in result.stderr, result.stderr
