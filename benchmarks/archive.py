"""The archive store end to end: measures written, made durable, aggregated, read.

Prints one JSON document. Policy: 60 s x 1440 points, mean/min/max/sum/count/last. Shapes:

- ``realistic``: 1,000 metrics, writes of 10 measures per metric per call, 1,000,000
  measures in all (100 calls of 10,000 measures);
- ``big_batches``: 100 metrics x 1,000 measures per call, 1,000,000 measures (10 calls);
- ``many_series``: the regime a cloud produces (issue 18): 100,000 metrics x 1 measure x 5
  rounds, one round at a time (one measure for every metric, aggregated, then the next),
  under a policy of 3 granularities (60 s x 1 day, 300 s x 30 days, 3600 s x 1 year) and 6
  methods (Gnocchi's default set); metric-updates per CPU-second of the processor, and per
  second of wall time (write to aggregated), round by round.

For each: the time from the first write until every measure is aggregated, with one
``telewatch-archive-processor`` worker running in its own process beside the writer (the
embedded default: SQLite index, file storage); the writer's own time; and the read time of
one metric's aggregated points, in process (median of 20). ``lost`` counts measures that
the policy retains but the aggregates do not count at the end (must be 0).
``--baseline gnocchi`` runs the same through a real Gnocchi (``tools/services/gnocchi
start``), side by side.

    PYTHONPATH=. python benchmarks/archive.py [--quick] [--storage-url URL]
                                              [--baseline gnocchi] [--shapes NAME,...]
                                              [--series-metrics N]
"""

import argparse
import json
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid

import numpy

from telewatch import service
from telewatch.archive import policy as policy_mod
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod
from telewatch.archive.index import indexer as indexer_mod

POLICY = policy_mod.ArchivePolicy('bench-60s-1440', 0,
                                  ['mean', 'min', 'max', 'sum', 'count', 'last'],
                                  [{'granularity': 60, 'points': 1440}])
START_NS = 1_700_000_040 * 10**9
STEP_NS = 60 * 10**9
SHAPES = {'realistic': (1000, 10, 100), 'big_batches': (100, 1000, 10)}
# many_series: Gnocchi's default methods at three granularities (1 day of minutes...).
SERIES_POLICY = policy_mod.ArchivePolicy(
    'bench-many-series', 0, ['mean', 'min', 'max', 'sum', 'std', 'count'],
    [{'granularity': 60, 'points': 1440}, {'granularity': 300, 'points': 8640},
     {'granularity': 3600, 'points': 8760}])
SERIES_METRICS, SERIES_ROUNDS = 100_000, 5


def make_conf(data_dir, storage_url):
    conf = service.prepare_service([])
    conf.set_override('data_dir', data_dir)
    conf.set_override('processing_delay', 0.01, group='archive')
    if storage_url:
        conf.set_override('storage_url', storage_url, group='archive')
    return conf


def run_processor(conf, processed, stop, cpu=None):
    processor = processor_mod.ArchiveProcessor(conf)
    while not stop.is_set():
        report = processor.run_once()
        with processed.get_lock():
            processed.value += report.measures
            if cpu is not None:
                cpu.value = time.process_time()
        if not report.measures:
            time.sleep(0.005)


def writes(metric_ids, per_call, calls):
    rng = numpy.random.default_rng(42)
    for call in range(calls):
        stamps = START_NS + (call * per_call + numpy.arange(per_call)) * STEP_NS
        yield {m: (stamps, rng.normal(100.0, 15.0, per_call)) for m in metric_ids}


def retained_per_metric(measures):
    """Measures a metric's aggregates still count: those in the newest ``points`` buckets
    (one measure per 60 s bucket here); older ones are gone by retention, not lost."""
    return min(measures, POLICY.points_of(60 * 10**9))


def run_shape(conf, name, metrics, per_call, calls):
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade(default_policies=False)
    store.index.create_archive_policy(POLICY)
    metric_ids = [str(uuid.uuid4()) for _ in range(metrics)]
    store.index.create_metrics([indexer_mod.Metric(m, POLICY.name, 'bench', None, None, '')
                                for m in metric_ids])
    total = metrics * per_call * calls
    processed, stop = multiprocessing.Value('q', 0), multiprocessing.Event()
    child = multiprocessing.get_context('fork').Process(
        target=run_processor, args=(conf, processed, stop))
    child.start()
    begin = time.perf_counter()
    cpu_begin = time.process_time()
    for write in writes(metric_ids, per_call, calls):
        store.add_measures(write)
    written = time.perf_counter() - begin
    writer_cpu = time.process_time() - cpu_begin
    while processed.value < total and child.is_alive():
        time.sleep(0.002)
    elapsed = time.perf_counter() - begin
    stop.set()
    child.join()
    found = store.index.get_metrics(metric_ids)
    counted = sum(int(store.series(found[m], 60, 'count')[0][2].sum()) for m in metric_ids)
    retained = metrics * retained_per_metric(per_call * calls)
    reads = []
    for _ in range(20):
        t0 = time.perf_counter()
        rows = read(store, metric_ids[0])
        reads.append(time.perf_counter() - t0)
    store.close()
    return {'shape': name, 'metrics': metrics, 'measures_per_metric_per_call': per_call,
            'measures': total, 'seconds_to_aggregated': round(elapsed, 3),
            'measures_per_s': round(total / elapsed),
            'writer_seconds': round(written, 3), 'writer_cpu_seconds': round(writer_cpu, 3),
            'writes_per_s': round(total / written),
            'read_points': len(rows), 'read_ms_median': round(statistics.median(reads) * 1e3, 3),
            'retained': retained, 'lost': retained - counted}


