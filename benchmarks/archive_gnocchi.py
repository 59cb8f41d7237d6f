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
