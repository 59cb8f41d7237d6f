"""The JSON benchmarks/scale.py prints: its figures from what a run saw (scale.Run), and
the count of every stored point and the disk at the end."""

import os
import time

from benchmarks import bus as bus_bench
from benchmarks import scale_probes as probes


def lag_figures(tracer):
    first = tracer.lags.get(0, [])
    steady = [lag for number, lags in tracer.lags.items() if number for lag in lags]
    return {'first_round': dict(probes.percentiles(first), n=len(first)),
            'steady_rounds': dict(probes.percentiles(steady), n=len(steady),
                                  max=round(max(steady), 3) if steady else None),
            'per_round': {number: dict(probes.percentiles(lags), n=len(lags))
                          for number, lags in sorted(tracer.lags.items())},
            'not_seen_aggregated': tracer.pending(),
            'tracer_reads': tracer.reads,
            'tracer_read_seconds': round(tracer.read_seconds, 3)}


def cpu_figures(run, first, last, samples, producer_cpu):
    """CPU seconds, % of one core and us per sample of each process between two marks."""
    seconds = max(run.processes.times[last] - run.processes.times[first], 1e-9)
    cpu = run.processes.between(first, last)
    cpu['producers'] = round(producer_cpu, 3)
    figures = {name: {'cpu_seconds': value,
                      'percent_of_a_core': round(100 * value / seconds, 1),
                      'us_per_sample': round(1e6 * value / max(samples, 1), 2)}
               for name, value in cpu.items()}
    known = [v['us_per_sample'] for n, v in figures.items() if n != 'bench']
    figures['total_us_per_sample'] = round(sum(known), 2)
    figures['cpu_bound_samples_per_second'] = round(os.cpu_count() * 1e6 / max(sum(known),
                                                                               1e-9))
    return figures


def rounds_sent(reports):
    rounds = {}
    for report in reports:
        entry = rounds.setdefault(report['round'], {'samples': 0, 'send_seconds': 0,
                                                    'late': 0, 'producer_cpu_seconds': 0})
        entry['samples'] += report['samples']
        entry['send_seconds'] = max(entry['send_seconds'], report['seconds'])
        entry['late'] = max(entry['late'], report['late'])
        entry['producer_cpu_seconds'] = round(entry['producer_cpu_seconds']
                                              + report['cpu_seconds'], 3)
    return rounds


def report(args, run, t0, t1, health):
    rounds = rounds_sent(run.reports)
    first = rounds.get(0, {}).get('samples', 0)
    steady = sum(r['samples'] for n, r in rounds.items() if n)
    received, archived = run.received()
    steady_received = received - run.received_first[0]
    seconds = run.times['drained'] - t1
    processors = health.get('processors', {})
    # What the agents made durable but for what still waits: a processor's own report goes
    # stale while one of its passes takes longer than a minute (a backlog).
    aggregated = archived - run.pending_end
    cpu = run.processes.between('steady', 'drained')
    agents = cpu['agent-a'] + cpu['agent-b']
    first_cpu = run.processes.between('start', 'first_sight')
    return {
        'benchmark': 'scale', 'command': ' '.join(['python', 'benchmarks/scale.py'] + args.argv),
        'telewatch_commit': bus_bench._commit(), 'cpus': os.cpu_count(),
        'loadavg_at_end': [round(x, 2) for x in os.getloadavg()],
        'instances': args.instances, 'steady_rounds': args.minutes, 'interval': args.interval,
        'producers': args.producers, 'notification_agents': 2, 'archive_processors': 1,
        'alarms': args.alarms,
        'first_sight': {
            'samples': first, 'aggregated_in_time': run.times['first_sight'],
            'seconds_to_aggregated': round(run.times['first_sight_done'] - t0, 3),
            'ms_per_instance': round(1e3 * (run.times['first_sight_done'] - t0)
                                     / args.instances, 3),
            'cpu_seconds': first_cpu},
        'offered_samples_per_second': round(args.instances * 10 / args.interval),
        'samples_sent': first + steady, 'samples_received': received,
        'measures_archived_by_agents': archived, 'measures_aggregated': aggregated,
        # What was still on its way when the run stopped (not drained within --drain).
        'in_flight_at_end': {'samples_not_received': first + steady - received,
                             'measures_waiting_in_store': run.pending_end},
        'steady': {
            'samples_sent': steady, 'samples_received': steady_received,
            'aggregated_in_time': run.times['drained_in_time'],
            'seconds_first_send_to_drained': round(seconds, 3),
            'sustained_samples_per_second': round(steady_received / max(
                run.times.get('last_received', t1) - t1, 1e-9)),
            'metric_updates': aggregated - run.archived_first,
            'processor_metric_updates_per_cpu_second': round(
                (aggregated - run.archived_first) / max(cpu['processor'], 1e-9)),
            'agent_samples_per_cpu_second': round(steady_received / max(agents, 1e-9)),
            'cpu': cpu_figures(run, 'steady', 'drained', steady, sum(
                r['producer_cpu_seconds'] for n, r in rounds.items() if n))},
        'rounds_sent': rounds, 'backlog_at_round_start': run.backlog,
        'lag_seconds': lag_figures(run.tracer),
        'peak_rss_mb': {n: round(v / 2**20, 1) for n, v in run.processes.peak_rss.items()},
        'processor_health': {n: {k: p.get(k) for k in ('state', 'measures_processed')}
                             for n, p in processors.items()},
    }


def directory_bytes(path):
    total = files = 0
    for root, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
                files += 1
            except OSError:
                pass
    return total, files


def stored_and_disk(args, store, fleet_ids, stamps, directory, result):
    """Every stored point counted against what was sent; disk and RSS per metric."""
    from telewatch.archive import resource_ids
    ids = fleet_ids + [resource_ids.resource_uuid(i + '-vda', 'telewatch') for i in fleet_ids]
    begin = time.perf_counter()
    buckets = len({probes.bucket_ns(stamp) for stamp in stamps})
    expected, stored, metrics = probes.count_stored(store, ids, buckets,
                                                    probes.bucket_ns(min(stamps)))
    archive = directory / 'data' / 'archive'
    series_bytes, series_files = directory_bytes(archive / 'series' / 'series')
    index_bytes = sum(p.stat().st_size for p in archive.glob('index.sqlite*'))
    daemons = ('processor', 'agent-a', 'agent-b', 'evaluator')
    rss = sum(result['peak_rss_mb'].get(n, 0) for n in daemons)
    return {
        'points_expected': expected, 'points_stored': stored, 'lost': expected - stored,
        'count_seconds': round(time.perf_counter() - begin, 3),
        'active_metrics': metrics,
        'disk': {'series_bytes': series_bytes, 'series_files': series_files,
                 'index_bytes': index_bytes,
                 'bytes_per_metric': round((series_bytes + index_bytes) / max(metrics, 1))},
        'rss_kb_per_active_metric': round(rss * 1024 / max(metrics, 1), 2),
    }