def run_many_series(conf, metrics, rounds):
    """One measure for every metric, aggregated, then the next round (issue 18)."""
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade(default_policies=False)
    store.index.create_archive_policy(SERIES_POLICY)
    metric_ids = [str(uuid.uuid4()) for _ in range(metrics)]
    store.index.create_metrics([
        indexer_mod.Metric(m, SERIES_POLICY.name, 'bench', None, None, '')
        for m in metric_ids])
    processed, stop = multiprocessing.Value('q', 0), multiprocessing.Event()
    cpu = multiprocessing.Value('d', 0.0)
    child = multiprocessing.get_context('fork').Process(
        target=run_processor, args=(conf, processed, stop, cpu))
    child.start()
    rng = numpy.random.default_rng(42)
    out = []
    for round_ in range(rounds):
        stamps = numpy.array([START_NS + round_ * STEP_NS])
        write = {m: (stamps, rng.normal(100.0, 15.0, 1)) for m in metric_ids}
        cpu_before = cpu.value
        begin = time.perf_counter()
        store.add_measures(write)
        written = time.perf_counter() - begin
        while processed.value < metrics * (round_ + 1) and child.is_alive():
            time.sleep(0.002)
        wall = time.perf_counter() - begin
        used = cpu.value - cpu_before
        out.append({'round': round_ + 1, 'write_seconds': round(written, 3),
                    'seconds_to_aggregated': round(wall, 3),
                    'processor_cpu_seconds': round(used, 3),
                    'updates_per_cpu_second': round(metrics / used) if used else None,
                    'updates_per_second': round(metrics / wall),
                    'loadavg_1min': os.getloadavg()[0]})
    stop.set()
    child.join()
    found = store.index.get_metrics(metric_ids)
    counts = store.many_series({m: (found[m], 60, 'count', None) for m in metric_ids})
    counted = sum(int(v.sum()) for _, v in counts.values())
    store.close()
    steady = out[1:] or out
    cpu_total = sum(r['processor_cpu_seconds'] for r in steady)
    return {'shape': 'many_series', 'metrics': metrics, 'rounds': rounds,
            'policy': SERIES_POLICY.to_dict(), 'per_round': out,
            'updates_per_cpu_second_after_first_round': (
                round(metrics * len(steady) / cpu_total) if cpu_total else None),
            'us_cpu_per_update_after_first_round': round(
                cpu_total / (metrics * len(steady)) * 1e6, 1),
            'measures': metrics * rounds, 'lost': metrics * rounds - counted}


def read(store, metric_id):
    """What the API does for GET .../measures?granularity=60: the metric, then its rows."""
    metric = store.index.get_metrics([metric_id])[metric_id]
    return [row for g, stamps, values in store.series(metric, 60, 'mean')
            for row in zip(stamps, [g] * len(stamps), values.tolist())]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='a tenth of the measures')
    parser.add_argument('--storage-url', default='',
                        help='[archive] storage_url (default: files in a temporary directory)')
    parser.add_argument('--baseline', choices=['gnocchi'], help='also run a real Gnocchi')
    parser.add_argument('--gnocchi-url', default='http://127.0.0.1:8051')
    parser.add_argument('--shapes', default='realistic,big_batches,many_series',
                        help='comma-separated shapes to run')
    parser.add_argument('--series-metrics', type=int, default=SERIES_METRICS,
                        help='metrics of the many_series shape (a tenth with --quick)')
    args = parser.parse_args(argv)
    logging.getLogger('alembic').setLevel(logging.WARNING)
    shapes = args.shapes.split(',')
    results = []
    for name, (metrics, per_call, calls) in SHAPES.items():
        if name not in shapes:
            continue
        calls = max(1, calls // 10) if args.quick else calls
        with tempfile.TemporaryDirectory(prefix='tw-bench-archive-') as data_dir:
            conf = make_conf(data_dir, args.storage_url)
            results.append(run_shape(conf, name, metrics, per_call, calls))
            if args.storage_url:  # a shared store: leave no bench data behind
                break
    if 'many_series' in shapes and not (args.storage_url and results):
        metrics = args.series_metrics // 10 if args.quick else args.series_metrics
        with tempfile.TemporaryDirectory(prefix='tw-bench-archive-') as data_dir:
            results.append(run_many_series(make_conf(data_dir, args.storage_url), metrics,
                                           SERIES_ROUNDS))
    report = {'benchmark': 'archive', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'policy': POLICY.to_dict(), 'telewatch': results,
              'targets': {'realistic_measures_per_s': 300000,
                          'big_batches_measures_per_s': 1000000, 'read_ms': 2.0,
                          'many_series_updates_per_cpu_second': 100000}}
    if args.baseline == 'gnocchi':
        from benchmarks import archive_gnocchi
        report['gnocchi'] = archive_gnocchi.run(args.gnocchi_url, SHAPES, args.quick)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
