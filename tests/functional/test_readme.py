"""The README's "Using it" commands, run as a reader would paste them (from the checkout,
.venv/bin being the virtualenv running these tests): each exits 0 and prints what it says."""

import json
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def using_it_commands():
    """The command lines of the README's "Using it" sh block, continuation lines joined."""
    text = (REPO / 'README.md').read_text()
    block = re.search(r'^## Using it\n```sh\n(.*?)^```$', text, re.M | re.S).group(1)
    return [line for line in block.replace('\\\n', ' ').splitlines() if line.strip()]


def run(command):
    command = command.replace('.venv/bin/', '%s/' % BIN)
    return subprocess.run(['bash', '-o', 'pipefail', '-c', command], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_the_block_is_found():
    commands = using_it_commands()
    assert len(commands) >= 5
    assert all(command.startswith('.venv/bin/telewatch-') for command in commands)


@pytest.mark.parametrize('command', using_it_commands())
def test_each_command_exits_0_and_prints_what_it_says(command):
    result = run(command)
    assert result.returncode == 0, result.stderr
    assert ' ERROR ' not in result.stderr and 'Traceback' not in result.stderr
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    if ' validate ' in command:
        assert lines == ['OK']
        return
    records = [json.loads(line) for line in lines]
    assert all(record['name'] and 'volume' in record for record in records)
    if ' replay ' in command:  # every sample archived (meter_sink)
        sinks = {record['sink'] for record in records}
        assert 'meter_sink' in sinks
    reads_stdin = command.partition(' #')[0].rstrip().endswith(' -')
    if ' replay ' in command and not reads_stdin:  # samples of several polling cycles
        assert len(sinks) > 1, 'rates derived: %s' % sinks
        if 'host' in command:
            assert any(r['name'].startswith('hardware.') and r['name'].endswith('.rate')
                       for r in records)


def test_replay_into_head_ends_quietly_when_head_has_read_enough(tmp_path):
    # Far more output than a pipe holds: replay is still writing when head exits.
    samples = tmp_path / 'samples.jsonl'
    samples.write_text((REPO / 'etc' / 'samples' / 'compute.jsonl').read_text() * 100)
    result = run('.venv/bin/telewatch-pipeline replay --pipeline etc/pipeline.yaml %s '
                 '| head -3; echo "exit statuses: ${PIPESTATUS[*]}"' % samples)
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(json.loads(line)['name'] for line in lines[:3])
    assert lines[3] == 'exit statuses: 141 0'  # as a Unix tool that SIGPIPE ended
    assert ' ERROR ' not in result.stderr, result.stderr
    assert 'BrokenPipe' not in result.stderr and 'Traceback' not in result.stderr
