"""The alarm evaluator on a real archive store: evaluations per CPU-second, and the time from
a breaching measure being written to its webhook being received.

Prints one JSON document. 10,000 ``gnocchi_resources_threshold`` alarms (``max`` gt 90 over
one period of 60 s, as Heat's scaling alarms), one per metric of 10,000 resources, each
metric holding an hour of points (the embedded default: SQLite index and alarm store, file
series storage; or ``--index-url``/``--storage-url`` for PostgreSQL). Two measurements:

- ``evaluation``: the evaluator's passes over every alarm (the tick: the alarms that
  changed read from the store, the series of the metrics aggregated since read through the
  archive's door, the others from what it read last; and the ``afresh`` tick, one in
  ``AFRESH_EVERY``, that reads every alarm and every series again) and its pushed passes
  over the alarms of 10,000 metrics just aggregated (a measure written to every metric and
  processed: every series read), in this process on one thread, timed with
  ``time.process_time`` (the CPU of the whole pass: reads, the engine, the store's
  ``set_evaluated``); no state changes there.
- ``latency``: ``telewatch-archive-processor``'s loop and the evaluator (its loop and the
  real http notifier) each in a process of its own, and a local HTTP server as every
  alarm's ``alarm_actions``. A breaching measure is written to one metric at a time; the
  latency is from that write returning to the webhook's request arriving (p50, p99, max).

``--baseline aodh`` runs ``benchmarks/aodh_baseline.py``'s ``run(...)`` (Aodh 23's evaluator
on the same alarms over the real Gnocchi) and prints both side by side.

    PYTHONPATH=. python benchmarks/alarms.py [--quick] [--alarms N] [--samples N]
        [--index-url URL] [--storage-url URL] [--baseline aodh]
"""

import argparse
import http.server
import json
import logging
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid

import numpy

from telewatch import service
from telewatch.alarms.evaluator import evaluator as evaluator_mod
from telewatch.alarms.evaluator import partition as partition_mod
from telewatch.alarms.storage import store as alarm_store_mod
from telewatch.archive import policy as policy_mod
from telewatch.archive import processor as processor_mod
from telewatch.archive import store as store_mod

POLICY = policy_mod.ArchivePolicy('bench-alarms-60s', 0, ['mean', 'max', 'count'],
                                  [{'granularity': 60, 'points': 1440}])
HISTORY = 60  # points of each metric before the run: an hour
RULE = {'threshold': 90.0, 'comparison_operator': 'gt', 'evaluation_periods': 1,
        'granularity': 60, 'aggregation_method': 'max', 'metric': 'cpu',
        'resource_type': 'generic'}


def make_conf(data_dir, index_url, storage_url):
    conf = service.prepare_service([])
    conf.set_override('data_dir', data_dir)
    conf.set_override('processing_delay', 0.01, group='archive')
    conf.set_override('feed_interval', 0.01, group='alarms')
    conf.set_override('evaluation_interval', 3600, group='alarms')
    conf.set_override('notifier_retries', 0, group='alarms')
    conf.set_override('allowed_targets', ['127.0.0.1:*'], group='alarms')
    if index_url:
        conf.set_override('index_url', index_url, group='archive')
    if storage_url:
        conf.set_override('storage_url', storage_url, group='archive')
    return conf


