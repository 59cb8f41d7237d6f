"""Ceilometer 27's sample pipeline, meters only, fed the workload of benchmarks/pipeline.py.
Imports only ceilometer and the standard library; prints one JSON document on stdout.
"""

import argparse
import gc
import importlib.metadata
import json
import os
import resource
import sys
import tempfile
import time

from ceilometer.pipeline import sample as sample_pipeline
from ceilometer import publisher as publisher_base
from ceilometer import sample as sample_mod
from ceilometer import service

# JSON is YAML: Ceilometer's loader reads this file with yaml.safe_load.
METERS_ONLY = {
    'sources': [{'name': 'meter_source', 'meters': ['*'], 'sinks': ['meter_sink']}],
    'sinks': [{'name': 'meter_sink', 'publishers': ['test://']}],
}
SAMPLE_FIELDS = ('name', 'type', 'unit', 'volume', 'user_id', 'project_id', 'resource_id',
                 'timestamp', 'resource_metadata', 'source', 'id', 'monotonic_time')


class CountingPublisher(publisher_base.ConfigPublisherBase):
    """Counts the samples it is given and keeps none of them."""

    def __init__(self, conf, parsed_url=None):
        super().__init__(conf, parsed_url)
        self.count = 0
        self.calls = 0

    def publish_samples(self, samples):
        self.count += len(samples)
        self.calls += 1

    def publish_events(self, events):
        pass


def read_samples(stream):
    """ceilometer.sample.Sample objects from JSON lines (telewatch's wire form)."""
    samples, metadata = [], {}
    for line in stream:
        if not line.strip():
            continue
        record = json.loads(line)
        values = {key: record.get(key) for key in SAMPLE_FIELDS}
        # One metadata dict per distinct value, as a polling agent shares one per instance.
        text = json.dumps(values['resource_metadata'], sort_keys=True)
        values['resource_metadata'] = metadata.setdefault(text, values['resource_metadata'])
        samples.append(sample_mod.Sample(**values))
    return samples


def build_manager(conf):
    """SamplePipelineManager of the meters-only pipeline, publishing to a counter."""
    manager = sample_pipeline.SamplePipelineManager(conf)
    counter = CountingPublisher(conf)
    for pipeline in manager.pipelines:
        # As Ceilometer's tests inspect their test:// publisher: the sink's list is public.
        pipeline.sink.publishers = [counter]
        pipeline.sink.multi_publish = False
    return manager, counter


def run_once(conf, batches):
    manager, counter = build_manager(conf)
    context = manager.publisher()  # what the notification agent's endpoints are given
    gc.collect()
    started, wall = time.process_time(), time.perf_counter()
    for batch in batches:
        with context as publish:  # SampleEndpoint.process_notifications does exactly this
            publish(batch)
    cpu = time.process_time() - started
    return {'cpu_seconds': cpu, 'wall_seconds': time.perf_counter() - wall,
            'published': counter.count}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('workload', help='JSON lines of samples, or - for stdin')
    parser.add_argument('--batch', type=int, default=100)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()

    if args.workload == '-':
        samples = read_samples(sys.stdin)
    else:
        with open(args.workload, encoding='utf-8') as stream:
            samples = read_samples(stream)
    batches = [samples[i:i + args.batch] for i in range(0, len(samples), args.batch)]

    with tempfile.NamedTemporaryFile('w', suffix='.yaml', delete=False) as cfg_file:
        json.dump(METERS_ONLY, cfg_file)
    try:
        conf = service.prepare_service(['ceilometer-baseline'], [])
        conf.set_override('pipeline_cfg_file', cfg_file.name)
        runs = [run_once(conf, batches) for _ in range(args.repeat)]
    finally:
        os.unlink(cfg_file.name)

    best = min(runs, key=lambda run: run['cpu_seconds'])
    result = {
        'ceilometer_version': importlib.metadata.version('ceilometer'),
        'python': sys.version.split()[0],
        'pipeline': 'meters only: source meter_source [*] -> sink meter_sink',
        'interface': 'SamplePipelineManager.publisher(): `with context as p: p(batch)` per '
                     'batch (flushes every pipeline on exit), as the notification agent',
        'publisher': 'a ConfigPublisherBase counting publish_samples() calls, put in each '
                     "sink's publishers list after construction",
        'input_samples': len(samples),
        'batch_size': args.batch,
        'samples_per_cpu_second': round(len(samples) / best['cpu_seconds']),
        'cpu_seconds': round(best['cpu_seconds'], 4),
        'wall_seconds': round(best['wall_seconds'], 4),
        'published': best['published'],
        'runs_cpu_seconds': [round(run['cpu_seconds'], 4) for run in runs],
        'repeat': 'best of %d runs (least CPU time)' % len(runs),
        'peak_rss_mb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
