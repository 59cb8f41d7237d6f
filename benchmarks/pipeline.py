"""Pipeline throughput (samples per CPU second) and transformer state size, beside Ceilometer 27.
Prints one JSON document on stdout; see benchmarks/README.md for what each number means.
"""

import argparse
import gc
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc

from telewatch import config_file
from telewatch.pipeline import config
from telewatch.pipeline import engine
from telewatch import sample as sample_mod
from telewatch import service

try:
    from benchmarks import workload
except ImportError:  # run as a script (tox -e bench): benchmarks/ is sys.path[0]
    import workload

HERE = os.path.dirname(os.path.abspath(__file__))
SHIPPED_PIPELINE = os.path.join(os.path.dirname(HERE), 'etc', 'pipeline.yaml')
CEILOMETER_DRIVER = os.path.join(HERE, 'ceilometer_baseline.py')
METERS_ONLY_YAML = """
sources:
  - name: meter_source
    meters: ["*"]
    sinks: [meter_sink]
sinks:
  - name: meter_sink
    publishers: ["log://"]
"""
INTERVAL = 60.0
SEED = 42
SHIPPED_TARGET = 300000
METERS_ONLY_TARGET = 1000000
STATE_SERIES_INSTANCES = 2000  # x 10 meters = 20,000 series
STATE_TARGET_BYTES = 50 * 1000 * 1000


class CountingPublisher:
    """The counting sink that replaces every publisher: keeps no sample."""

    def __init__(self):
        self.count = 0

    def start(self):
        pass

    def stop(self):
        pass

    def publish(self, samples):
        self.count += len(samples)


def build_manager(definition, conf):
    """A PipelineManager whose sinks publish to counters (one per sink name)."""
    counters = {}

    def publishers_for(sink):
        return [counters.setdefault(sink.name, CountingPublisher())]

    return engine.PipelineManager(definition, conf, publishers_for=publishers_for), counters


def run_once(definition, conf, batches):
    manager, counters = build_manager(definition, conf)
    process = manager.process
    gc.collect()
    started, wall = time.process_time(), time.perf_counter()
    for batch in batches:
        process(batch)  # runs every pipeline on the batch, then flushes each one
    cpu = time.process_time() - started
    wall = time.perf_counter() - wall
    manager.stop()  # outside the timing: releases what transformers still hold (nothing here)
    return {'cpu_seconds': cpu, 'wall_seconds': wall,
            'published': sum(c.count for c in counters.values()),
            'published_by_sink': {name: c.count for name, c in sorted(counters.items())}}


def measure(definition, conf, batches, input_samples, repeat, target):
    runs = [run_once(definition, conf, batches) for _ in range(repeat)]
    best = min(runs, key=lambda run: run['cpu_seconds'])
    rate = input_samples / best['cpu_seconds']
    return {
        'samples_per_cpu_second': round(rate),
        'target': target,
        'meets_target': rate >= target,
        'cpu_seconds': round(best['cpu_seconds'], 4),
        'wall_seconds': round(best['wall_seconds'], 4),
        'published': best['published'],
        'published_by_sink': best['published_by_sink'],
        'runs_cpu_seconds': [round(run['cpu_seconds'], 4) for run in runs],
    }


def default_ceilometer_python():
    if importlib.util.find_spec('ceilometer') is not None:
        return sys.executable
    return None


def run_ceilometer(python, samples, batch, repeat):
    """Ceilometer 27's meters-only pipeline on the same stream, in its own interpreter."""
    if python is None:
        return {'skipped': 'ceilometer is not importable here and no --ceilometer-python '
                           'was given'}
    if not os.path.exists(python):
        return {'skipped': 'no interpreter at %s' % python}
    check = subprocess.run([python, '-c', 'import ceilometer.pipeline.sample'],
                           capture_output=True, text=True)
    if check.returncode:
        return {'skipped': '%s cannot import ceilometer: %s' % (
            python, (check.stderr.strip().splitlines() or ['?'])[-1])}
    with tempfile.NamedTemporaryFile('w', suffix='.jsonl', encoding='utf-8',
                                     delete=False) as stream:
        for sample in samples:
            stream.write(json.dumps(sample.to_dict()) + '\n')
    try:
        done = subprocess.run([python, CEILOMETER_DRIVER, stream.name, '--batch', str(batch),
                               '--repeat', str(repeat)], capture_output=True, text=True)
    finally:
        os.unlink(stream.name)
    if done.returncode:
        return {'error': 'exit status %d' % done.returncode,
                'stderr': done.stderr.strip().splitlines()[-10:]}
    result = json.loads(done.stdout)
    result['interpreter'] = python
    return result


def _deep_size(roots):
    """Bytes of ``roots`` and of every container and leaf they reach (each object once)."""
    seen, total, stack = set(), 0, list(roots)
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
    return total


def _series_states(manager):
    for pipeline in manager.pipelines:
        for transformer in pipeline.transformers:
            state = getattr(transformer, '_series', None)
            if state is not None:
                yield state