def populate(conf, count, webhook):
    """``count`` resources with a metric each, an hour of points below the threshold, and
    an ok alarm on each; [(metric id, alarm id)]."""
    archive = store_mod.ArchiveStore.from_conf(conf)
    archive.upgrade()
    archive.index.create_archive_policy(POLICY)
    alarms = alarm_store_mod.AlarmStore.from_conf(conf)
    alarms.upgrade()
    now = time.time()
    stamps = ((now // 60 - HISTORY + numpy.arange(HISTORY)) * 60 * 1e9).astype('int64')
    rng = numpy.random.default_rng(7)
    pairs, measures = [], {}
    for n in range(count):
        rid = str(uuid.uuid4())
        metric = archive.new_metric('bench', 'cpu', rid, POLICY.name)
        archive.index.create_resource('generic', rid, rid, 'bench', 'u', 'p', {},
                                      metrics={'cpu': metric})
        measures[metric.id] = (stamps, rng.uniform(10, 60, HISTORY))
        alarm = alarms.create({
            'name': 'bench-%d' % n, 'type': 'gnocchi_resources_threshold',
            'project_id': 'p', 'user_id': 'u', 'state': 'ok', 'enabled': True,
            'alarm_actions': [webhook], 'ok_actions': [], 'insufficient_data_actions': [],
            'repeat_actions': False, 'severity': 'low', 'time_constraints': [],
            'rule': dict(RULE, resource_id=rid)})
        pairs.append((metric.id, alarm['alarm_id']))
        if len(measures) == 1000:
            archive.add_measures(measures)
            measures = {}
    archive.add_measures(measures)
    while archive.process().measures:
        pass
    archive.close()
    alarms.close()
    return pairs


class NoNotifiers:
    """The throughput passes change no state: nothing to notify."""

    def start(self):
        pass

    def stop(self):
        pass

    def threads(self):
        return []

    def notify(self, *args):
        raise AssertionError('no state changes in the throughput passes')


def evaluation(conf, pairs, passes):
    archive = store_mod.ArchiveStore.from_conf(conf)
    alarms = alarm_store_mod.AlarmStore.from_conf(conf)
    evaluator = evaluator_mod.AlarmEvaluator(conf, alarms, archive, NoNotifiers(),
                                             partition_mod.Everything())
    try:
        # A point in the current period: the hour written at set-up may have left the
        # alarms' window (two periods) while a busy machine created 10,000 alarms.
        write_all(archive, pairs, 50.0)
        evaluator.tick()  # plans every alarm (the index read), reads once: warm
        evaluator.counters.clear()
        ticks, afresh = [], []
        for _ in range(passes):
            begin = time.process_time()
            evaluator.tick(afresh=False)
            ticks.append(time.process_time() - begin)
            begin = time.process_time()
            evaluator.tick(afresh=True)
            afresh.append(time.process_time() - begin)
        pushes = []
        for _ in range(passes):
            write_all(archive, pairs, 50.0)
            begin = time.process_time()
            while evaluator.feed():
                pass
            pushes.append(time.process_time() - begin)
        assert evaluator.counters['evaluations'] == 3 * passes * len(pairs)
        assert evaluator.counters['transitions'] == 0, evaluator.counters
    finally:
        evaluator.stop()
    return {'alarms': len(pairs), 'passes': passes,
            'tick_cpu_s': round(statistics.median(ticks), 3),
            'tick_evaluations_per_cpu_s': round(len(pairs) / statistics.median(ticks)),
            'afresh_tick_cpu_s': round(statistics.median(afresh), 3),
            'afresh_tick_evaluations_per_cpu_s': round(len(pairs) / statistics.median(afresh)),
            'push_cpu_s': round(statistics.median(pushes), 3),
            'push_evaluations_per_cpu_s': round(len(pairs) / statistics.median(pushes))}


def write_all(archive, pairs, value):
    """One measure to every metric, now, then processed (by this process: the stream gets
    one row per round, as a processor's)."""
    stamp = numpy.array([int(time.time() * 1e9)])
    archive.add_measures({metric: (stamp, numpy.array([value])) for metric, _ in pairs})
    while archive.process().measures:
        pass


class _Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        arrived = time.time()
        self.send_response(200)
        self.end_headers()
        self.server.arrivals.put((json.loads(body)['alarm_id'], arrived))

    def log_message(self, *args):
        pass


def run_webhook(ports, arrivals, stop):
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Webhook)
    server.arrivals = arrivals
    ports.put(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    server.shutdown()


def run_processor(conf, stop):
    processor = processor_mod.ArchiveProcessor(conf)
    processor.start()
    stop.wait()
    processor.stop()


def run_evaluator(conf, stop, cpu):
    evaluator = evaluator_mod.AlarmEvaluator(conf)
    evaluator.start()
    stop.wait()
    evaluator.stop()
    cpu.value = time.process_time()


def latency(conf, pairs, samples, arrivals, since):
    """Write a breaching measure to one metric at a time; seconds to its webhook."""
    alarms = alarm_store_mod.AlarmStore.from_conf(conf)
    archive = store_mod.ArchiveStore.from_conf(conf)
    deadline = time.time() + 300
    while any(a['evaluate_timestamp'] is None or a['evaluate_timestamp'] < since
              for a in alarms.evaluable()):
        if time.time() > deadline:
            raise RuntimeError('the evaluator did not evaluate every alarm in 300 s')
        time.sleep(0.5)  # its first tick: every alarm planned and evaluated
    step = max(1, len(pairs) // samples)
    found, missed = [], 0
    for metric_id, alarm_id in pairs[::step][:samples]:
        archive.add_measures({metric_id: (numpy.array([int(time.time() * 1e9)]),
                                          numpy.array([99.0]))})
        written = time.time()
        try:
            while True:
                got, arrived = arrivals.get(timeout=30)
                if got == alarm_id:
                    found.append(arrived - written)
                    break
        except Exception:  # queue.Empty: counted, never hidden
            missed += 1
    archive.close()
    alarms.close()
    found.sort()
    return {'samples': len(found), 'missed': missed,
            'p50_s': round(_percentile(found, 50), 3), 'p99_s': round(_percentile(found, 99), 3),
            'max_s': round(found[-1], 3) if found else None,
            'processing_delay_s': conf.archive.processing_delay,
            'feed_interval_s': conf.alarms.feed_interval}


def _percentile(ordered, q):
    if not ordered:
        return float('nan')
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure_latency(conf, pairs, samples, arrivals):
    """The processor and the evaluator in processes of their own, at their defaults but
    for the evaluator's tick (an hour: every webhook here comes from a push)."""
    for option, group in (('processing_delay', 'archive'), ('feed_interval', 'alarms')):
        conf.clear_override(option, group=group)
    stop = multiprocessing.Event()
    cpu = multiprocessing.Value('d', 0.0)
    since = evaluator_mod.utc(time.time())
    workers = [multiprocessing.Process(target=run_processor, args=(conf, stop)),
               multiprocessing.Process(target=run_evaluator, args=(conf, stop, cpu))]
    for worker in workers:
        worker.start()
    try:
        return latency(conf, pairs, samples, arrivals, since)
    finally:
        stop.set()
        for worker in workers:
            worker.join(60)


def baseline_aodh(args):
    try:
        from benchmarks import aodh_baseline
    except ImportError as exc:
        return {'skipped': 'benchmarks/aodh_baseline.py: %s' % exc}
    try:
        return aodh_baseline.run(alarms=args.alarms, metrics=args.alarms, granularity=60,
                                 latency_sample=min(args.samples, 50))
    except Exception as exc:  # the baseline's failure is reported, ours still stands
        logging.exception('the Aodh baseline failed')
        return {'failed': '%s: %s' % (type(exc).__name__, exc)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--alarms', type=int, default=10_000)
    parser.add_argument('--samples', type=int, default=200,
                        help='breaching measures timed, one at a time')
    parser.add_argument('--passes', type=int, default=3)
    parser.add_argument('--quick', action='store_true', help='1,000 alarms, 20 samples')
    parser.add_argument('--index-url')
    parser.add_argument('--storage-url')
    parser.add_argument('--baseline', choices=['aodh'])
    args = parser.parse_args(argv)
    if args.quick:
        args.alarms, args.samples, args.passes = 1000, 20, 1
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    report = {'benchmark': 'alarms', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'loadavg_before': _loadavg()}
    ports, arrivals = multiprocessing.Queue(), multiprocessing.Queue()
    stop_webhook = multiprocessing.Event()
    webhook = multiprocessing.Process(target=run_webhook, args=(ports, arrivals, stop_webhook))
    webhook.start()
    try:
        url = 'http://127.0.0.1:%d/scale-up' % ports.get(timeout=30)
        with tempfile.TemporaryDirectory() as data_dir:
            conf = make_conf(data_dir, args.index_url, args.storage_url)
            began = time.time()
            pairs = populate(conf, args.alarms, url)
            report['setup_s'] = round(time.time() - began, 1)
            report['evaluation'] = evaluation(conf, pairs, args.passes)
            report['latency'] = measure_latency(conf, pairs, args.samples, arrivals)
    finally:
        stop_webhook.set()
        webhook.join(10)
    report['loadavg_after'] = _loadavg()
    report['telewatch'] = {
        'evaluations_per_cpu_s': report['evaluation']['push_evaluations_per_cpu_s'],
        'tick_evaluations_per_cpu_s': report['evaluation']['tick_evaluations_per_cpu_s'],
        'latency_p99_s': report['latency']['p99_s']}
    if args.baseline == 'aodh':
        aodh = report['aodh_23'] = baseline_aodh(args)
        cycle = aodh.get('steady_cycle') or {}
        report['side_by_side'] = {
            'evaluations_per_cpu_s': {'telewatch': report['telewatch']['evaluations_per_cpu_s'],
                                      'aodh_23': cycle.get('evaluations_per_cpu_second')},
            'latency_p99_s': {'telewatch': report['telewatch']['latency_p99_s'],
                              'aodh_23': (aodh.get('write_to_webhook') or {}).get('p99_s')}}
    print(json.dumps(report, indent=2))
    return 0


def _loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[:3]


if __name__ == '__main__':
    sys.exit(main())
