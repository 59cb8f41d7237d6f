"""The CloudWatch API over HTTP: a telewatch-cloudwatch (gunicorn, one sync worker, access
keys file, the embedded store, one telewatch-archive-processor) and, in the same run on the
same store, a telewatch-api (Gnocchi's REST API, noauth, one worker) given the same data.

Prints one JSON document. Requests are signed (SigV4, botocore's signer and its json
serialiser, the protocol current boto3 speaks) before the clock starts, so that what is
timed is the server; each request opens a new connection (gunicorn's sync workers close
them). Scenarios:

- ``put``: PutMetricData of 20 datapoints a request over 100 metrics, from 2 client
  processes, through the one worker: datapoints per second (target >= 16,700, a million a
  minute); the Gnocchi API the same measures (POST /v1/metric/<id>/measures, 20 each);
- ``get_metric_statistics``: one metric's 1,440 one-minute points (24 hours), median and
  p99 latency (target median <= 5 ms); Gnocchi: GET /v1/metric/<id>/measures of the same;
- ``get_metric_data``: 100 metrics x 1,440 points in one request (target median <= 50 ms);
  Gnocchi: POST /v1/aggregates over the same 100 metrics.

Each figure has the server's CPU seconds beside it (its gunicorn master and worker, from
/proc): on a loaded machine the wall clock counts the waits for a core, the CPU does not;
``datapoints_per_server_cpu_s`` is what one core would take.

    python benchmarks/cloudwatch.py [--quick]
"""

import argparse
import contextlib
import datetime
import http.client
import json
import multiprocessing
import os
import pathlib
import platform
import socket
import subprocess
import sys
import tempfile
import time

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import loaders
from botocore import model as botocore_model
from botocore import serialize

REPO = pathlib.Path(__file__).resolve().parents[1]
SIZES = {'full': {'put_requests': 4000, 'read_samples': 100, 'gmd_samples': 20},
         'quick': {'put_requests': 200, 'read_samples': 10, 'gmd_samples': 3}}
TARGETS = {'put_datapoints_per_s': 16700, 'gms_1440_median_ms': 5.0,
           'gmd_100x1440_median_ms': 50.0}
METRICS, POINTS, PER_PUT, CLIENTS = 100, 1440, 20, 2
ACCESS, SECRET = 'AKIDBENCHMARK', 'bench-secret-key'
NAMESPACE = 'Bench'
# gnocchi-noauth: the same project as the access key's
API_HEADERS = {'Content-Type': 'application/json', 'X-User-Id': 'bench-user',
               'X-Project-Id': 'bench-project'}


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def servers():
    """``(cloudwatch port, api port)`` of a telewatch-cloudwatch and a telewatch-api on one
    fresh embedded store, with its processor."""
    with tempfile.TemporaryDirectory(prefix='tw-bench-cw-') as data:
        ports = free_port(), free_port()
        keys = pathlib.Path(data) / 'keys'
        keys.write_text('[bench]\naws_access_key_id = %s\naws_secret_access_key = %s\n'
                        'project_id = bench-project\nuser_id = bench-user\n' % (ACCESS, SECRET))
        config = pathlib.Path(data) / 'telewatch.conf'
        config.write_text(
            '[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\nport = %d\nworkers = 1\n'
            '[cloudwatch]\nauth_strategy = keys_file\nkeys_file = %s\nport = %d\nworkers = 1\n'
            'host = 127.0.0.1\n' % (data, ports[1], keys, ports[0]))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO)] + os.environ.get('PYTHONPATH', '').split(os.pathsep)))
        command = [sys.executable, '-m']
        subprocess.run(command + ['telewatch.cmd.upgrade', '--config-file', str(config)],
                       check=True, capture_output=True, timeout=300, env=env)
        log_path = pathlib.Path(data) / 'services.log'
        with open(log_path, 'w') as log:
            processes = [subprocess.Popen(command + [module, '--config-file', str(config)],
                                          stdout=subprocess.DEVNULL, stderr=log, env=env)
                         for module in ('telewatch.cmd.cloudwatch', 'telewatch.cmd.api',
                                        'telewatch.cmd.archive_processor')]
            try:
                for port, process in zip(ports, processes):
                    _wait_until_up(port, process, log_path)
                yield ports, [p.pid for p in processes[:2]]
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(60)


def _wait_until_up(port, process, log_path):
    deadline = time.monotonic() + 120
    while True:
        try:
            send(port, ('GET', '/', {}, b''))
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('a server did not start:\n' + log_path.read_text())
            time.sleep(0.2)


_TICK = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    """User + system CPU seconds of a process and its children (gunicorn's workers)."""
    total = 0.0
    try:
        with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
            children = [int(c) for c in f.read().split()]
        for each in [pid] + children:
            with open('/proc/%d/stat' % each) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
    except OSError:
        return float('nan')
    return total


class ServerClock:
    """CPU seconds a server (its master and workers) spent between start and stop."""

    def __init__(self, pid):
        self.pid = pid

    def __enter__(self):
        self.begin = cpu_seconds(self.pid)
        return self

    def __exit__(self, *exc_info):
        self.seconds = cpu_seconds(self.pid) - self.begin


