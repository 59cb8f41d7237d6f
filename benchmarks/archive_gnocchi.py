"""The shapes of benchmarks/archive.py through a real Gnocchi's REST API, for a side-by-side
baseline (``archive.py --baseline gnocchi``; start one with ``tools/services/gnocchi start``).

Same policy, same measures; the writer posts each call as one batch
(``POST /v1/batch/metrics/measures``); "aggregated" is when Gnocchi's status reports no
measure left to process. Reads are of one metric's points over HTTP, a new connection per
request (its uwsgi stalls keep-alive requests ~40 ms on delayed ACKs).
"""

import datetime
import statistics
import time
import uuid

import numpy
import requests

HEADERS = {'Authorization': 'basic YWRtaW46',  # gnocchi-basic, user admin
           'Content-Type': 'application/json'}
START = datetime.datetime(2023, 11, 14, 22, 14, tzinfo=datetime.timezone.utc)


def _request(method, url, **kwargs):
    response = requests.request(method, url, headers=HEADERS, timeout=300, **kwargs)
    if response.status_code >= 400:
        raise RuntimeError('%s %s: %d %s' % (method, url, response.status_code,
                                             response.text[:300]))
    return response


def _policy(base, name):
    _request('POST', base + '/v1/archive_policy', json={
        'name': name, 'back_window': 0,
        'aggregation_methods': ['mean', 'min', 'max', 'sum', 'count', 'last'],
        'definition': [{'granularity': '60s', 'points': 1440}]})


def _wait_processed(base, deadline=900):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        status = _request('GET', base + '/v1/status?details=False').json()
        if not status['storage']['summary']['measures']:
            return True
        time.sleep(0.05)
    return False


def run_shape(base, name, metrics, per_call, calls):
    policy = 'bench-%s' % uuid.uuid4().hex[:8]
    _policy(base, policy)
    ids = [_request('POST', base + '/v1/metric', json={'archive_policy_name': policy})
           .json()['id'] for _ in range(metrics)]
    rng = numpy.random.default_rng(42)
    stamps = [(START + datetime.timedelta(minutes=i)).isoformat()
              for i in range(per_call * calls)]
    bodies = []
    for call in range(calls):
        window = stamps[call * per_call:(call + 1) * per_call]
        bodies.append({m: [{'timestamp': t, 'value': float(v)}
                           for t, v in zip(window, rng.normal(100.0, 15.0, per_call))]
                       for m in ids})
    total = metrics * per_call * calls
    begin = time.perf_counter()
    for body in bodies:
        _request('POST', base + '/v1/batch/metrics/measures', json=body)
    written = time.perf_counter() - begin
    processed = _wait_processed(base)
    elapsed = time.perf_counter() - begin
    counted = 0
    for metric_id in ids:
        rows = _request('GET', base + '/v1/metric/%s/measures?aggregation=count'
                        '&granularity=60' % metric_id).json()
        counted += int(sum(r[2] for r in rows))
    reads = []
    for _ in range(20):
        t0 = time.perf_counter()
        rows = _request('GET', base + '/v1/metric/%s/measures?granularity=60' % ids[0]).json()
        reads.append(time.perf_counter() - t0)
    retained = metrics * min(per_call * calls, 1440)
    return {'shape': name, 'metrics': metrics, 'measures_per_metric_per_call': per_call,
            'measures': total, 'seconds_to_aggregated': round(elapsed, 3),
            'measures_per_s': round(total / elapsed), 'all_processed': processed,
            'writer_seconds': round(written, 3), 'writes_per_s': round(total / written),
            'read_points': len(rows), 'read_ms_median': round(statistics.median(reads) * 1e3, 3),
            'retained': retained, 'lost': retained - counted}


