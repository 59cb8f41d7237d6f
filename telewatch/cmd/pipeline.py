"""telewatch-pipeline: check a pipeline.yaml, and replay samples through it (a dry run).

``validate [FILE]`` prints OK or every error; ``replay --pipeline FILE SAMPLES`` prints, one
JSON object per line, every sample the sinks would hand to their publishers.
"""

import argparse
import json
import sys

from telewatch import cli_output
from telewatch import config_file
from telewatch import sample as sample_mod
from telewatch import service
from telewatch.pipeline import config
from telewatch.pipeline import engine

DEFAULT_PIPELINE = 'etc/pipeline.yaml'
OUTPUT_FIELDS = ('name', 'type', 'unit', 'volume', 'user_id', 'project_id', 'resource_id',
                 'timestamp', 'resource_metadata')


class ReplayOutput:
    """The replay's standard output, shared by the recorders of every sink. A publisher's
    exception is caught and logged by the pipeline, so a recorder that finds the reader gone
    only notes it here (``closed``), for the replay loop to stop."""

    def __init__(self, stream):
        self.stream = stream
        self.closed = False

    def write(self, text):
        if self.closed:
            return
        try:
            self.stream.write(text)
        except BrokenPipeError:
            self.closed = True

    def check(self):
        """OutputClosed once the reader went away."""
        if self.closed:
            raise cli_output.OutputClosed()


class ReplayRecorder:
    """Stands in for a sink's publishers during a replay: writes what they would receive."""

    def __init__(self, sink_name, output):
        self.sink_name = sink_name
        self._output = output

    def start(self):
        pass

    def stop(self):
        pass

    def publish(self, samples):
        write = self._output.write
        for sample in samples:
            record = {field: getattr(sample, field) for field in OUTPUT_FIELDS}
            record['timestamp'] = sample_mod.format_timestamp(sample.timestamp)
            record['sink'] = self.sink_name
            write(json.dumps(record, separators=(', ', ': '), sort_keys=False) + '\n')

    def __repr__(self):
        return '<replay of sink %s>' % self.sink_name


def _load(path, conf, stderr):
    try:
        return config.load_pipeline(path, conf)
    except config_file.ConfigErrors as exc:
        for error in exc.errors:
            stderr.write('%s\n' % error)
        return None


def validate(args, conf, stdout, stderr):
    if _load(args.pipeline_file, conf, stderr) is None:
        return 1
    stdout.write('OK\n')
    return 0


def _read_lines(path, stdin):
    if path == '-':
        yield from enumerate(stdin, 1)
        return
    with open(path, encoding='utf-8') as stream:
        yield from enumerate(stream, 1)


def _parse_line(text):
    """A Sample, the string 'flush', or None for a blank line; ValueError if bad."""
    if not text.strip():
        return None
    record = json.loads(text)
    if isinstance(record, dict) and record.get('flush') is True and len(record) == 1:
        return 'flush'
    return sample_mod.Sample.from_dict(record)


def replay(args, conf, stdout, stderr):
    definition = _load(args.pipeline, conf, stderr)
    if definition is None:
        return 1
    output = ReplayOutput(stdout)
    manager = engine.PipelineManager(
        definition, conf, publishers_for=lambda sink: [ReplayRecorder(sink.name, output)])
    bad_lines = 0
    try:
        for number, text in _read_lines(args.samples, sys.stdin):
            output.check()
            try:
                item = _parse_line(text)
            except ValueError as exc:
                bad_lines += 1
                stderr.write('%s:%d: skipped: %s\n' % (args.samples, number, exc))
                continue
            if item == 'flush':
                manager.flush()
            elif item is not None:
                manager.process([item], flush=False)
    except OSError as exc:
        stderr.write('%s: %s\n' % (args.samples, exc))
        return 1
    manager.flush()
    output.check()
    return 2 if bad_lines else 0


def build_parser():
    parser = argparse.ArgumentParser(prog='telewatch-pipeline', description=__doc__.split(
        '\n')[0])
    parser.add_argument('--config-file', action='append', default=[],
                        help='telewatch.conf (oslo.config); may be repeated')
    commands = parser.add_subparsers(dest='command', required=True)
    check = commands.add_parser('validate', help='check a pipeline.yaml and print OK or '
                                                 'every error')
    check.add_argument('pipeline_file', nargs='?', default=DEFAULT_PIPELINE)
    check.set_defaults(run=validate)
    dry_run = commands.add_parser('replay', help='run JSON-lines samples through a '
                                                 'pipeline and print what its sinks publish')
    dry_run.add_argument('--pipeline', default=DEFAULT_PIPELINE)
    dry_run.add_argument('samples', help='a file of one JSON sample per line, or - for stdin')
    dry_run.set_defaults(run=replay)
    return parser


def main(argv=None, stdout=None, stderr=None):
    args = build_parser().parse_args(argv)
    conf_args = []
    for path in args.config_file:
        conf_args += ['--config-file', path]
    conf = service.prepare_service(conf_args)
    stdout = stdout or sys.stdout
    return cli_output.run(lambda: args.run(args, conf, stdout, stderr or sys.stderr), stdout)


if __name__ == '__main__':
    sys.exit(main())