def send(port, request):
    """``(status, body)`` of one prepared request ``(method, path, headers, body)`` on a new
    connection."""
    method, path, headers, body = request
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=300)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Signer:
    """Requests of the ``monitoring`` service in the json protocol, signed with SigV4."""

    def __init__(self, port):
        self.url = 'http://127.0.0.1:%d' % port
        definition = loaders.Loader().load_service_model('cloudwatch', 'service-2')
        definition = json.loads(json.dumps(definition))
        definition['metadata']['protocol'] = 'json'
        self.model = botocore_model.ServiceModel(definition, 'cloudwatch')
        self.serializer = serialize.create_serializer('json', include_validation=False)
        self.signer = botocore_auth.SigV4Auth(
            botocore_credentials.Credentials(ACCESS, SECRET), 'monitoring', 'RegionOne')

    def __call__(self, operation, params):
        body = self.serializer.serialize_to_request(
            params, self.model.operation_model(operation))
        request = awsrequest.AWSRequest(method='POST', url=self.url + body['url_path'],
                                        data=body['body'], headers=body['headers'])
        self.signer.add_auth(request)
        prepared = request.prepare()
        return ('POST', body['url_path'], dict(prepared.headers), prepared.body)


def _minute(now):
    return now.replace(second=0, microsecond=0)


def _sender(args):
    port, requests = args
    failures = 0
    for request in requests:
        status, _ = send(port, request)
        failures += not 200 <= status < 300
    return failures


def _in_parallel(port, requests):
    """Seconds to send ``requests`` from CLIENTS processes, and how many failed."""
    shares = [(port, requests[i::CLIENTS]) for i in range(CLIENTS)]
    with multiprocessing.get_context('fork').Pool(CLIENTS) as pool:
        begin = time.perf_counter()
        failures = sum(pool.map(_sender, shares))
        return time.perf_counter() - begin, failures


def put_scenario(sign, cw_port, api_port, metric_ids, size, pids):
    now = datetime.datetime.now(datetime.timezone.utc)
    puts = []
    for i in range(size['put_requests']):
        data = [{'MetricName': 'put-%d' % ((i * PER_PUT + j) % METRICS), 'Value': float(j),
                 'Timestamp': now - datetime.timedelta(milliseconds=i)} for j in range(PER_PUT)]
        puts.append(sign('PutMetricData', {'Namespace': NAMESPACE, 'MetricData': data}))
    with ServerClock(pids[0]) as cw_cpu:
        seconds, failures = _in_parallel(cw_port, puts)
    points = size['put_requests'] * PER_PUT
    stamp = now.timestamp()
    posts = [('POST', '/v1/metric/%s/measures' % metric_ids[i % METRICS],
              API_HEADERS,
              json.dumps([{'timestamp': stamp - i / 1000 + j / 1e6, 'value': float(j)}
                          for j in range(PER_PUT)]).encode())
             for i in range(size['put_requests'])]
    with ServerClock(pids[1]) as api_cpu:
        api_seconds, api_failures = _in_parallel(api_port, posts)
    return {'datapoints': points, 'datapoints_per_request': PER_PUT, 'clients': CLIENTS,
            'cloudwatch': _put_figures(points, seconds, cw_cpu.seconds, failures),
            'gnocchi_api': _put_figures(points, api_seconds, api_cpu.seconds, api_failures)}


def _put_figures(points, seconds, cpu, failures):
    return {'datapoints_per_s': round(points / seconds), 'server_cpu_s': round(cpu, 2),
            'datapoints_per_server_cpu_s': round(points / cpu) if cpu else None,
            'failed': failures}


def fill(sign, cw_port, api_port, metric_ids, start):
    """METRICS metrics of POINTS one-minute points through both APIs."""
    stamps = [start + datetime.timedelta(minutes=k) for k in range(POINTS)]
    for m in range(METRICS):
        for first in range(0, POINTS, 1000):
            data = [{'MetricName': 'read-%d' % m, 'Value': float(k % 97), 'Timestamp': t}
                    for k, t in enumerate(stamps[first:first + 1000], first)]
            status, body = send(cw_port, sign('PutMetricData', {'Namespace': NAMESPACE,
                                                                'MetricData': data}))
            assert status == 200, body
        body = json.dumps([{'timestamp': t.isoformat(), 'value': float(k % 97)}
                           for k, t in enumerate(stamps)]).encode()
        status, answer = send(api_port, ('POST', '/v1/metric/%s/measures' % metric_ids[m],
                                         API_HEADERS, body))
        assert status == 202, answer


