"""telewatch-pipeline replay on the golden cases kept as data in tests/cases/<name>/:
pipeline.yaml, input.jsonl, expected.jsonl, and expected.stderr where input lines are bad
(the exit code is then 2)."""

import io
import json
import pathlib

import pytest

from telewatch.cmd import pipeline as cli

CASES = pathlib.Path(__file__).resolve().parents[2] / 'cases'
GOLDEN = sorted(path.parent for path in CASES.glob('*/expected.jsonl'))


def test_there_are_golden_cases():
    assert len(GOLDEN) >= 8


@pytest.mark.parametrize('case', GOLDEN, ids=lambda path: path.name)
def test_replay_matches_golden_output(case, monkeypatch):
    monkeypatch.chdir(case)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli.main(['replay', '--pipeline', 'pipeline.yaml', 'input.jsonl'],
                    stdout=stdout, stderr=stderr)
    expected_stderr = case / 'expected.stderr'
    assert stderr.getvalue() == (expected_stderr.read_text() if expected_stderr.exists()
                                 else '')
    assert code == (2 if expected_stderr.exists() else 0)
    produced = [json.loads(line) for line in stdout.getvalue().splitlines()]
    expected = [json.loads(line) for line in (case / 'expected.jsonl').read_text()
                .splitlines()]
    assert produced == expected


def test_replay_reads_stdin(monkeypatch):
    case = CASES / 'fan_out_sources'
    monkeypatch.chdir(case)
    monkeypatch.setattr('sys.stdin', io.StringIO((case / 'input.jsonl').read_text()))
    stdout = io.StringIO()
    assert cli.main(['replay', '--pipeline', 'pipeline.yaml', '-'], stdout=stdout) == 0
    assert stdout.getvalue() == (case / 'expected.jsonl').read_text()


def test_replay_of_an_invalid_pipeline_prints_errors_and_exits_1(tmp_path):
    pipeline = tmp_path / 'pipeline.yaml'
    pipeline.write_text('sources: []\nsinks: []\n')
    samples = tmp_path / 'in.jsonl'
    samples.write_text('')
    stdout, stderr = io.StringIO(), io.StringIO()
    assert cli.main(['replay', '--pipeline', str(pipeline), str(samples)],
                    stdout=stdout, stderr=stderr) == 1
    assert stdout.getvalue() == ''
    assert stderr.getvalue() == (
        '%s:1: sources: expected a non-empty list of sources\n'
        '%s:2: sinks: expected a non-empty list of sinks\n' % (pipeline, pipeline))


def test_replay_of_a_missing_samples_file_exits_1(tmp_path):
    stderr = io.StringIO()
    code = cli.main(['replay', '--pipeline', str(CASES / 'fan_out_sources' / 'pipeline.yaml'),
                     str(tmp_path / 'nothing.jsonl')], stdout=io.StringIO(), stderr=stderr)
    assert code == 1
    assert 'nothing.jsonl' in stderr.getvalue()


def test_shipped_sample_file_replays_through_shipped_pipeline():
    repo = CASES.parents[1]
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli.main(['replay', '--pipeline', str(repo / 'etc' / 'pipeline.yaml'),
                     str(repo / 'etc' / 'samples' / 'compute.jsonl')], stdout=stdout,
                    stderr=stderr)
    assert (code, stderr.getvalue()) == (0, '')
    names = [json.loads(line)['name'] for line in stdout.getvalue().splitlines()]
    # 60 samples archived; for 2 instances x the 2 later cycles: cpu_util, cpu.delta and
    # 7 disk and network rates.
    assert len(names) == 60 + 2 * 2 * 9
    assert names.count('cpu_util') == 4
    assert names.count('disk.device.read.bytes.rate') == 4


class ClosingReader(io.StringIO):
    """Standard output whose reader goes away after ``lines`` lines (``| head``)."""

    def __init__(self, lines):
        super().__init__()
        self.lines = lines
        self.writes_after_close = 0

    def write(self, text):
        if self.getvalue().count('\n') >= self.lines:
            self.writes_after_close += 1
            raise BrokenPipeError(32, 'Broken pipe')
        return super().write(text)


def test_replay_into_a_closed_pipe_stops_quietly_with_sigpipes_status(caplog):
    stdout, stderr = ClosingReader(3), io.StringIO()
    repo = CASES.parents[1]
    code = cli.main(['replay', '--pipeline', str(repo / 'etc' / 'pipeline.yaml'),
                     str(repo / 'etc' / 'samples' / 'compute.jsonl')], stdout=stdout,
                    stderr=stderr)
    assert code == 141
    assert stdout.getvalue().count('\n') == 3
    assert stderr.getvalue() == ''
    assert not [r for r in caplog.records if r.levelname in ('ERROR', 'WARNING')]
    # It stopped reading its input: a few sinks of the line in flight at most, not 60 lines.
    assert stdout.writes_after_close <= 5


def test_validate_into_a_closed_pipe_exits_with_sigpipes_status():
    pipeline = CASES.parents[1] / 'etc' / 'pipeline.yaml'
    assert cli.main(['validate', str(pipeline)], stdout=ClosingReader(0)) == 141
