"""The HTTP scenarios of benchmarks/api.py, run unchanged against telewatch-api and a real
Gnocchi: metric create/show/delete, measures POSTed in batches, reads of 1,000 aggregated
points and an aggregate of 10 metrics, resource list and search over 1,000 resources,
measures written through InfluxDB's line protocol and Prometheus' remote write.

One client, one request at a time, over ``http.client`` (lighter than requests, so the
client adds little to the latencies), authenticated as gnocchi-basic ``admin`` (Gnocchi's
``auth_mode = basic``; telewatch's noauth accepts the same header). Unless a scenario says
otherwise each request opens a new connection: keep-alive is measured apart, since
Gnocchi's uwsgi stalls kept-alive requests on delayed ACKs (~40 ms).
"""

import http.client
import json
import multiprocessing
import statistics
import time
import urllib.parse

import cramjam

from telewatch.api.controllers import prometheus

HEADERS = {'Authorization': 'basic YWRtaW46', 'Content-Type': 'application/json'}
START = 1_700_000_040  # epoch seconds, on a minute
METHODS = ['mean', 'min', 'max', 'sum', 'count', 'last']


class Client:
    """Requests to one API: a new connection for each (``keep_alive`` False) or one
    connection for all, if the server keeps it open (``kept_alive`` counts how often)."""

    def __init__(self, base, keep_alive=False):
        parsed = urllib.parse.urlsplit(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.keep_alive = keep_alive
        self.kept_alive = 0
        self._connection = None

    def request(self, method, path, body=None, headers=None):
        """``(status, body bytes)``; raises RuntimeError on a status >= 400. ``headers``
        replace the default ones of the same names."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        connection = self._connection
        if connection is None or connection.sock is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
        elif self.keep_alive:
            self.kept_alive += 1
        connection.request(method, path, body=body, headers=dict(HEADERS, **(headers or {})))
        response = connection.getresponse()
        payload = response.read()
        if self.keep_alive and not response.will_close:
            self._connection = connection
        else:
            connection.close()
            self._connection = None
        if response.status >= 400:
            raise RuntimeError('%s %s: %d %s' % (method, path, response.status, payload[:300]))
        return response.status, payload

    def json(self, method, path, body=None):
        return json.loads(self.request(method, path, body)[1] or b'null')


def latencies(samples):
    """Median, p99, min and max in milliseconds of durations in seconds."""
    ordered = sorted(samples)
    p99 = (statistics.quantiles(ordered, n=100, method='inclusive')[98]
           if len(ordered) >= 2 else ordered[0])
    return {'n': len(ordered), 'median_ms': round(statistics.median(ordered) * 1e3, 2),
            'p99_ms': round(p99 * 1e3, 2), 'min_ms': round(ordered[0] * 1e3, 2),
            'max_ms': round(ordered[-1] * 1e3, 2)}


def timed(count, call):
    samples = []
    for _ in range(count):
        begin = time.perf_counter()
        call()
        samples.append(time.perf_counter() - begin)
    return samples


def rate(count, seconds):
    return round(count / seconds, 1)


def create_policy(client, name):
    client.request('POST', '/v1/archive_policy', {
        'name': name, 'back_window': 0, 'aggregation_methods': METHODS,
        'definition': [{'granularity': '60s', 'points': 1440}]})


def create_metrics(client, policy, count, prefix):
    return [client.json('POST', '/v1/metric', {
        'archive_policy_name': policy, 'name': '%s-%d' % (prefix, i)})['id']
        for i in range(count)]


def delete_metrics(client, metric_ids):
    for metric_id in metric_ids:
        client.request('DELETE', '/v1/metric/%s' % metric_id)


def metric_crud(client, policy, count):
    """Metrics created, shown, deleted per second (sequentially)."""
    begin = time.perf_counter()
    ids = create_metrics(client, policy, count, 'crud')
    created = time.perf_counter() - begin
    begin = time.perf_counter()
    for metric_id in ids:
        client.request('GET', '/v1/metric/%s' % metric_id)
    shown = time.perf_counter() - begin
    begin = time.perf_counter()
    delete_metrics(client, ids)
    deleted = time.perf_counter() - begin
    return {'metrics': count, 'create_per_s': rate(count, created),
            'show_per_s': rate(count, shown), 'delete_per_s': rate(count, deleted)}


def measures_body(first, count):
    """``count`` measures a second apart from ``START + first`` s, as JSON bytes."""
    return json.dumps([{'timestamp': START + first + i, 'value': float((first + i) % 97)}
                       for i in range(count)]).encode()


def post_measures(client, metric_ids, batch, requests):
    """``POST /v1/metric/<id>/measures`` of ``batch`` measures, ``requests`` times, the
    metrics in turn (bodies encoded beforehand)."""
    bodies = [('/v1/metric/%s/measures' % metric_ids[i % len(metric_ids)],
               measures_body((i // len(metric_ids)) * batch, batch)) for i in range(requests)]
    begin = time.perf_counter()
    for path, body in bodies:
        client.request('POST', path, body)
    elapsed = time.perf_counter() - begin
    return {'measures_per_request': batch, 'requests': requests,
            'requests_per_s': rate(requests, elapsed),
            'measures_per_s': round(requests * batch / elapsed)}


def wait_processed(client, timeout):
    """Seconds until the status reports no measure left to process, or None after
    ``timeout`` s."""
    begin = time.perf_counter()
    while time.perf_counter() - begin < timeout:
        status = client.json('GET', '/v1/status?details=False')
        if not status['storage']['summary']['measures']:
            return round(time.perf_counter() - begin, 2)
        time.sleep(0.1)
    return None


def fill_for_reads(client, metric_ids, points, timeout):
    """``points`` measures a minute apart in each metric (one batch call), waited for until
    each metric shows ``points`` aggregated points at 60 s; the seconds that took."""
    stamps = [START + 60 * i for i in range(points)]
    client.request('POST', '/v1/batch/metrics/measures', {
        m: [{'timestamp': t, 'value': float(i % 100)} for i, t in enumerate(stamps)]
        for m in metric_ids})
    begin = time.perf_counter()
    for metric_id in metric_ids:
        while len(client.json('GET', '/v1/metric/%s/measures?granularity=60'
                                     % metric_id)) < points:
            if time.perf_counter() - begin > timeout:
                raise RuntimeError('metric %s not aggregated after %s s' % (metric_id, timeout))
            time.sleep(0.1)
    return round(time.perf_counter() - begin, 2)


def _reader(base, path, start, stop_at, counts):
    client = Client(base)
    start.wait()
    done = 0
    while time.perf_counter() < stop_at.value:
        client.request('GET', path)
        done += 1
    counts.put(done)


def concurrent_reads(base, path, processes, seconds):
    """Reads per second of ``path`` by ``processes`` client processes, each reading one
    request at a time (new connections) for ``seconds``."""
    context = multiprocessing.get_context('fork')
    start, counts = context.Event(), context.Queue()
    stop_at = context.Value('d', 0.0)
    workers = [context.Process(target=_reader, args=(base, path, start, stop_at, counts))
               for _ in range(processes)]
    for worker in workers:
        worker.start()
    stop_at.value = time.perf_counter() + seconds
    start.set()
    total = sum(counts.get(timeout=seconds + 120) for _ in workers)
    for worker in workers:
        worker.join()
    return {'client_processes': processes, 'seconds': seconds, 'reads': total,
            'reads_per_s': rate(total, seconds)}


def reads(base, metric_ids, samples, seconds):
    """Latency of one metric's 1,000 points (new connection, and kept alive), of the mean
    of 10 metrics (``/v1/aggregates``), and reads/s with 2 client processes."""
    fresh, kept = Client(base), Client(base, keep_alive=True)
    path = '/v1/metric/%s/measures?granularity=60' % metric_ids[0]
    points = len(fresh.json('GET', path))
    operations = '(aggregate mean (metric %s))' % ' '.join(
        '(%s mean)' % m for m in metric_ids)
    body = json.dumps({'operations': operations}).encode()
    aggregated = fresh.json('POST', '/v1/aggregates?granularity=60', body)
    aggregate_points = len(aggregated['measures']['aggregated'])
    result = {
        'points': points,
        'read_new_connection': latencies(timed(samples, lambda: fresh.request('GET', path))),
        'read_keep_alive': latencies(timed(samples, lambda: kept.request('GET', path))),
        'aggregate_metrics': len(metric_ids), 'aggregate_points': aggregate_points,
        'aggregate_new_connection': latencies(timed(samples, lambda: fresh.request(
            'POST', '/v1/aggregates?granularity=60', body))),
        'concurrent_reads': concurrent_reads(base, path, 2, seconds)}
    result['read_keep_alive']['connections_reused'] = kept.kept_alive
    return result


def resources(client, resource_type, prefix, count, samples):
    """Resources created per second, then the latency of listing all ``count`` of them and
    of a search that finds one in 20 (by a string attribute)."""
    client.request('POST', '/v1/resource_type', {'name': resource_type, 'attributes': {
        'host': {'type': 'string', 'required': False},
        'vcpus': {'type': 'number', 'required': False}}})
    path = '/v1/resource/%s' % resource_type
    bodies = [json.dumps({'id': '%s-%d' % (prefix, i), 'host': 'node-%d' % (i % 20),
                          'vcpus': 1 + i % 8}).encode() for i in range(count)]
    begin = time.perf_counter()
    for body in bodies:
        client.request('POST', path, body)
    created = time.perf_counter() - begin
    listed = len(client.json('GET', path + '?limit=%d' % count))
    search_path = '/v1/search/resource/%s' % resource_type
    search = json.dumps({'=': {'host': 'node-3'}}).encode()
    found = len(client.json('POST', search_path, search))
    return {
        'resources': count, 'create_per_s': rate(count, created),
        'listed': listed, 'list': latencies(timed(samples, lambda: client.request(
            'GET', path + '?limit=%d' % count))),
        'found': found, 'search': latencies(timed(samples, lambda: client.request(
            'POST', search_path, search)))}


def delete_resources(client, resource_type, prefix):
    """Delete the resources ``prefix``-* and their type ``resource_type``; how many were
    left behind as generic resources by the batch delete (none but for Gnocchi 4.7.1,
    whose batch delete over a custom type removes only the type's attributes, then
    refuses to delete the type: "still in use")."""
    query = {'like': {'original_resource_id': prefix + '-%'}}
    client.request('DELETE', '/v1/resource/%s' % resource_type, query)
    left = client.json('DELETE', '/v1/resource/generic', query)['deleted']
    client.request('DELETE', '/v1/resource_type/%s' % resource_type)
    return left


# What Telegraf's influxdb output and Prometheus' remote_write send.
INFLUXDB_HEADERS = {'Content-Type': 'text/plain; charset=utf-8'}
PROMETHEUS_HEADERS = {'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'snappy',
                      'X-Prometheus-Remote-Write-Version': '0.1.0'}
FIELDS = ('usage_user', 'usage_system', 'usage_idle', 'usage_iowait', 'usage_steal')


def influxdb_body(prefix, hosts, stamps, first):
    """Line protocol: ``stamps`` points a second apart from ``START + first`` s for each of
    ``hosts`` hosts, each line with the 5 fields of Telegraf's cpu input."""
    lines = []
    for i in range(stamps):
        stamp = (START + first + i) * 10**9
        for host in range(hosts):
            fields = ','.join('%s=%d.5' % (f, (i + n) % 100) for n, f in enumerate(FIELDS))
            lines.append('cpu,cpu=cpu-total,host=%s-%d %s %d' % (prefix, host, fields, stamp))
    return '\n'.join(lines).encode()


def prometheus_body(job, instances, stamps, first):
    """A snappy-compressed WriteRequest: for each of ``instances`` instances, 5 series of
    ``stamps`` samples a second apart from ``START + first`` s."""
    request = prometheus.WriteRequest()
    for instance in range(instances):
        for n, name in enumerate(FIELDS):
            series = request.timeseries.add()
            for label, value in (('__name__', 'node_cpu_' + name), ('job', job),
                                 ('instance', 'host-%d:9100' % instance)):
                series.labels.add(name=label, value=value)
            for i in range(stamps):
                series.samples.add(value=float((i + n) % 100),
                                   timestamp=(START + first + i) * 1000)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def ingest(client, path, bodies, headers, per_request):
    """Measures per second through an ingest endpoint: the first body (it makes the
    resources and metrics) apart, then the others one at a time."""
    begin = time.perf_counter()
    client.request('POST', path, bodies[0], headers)
    first = time.perf_counter() - begin
    begin = time.perf_counter()
    for body in bodies[1:]:
        client.request('POST', path, body, headers)
    elapsed = time.perf_counter() - begin
    return {'measures_per_request': per_request, 'requests': len(bodies) - 1,
            'first_request_s': round(first, 3),
            'measures_per_s': round((len(bodies) - 1) * per_request / elapsed)}
