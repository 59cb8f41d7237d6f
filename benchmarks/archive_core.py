"""Throughput of the archive's pure core: measures aggregated per second, in memory.

Prints one JSON document. The default workload is 1,000 metrics x 1,000 measures (one every
10 s, so six per 60 s bucket) under a 60 s x 1440 points policy with mean, min, max, sum,
count and last. Phases, each timed over ``--repeat`` runs (best kept):

- ``first_batch``: every metric starts empty and gets its 1,000 measures;
- ``next_batch``: the following 1,000 measures of every metric, in order, merged into it;
- ``shuffled_batch``: the same, in random order (the sort and merge paths);
- ``late_batch``: a batch entirely older than the back window (all rejected, counted);
- ``serialise`` / ``deserialise``: the states after ``next_batch`` to bytes and back.

    PYTHONPATH=. python benchmarks/archive_core.py [--metrics N] [--measures N] [--quick]
"""

import argparse
import json
import platform
import sys
import time

import numpy

from telewatch.archive import policy as policy_mod
from telewatch.archive import serialization
from telewatch.archive import state as state_mod

START_NS = 1_700_000_040 * 10**9
STEP_NS = 10 * 10**9


def make_policy():
    return policy_mod.ArchivePolicy(
        'bench-60s-1440', 0, ['mean', 'min', 'max', 'sum', 'count', 'last'],
        [{'granularity': 60, 'points': 1440}])


def make_batches(metrics, measures, offset, rng):
    stamps = START_NS + (offset + numpy.arange(measures, dtype=numpy.int64)) * STEP_NS
    return [(stamps, rng.normal(100.0, 15.0, measures)) for _ in range(metrics)]


def run(states, policy, batches):
    results = [s.add_measures(policy, ts, vs) for s, (ts, vs) in zip(states, batches)]
    return [r.state for r in results], sum(r.accepted for r in results), \
        sum(r.rejected for r in results)


def timed(repeat, function):
    best, value = None, None
    for _ in range(repeat):
        begin = time.perf_counter()
        value = function()
        elapsed = time.perf_counter() - begin
        best = elapsed if best is None else min(best, elapsed)
    return best, value


def phase(repeat, states, policy, batches):
    seconds, (after, accepted, rejected) = timed(repeat, lambda: run(states, policy, batches))
    total = sum(len(ts) for ts, _ in batches)
    return after, {'measures': total, 'accepted': accepted, 'rejected': rejected,
                   'seconds': round(seconds, 4),
                   'measures_per_second': round(total / seconds)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--metrics', type=int, default=1000)
    parser.add_argument('--measures', type=int, default=1000)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--quick', action='store_true', help='100 metrics, 1 run')
    args = parser.parse_args(argv)
    if args.quick:
        args.metrics, args.repeat = 100, 1
    rng = numpy.random.default_rng(args.seed)
    policy = make_policy()
    empty = [state_mod.MetricState.new(policy)] * args.metrics
    report = {'workload': {'metrics': args.metrics, 'measures_per_metric': args.measures,
                           'interval_seconds': STEP_NS // 10**9,
                           'policy': policy.to_dict(), 'repeat': args.repeat},
              'python': platform.python_version(), 'numpy': numpy.__version__}

    first = make_batches(args.metrics, args.measures, 0, rng)
    states, report['first_batch'] = phase(args.repeat, empty, policy, first)
    following = make_batches(args.metrics, args.measures, args.measures, rng)
    after, report['next_batch'] = phase(args.repeat, states, policy, following)
    shuffled = []
    for ts, vs in following:
        order = rng.permutation(len(ts))
        shuffled.append((ts[order], vs[order]))
    _, report['shuffled_batch'] = phase(args.repeat, states, policy, shuffled)
    late = make_batches(args.metrics, args.measures, -args.measures, rng)
    _, report['late_batch'] = phase(args.repeat, after, policy, late)

    seconds, blobs = timed(args.repeat, lambda: [serialization.dumps(s) for s in after])
    size = sum(map(len, blobs))
    report['serialise'] = {'states': len(blobs), 'seconds': round(seconds, 4),
                           'states_per_second': round(len(blobs) / seconds),
                           'bytes_per_state': round(size / len(blobs)),
                           'raw_points_per_state': round(
                               sum(len(s.raw_timestamps) for s in after) / len(after)),
                           'buckets_per_state': round(
                               sum(len(s.tables[0]) for s in after) / len(after))}
    seconds, _ = timed(args.repeat, lambda: [serialization.loads(b) for b in blobs])
    report['deserialise'] = {'states': len(blobs), 'seconds': round(seconds, 4),
                             'states_per_second': round(len(blobs) / seconds)}
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
