"""telewatch-polling --test, the one-shot mode: samples as JSON lines on standard output."""

import io
import json

from telewatch.cmd import polling as cli
from tests.unit import conftest

POLLING = str(conftest.REPO / 'etc' / 'polling.yaml')


class ClosedReader(io.StringIO):
    """Standard output whose reader is gone (``| head -0``)."""

    def write(self, text):
        raise BrokenPipeError(32, 'Broken pipe')


def test_host_samples_as_json_lines():
    stdout, stderr = io.StringIO(), io.StringIO()
    assert cli.main(['--test', '--namespace', 'host', '--polling-file', POLLING],
                    stdout=stdout, stderr=stderr) == 0
    names = {json.loads(line)['name'] for line in stdout.getvalue().splitlines()}
    assert {'hardware.memory.used', 'hardware.cpu.util'} <= names
    assert stderr.getvalue() == ''


def test_a_closed_output_ends_the_command_quietly_with_sigpipes_status():
    stderr = io.StringIO()
    assert cli.main(['--test', '--namespace', 'host', '--polling-file', POLLING],
                    stdout=ClosedReader(), stderr=stderr) == 141
    assert stderr.getvalue() == ''