def run(base, shapes, quick=False):
    version = _request('GET', base + '/').json().get('build')
    results = []
    for name, (metrics, per_call, calls) in shapes.items():
        calls = max(1, calls // 10) if quick else calls
        results.append(run_shape(base, name, metrics, per_call, calls))
    return {'url': base, 'build': version, 'results': results}


def _metricd_cpu():
    """CPU seconds of the gnocchi-metricd processes this user sees (None: none)."""
    import psutil
    total, seen = 0.0, False
    for process in psutil.process_iter(['cmdline']):
        if any('gnocchi-metricd' in part for part in process.info['cmdline'] or ()):
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            total, seen = total + times.user + times.system, True
    return total if seen else None


def _traced(base, metric_ids, stamp, begin, deadline=600):
    """Seconds from ``begin`` (the write) until each of these metrics shows its point at
    ``stamp`` (polled; p50/p90/max over them)."""
    waiting, seen = set(metric_ids), []
    end = time.monotonic() + deadline
    while waiting and time.monotonic() < end:
        for metric_id in list(waiting):
            rows = _request('GET', base + '/v1/metric/%s/measures?granularity=60&start=%s'
                            % (metric_id, stamp.replace('+', '%2B'))).json()
            if any(row[0] == stamp for row in rows):
                waiting.discard(metric_id)
                seen.append(time.perf_counter() - begin)
        time.sleep(0.2)
    seen.sort()
    pick = (lambda q: round(seen[min(len(seen) - 1, int(q * len(seen)))], 3)) if seen else (
        lambda q: None)
    return {'p50': pick(0.5), 'p90': pick(0.9), 'max': pick(1.0), 'n': len(seen),
            'never_seen': len(waiting)}


def first_write_to_aggregated(base, metrics=5000, rounds=3, per_resource=10):
    """benchmarks/scale.py's regime on Gnocchi: one new measure for each of ``metrics``
    metrics a round (one batch POST, stamped with the round's time), and the seconds from
    the write until Gnocchi reports nothing left to process; a sample of metrics is read
    back for the round's point."""
    version = _request('GET', base + '/').json().get('build')
    policy = 'scale-%s' % uuid.uuid4().hex[:8]
    _request('POST', base + '/v1/archive_policy', json={
        'name': policy, 'back_window': 0, 'aggregation_methods': ['mean'],
        'definition': [{'granularity': '60s', 'points': 1440}]})
    begin, ids = time.perf_counter(), []
    for _ in range(-(-metrics // per_resource)):
        body = {'id': str(uuid.uuid4()), 'metrics': {
            'm%d' % n: {'archive_policy_name': policy} for n in range(per_resource)}}
        ids += _request('POST', base + '/v1/resource/generic', json=body).json()[
            'metrics'].values()
    ids = ids[:metrics]
    created = time.perf_counter() - begin
    results, rng = [], numpy.random.default_rng(7)
    now = time.time() // 60 * 60
    for number in range(rounds):
        stamp = datetime.datetime.fromtimestamp(now + 60 * number, datetime.timezone.utc)
        body = {m: [{'timestamp': stamp.isoformat(), 'value': float(v)}]
                for m, v in zip(ids, rng.normal(50, 10, len(ids)))}
        cpu, begin = _metricd_cpu(), time.perf_counter()
        _request('POST', base + '/v1/batch/metrics/measures', json=body)
        written = time.perf_counter() - begin
        lags = _traced(base, ids[::max(1, len(ids) // 50)], stamp.isoformat(), begin)
        processed = _wait_processed(base)
        seconds = time.perf_counter() - begin
        after = _metricd_cpu()
        results.append({'round': number, 'write_seconds': round(written, 3),
                        'first_write_to_aggregated_seconds': lags,
                        'until_status_reports_none_left_seconds': round(seconds, 3),
                        'all_processed': processed,
                        'metricd_cpu_seconds': None if None in (cpu, after)
                        else round(after - cpu, 3),
                        'metricd_cpu_ms_per_metric_update': None if None in (cpu, after)
                        else round(1e3 * (after - cpu) / len(ids), 3)})
    return {'url': base, 'build': version, 'metrics': len(ids),
            'create_seconds': round(created, 3), 'rounds': results,
            'note': '/v1/status counts every measure of this shared Gnocchi: other users '
                    'of it during the run lengthen these times'}