def measure_state(conf, definition, cycles, batch):
    """Memory the shipped pipeline keeps after a run over 20,000 series (2,000 x 10 meters)."""
    fleet = workload.generate(STATE_SERIES_INSTANCES, cycles, INTERVAL, SEED)
    series = len({(s.name, s.resource_id) for s in fleet})
    per_cycle = len(fleet) // cycles
    # The daemon decodes every sample from the wire, so none shares its strings, floats or
    # datetimes with another: decode them the same way, one cycle at a time.
    wire = [[json.dumps(s.to_dict()) for s in fleet[i:i + per_cycle]]
            for i in range(0, len(fleet), per_cycle)]
    del fleet
    gc.collect()
    tracemalloc.start()
    try:
        manager, _ = build_manager(definition, conf)
        gc.collect()
        empty = tracemalloc.get_traced_memory()[0]
        for lines in wire:
            samples = [sample_mod.Sample.from_dict(json.loads(line)) for line in lines]
            for start in range(0, len(samples), batch):
                manager.process(samples[start:start + batch])
            del samples
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - empty
    finally:
        tracemalloc.stop()
    states = list(_series_states(manager))
    state_bytes = _deep_size([getattr(state, name) for state in states
                              for name in ('_current', '_previous')])
    return {
        'series': series,
        'input_samples': per_cycle * cycles,
        'cycles': cycles,
        'bytes': retained,
        'target_bytes': STATE_TARGET_BYTES,
        'meets_target': retained < STATE_TARGET_BYTES,
        'bytes_per_series': round(retained / series, 1),
        'state_entries': sum(len(state) for state in states),
        'state_dicts_deep_bytes': state_bytes,
        'method': (
            'tracemalloc: traced bytes after building the shipped PipelineManager (empty, '
            'counting publishers) subtracted from traced bytes after feeding it every cycle '
            'of %d instances x 10 meters in batches of %d, the input dropped and gc.collect() '
            'run; so "bytes" is everything the manager retains (transformer series state, '
            'route and name caches, counters). The input is decoded from its JSON wire form '
            '(Sample.from_dict) one cycle at a time, so the retained state owns its strings, '
            'floats and datetimes as in the daemon. Cross-check: state_dicts_deep_bytes is '
            'the sys.getsizeof sum over the SeriesState dicts of every stateful transformer '
            '(keys, value tuples and their leaves, each object counted once).'
            % (STATE_SERIES_INSTANCES, batch)),
    }


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--instances', type=int, default=2000)
    parser.add_argument('--cycles', type=int, default=10)
    parser.add_argument('--batch', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=3,
                        help='timed runs of each measurement; the best is reported')
    parser.add_argument('--quick', action='store_true',
                        help='200 instances x 3 cycles: a smoke test that the script works')
    parser.add_argument('--ceilometer-python', default=default_ceilometer_python(),
                        help='interpreter with ceilometer==27.0.0 installed (default: this '
                             'one when it can import ceilometer; else Ceilometer is skipped)')
    args = parser.parse_args(argv)
    if args.quick:
        args.instances, args.cycles = 200, 3
    return args


def main(argv=None):
    args = parse_args(argv)
    conf = service.prepare_service([])
    shipped = config.load_pipeline(SHIPPED_PIPELINE, conf)
    meters_only = config.parse_pipeline(
        config_file.parse_yaml(METERS_ONLY_YAML, '<meters-only>'), conf)

    samples = workload.generate(args.instances, args.cycles, INTERVAL, SEED)
    batches = [samples[i:i + args.batch] for i in range(0, len(samples), args.batch)]
    rss_input = peak_rss_mb()

    result = {
        'benchmark': 'pipeline',
        'python': sys.version.split()[0],
        'workload': {
            'instances': args.instances, 'meters': len(workload.METERS),
            'cycles': args.cycles, 'interval_seconds': INTERVAL, 'seed': SEED,
            'meter_names': [meter[0] for meter in workload.METERS],
            'batch_size': args.batch, 'flush': 'after every batch (PipelineManager.process)',
            'built': 'before timing (benchmarks/workload.py), as Sample objects',
        },
        'input_samples': len(samples),
        'timing': 'time.process_time() around the feeding loop only; best (least CPU) of '
                  '%d runs per measurement, each with a freshly built manager' % args.repeat,
        'publishers': 'every sink publishes to a counting sink (keeps no sample)',
    }
    result['shipped_pipeline'] = dict(
        {'pipeline': os.path.relpath(SHIPPED_PIPELINE, os.path.dirname(HERE))},
        **measure(shipped, conf, batches, len(samples), args.repeat, SHIPPED_TARGET))
    result['meters_only'] = dict(
        {'pipeline': 'one source [*] -> one sink, no transformers'},
        **measure(meters_only, conf, batches, len(samples), args.repeat, METERS_ONLY_TARGET))
    result['peak_rss_mb'] = peak_rss_mb()
    result['peak_rss_note'] = (
        'ru_maxrss of this process after the timed runs (before the state measurement); '
        'it includes the %d pre-built input samples (%.1f MB peak once they were built)'
        % (len(samples), rss_input))

    ceilometer = run_ceilometer(args.ceilometer_python, samples, args.batch, args.repeat)
    result['ceilometer_27_meters_only'] = ceilometer
    if 'samples_per_cpu_second' in ceilometer:
        result['ratio_vs_ceilometer_27'] = round(
            result['meters_only']['samples_per_cpu_second']
            / ceilometer['samples_per_cpu_second'], 2)
        result['ratio_note'] = ('meters-only samples/s of telewatch divided by Ceilometer 27 '
                                "on the same stream, batches and timing")
    else:
        result['ratio_vs_ceilometer_27'] = None

    del samples, batches
    gc.collect()
    result['state_20000_series'] = measure_state(conf, shipped, args.cycles, args.batch)
    result['reference'] = ('Ceilometer Rocky transformer pipeline: about 26,500 samples/s '
                           'per core (from the issue)')
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