def _latencies(port, pid, request, samples, check):
    status, body = send(port, request)
    assert status == 200 and check(body), body[:300]
    times = []
    with ServerClock(pid) as clock:
        for _ in range(samples):
            begin = time.perf_counter()
            status, _ = send(port, request)
            times.append((time.perf_counter() - begin) * 1000)
            assert status == 200
    times.sort()
    return {'median_ms': round(times[len(times) // 2], 2),
            'p99_ms': round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            'server_cpu_ms_per_request': round(clock.seconds * 1000 / samples, 2),
            'samples': samples}


def read_scenarios(sign, cw_port, api_port, metric_ids, start, size, pids):
    end = start + datetime.timedelta(minutes=POINTS)
    window = {'StartTime': start, 'EndTime': end}
    gms = sign('GetMetricStatistics', dict(window, Namespace=NAMESPACE, MetricName='read-0',
                                           Period=60, Statistics=['Average']))
    queries = [{'Id': 'm%d' % m, 'MetricStat': {
        'Metric': {'Namespace': NAMESPACE, 'MetricName': 'read-%d' % m}, 'Period': 60,
        'Stat': 'Average'}} for m in range(METRICS)]
    gmd = sign('GetMetricData', dict(window, MetricDataQueries=queries))
    span = 'start=%s&stop=%s' % (start.isoformat().replace('+00:00', 'Z'),
                                 end.isoformat().replace('+00:00', 'Z'))
    one = ('GET', '/v1/metric/%s/measures?granularity=60&refresh=true&%s' % (
        metric_ids[0], span), API_HEADERS, b'')
    many = ('POST', '/v1/aggregates?granularity=60&%s' % span,
            API_HEADERS,
            json.dumps({'operations': ['metric'] + [[i, 'mean'] for i in metric_ids]}).encode())
    return {
        'get_metric_statistics': {
            'cloudwatch': _latencies(cw_port, pids[0], gms, size['read_samples'], lambda b: len(
                json.loads(b)['Datapoints']) == POINTS),
            'gnocchi_api': _latencies(api_port, pids[1], one, size['read_samples'],
                                      lambda b: len(json.loads(b)) == POINTS)},
        'get_metric_data': {
            # 144,000 points: the first 100,800 (AWS's most per call) and a NextToken
            'cloudwatch': _latencies(cw_port, pids[0], gmd, size['gmd_samples'], lambda b: sum(
                len(r['Values']) for r in json.loads(b)['MetricDataResults']) == min(
                    METRICS * POINTS, 100800)),
            'gnocchi_api': _latencies(api_port, pids[1], many, size['gmd_samples'], lambda b: len(
                json.loads(b)['measures']) == METRICS)},
    }


def create_metrics(api_port, prefix):
    ids = []
    for m in range(METRICS):
        status, body = send(api_port, ('POST', '/v1/metric', API_HEADERS, json.dumps({
                'name': '%s-%d' % (prefix, m),
                'archive_policy_name': 'cloudwatch-standard'}).encode()))
        assert status == 201, body
        ids.append(json.loads(body)['id'])
    return ids


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='a smoke run of every scenario')
    args = parser.parse_args(argv)
    size = SIZES['quick' if args.quick else 'full']
    report = {'benchmark': 'cloudwatch', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'sizes': size, 'targets': TARGETS,
              'server': 'gunicorn, 1 sync worker each',
              'loadavg_before': [round(x, 2) for x in os.getloadavg()]}
    begin = time.perf_counter()
    with servers() as ((cw_port, api_port), pids):
        sign = Signer(cw_port)
        # the first PutMetricData creates the CloudWatch archive policies the API's use
        status, body = send(cw_port, sign('PutMetricData', {
            'Namespace': NAMESPACE, 'MetricData': [{'MetricName': 'warm-up', 'Value': 1.0}]}))
        assert status == 200, body
        put_ids = create_metrics(api_port, 'put')
        report['put'] = put_scenario(sign, cw_port, api_port, put_ids, size, pids)
        read_ids = create_metrics(api_port, 'read')
        start = _minute(datetime.datetime.now(datetime.timezone.utc)) - datetime.timedelta(
            minutes=POINTS + 1)
        fill(sign, cw_port, api_port, read_ids, start)
        report['loadavg_reads'] = round(os.getloadavg()[0], 2)
        report.update(read_scenarios(sign, cw_port, api_port, read_ids, start, size, pids))
    report['summary'] = summary(report)
    report['loadavg_after'] = [round(x, 2) for x in os.getloadavg()]
    report['seconds'] = round(time.perf_counter() - begin, 1)
    json.dump(report, sys.stdout, indent=2, default=str)
    sys.stdout.write('\n')
    return 0


def summary(report):
    figures = {
        'put_datapoints_per_s': report['put']['cloudwatch']['datapoints_per_s'],
        'put_datapoints_per_server_cpu_s':
            report['put']['cloudwatch']['datapoints_per_server_cpu_s'],
        'gms_1440_median_ms': report['get_metric_statistics']['cloudwatch']['median_ms'],
        'gmd_100x1440_median_ms': report['get_metric_data']['cloudwatch']['median_ms'],
    }
    figures['meets_targets'] = (
        figures['put_datapoints_per_s'] >= TARGETS['put_datapoints_per_s']
        and figures['gms_1440_median_ms'] <= TARGETS['gms_1440_median_ms']
        and figures['gmd_100x1440_median_ms'] <= TARGETS['gmd_100x1440_median_ms'])
    return figures


if __name__ == '__main__':
    sys.exit(main())
