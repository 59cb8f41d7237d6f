"""The REST API over HTTP: a telewatch-api (gunicorn, noauth, the embedded store: SQLite
index and file storage, one telewatch-archive-processor running) on a free port and, with
``--baseline gnocchi``, the real Gnocchi of ``tools/services/gnocchi`` side by side in the
same run, each scenario on one then the other.

Prints one JSON document. Scenarios (benchmarks/api_scenarios.py; one client, one request
at a time, a new connection per request unless said otherwise):

- ``metric_crud``: metrics created, shown, deleted per second;
- ``measures_post``: ``POST /v1/metric/<id>/measures`` per second at 1, 100 and 5,000
  measures per request (Danjou's shapes), over 10 metrics in turn, then the seconds until
  the status shows nothing left to process;
- ``reads``: median and p99 latency of reading one metric's 1,000 aggregated points (new
  connection, and kept alive), of ``/v1/aggregates`` over 10 such metrics, and reads/s
  with 2 client processes;
- ``resources``: 1,000 resources of a new type created, then the latency of listing all
  of them and of a search matching 50;
- ``ingest``: measures/s written through InfluxDB's line protocol (``/v1/influxdb/write``:
  1,000 lines of 5 fields a request, 20 hosts) and Prometheus' remote write
  (``/v1/prometheus/write``: 100 series of 50 samples, snappy-compressed protobuf), 5,000
  measures a request, the first request (it makes the resources and metrics) timed apart;
  then the seconds until the status shows nothing left to process.

    python benchmarks/api.py [--quick] [--baseline gnocchi] [--workers N]
"""

import argparse
import contextlib
import json
import os
import pathlib
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

try:
    from benchmarks import api_scenarios as scenarios
except ImportError:  # run as a script (tox -e bench): benchmarks/ is sys.path[0]
    import api_scenarios as scenarios

REPO = pathlib.Path(__file__).resolve().parents[1]
# Full run, and --quick: a smoke test of every scenario in well under a minute.
SIZES = {
    'full': {'crud': 200, 'batches': {1: 500, 100: 200, 5000: 40}, 'read_samples': 200,
             'concurrent_seconds': 5, 'resources': 1000, 'list_samples': 20,
             'ingest_requests': 21},
    'quick': {'crud': 20, 'batches': {1: 50, 100: 20, 5000: 4}, 'read_samples': 20,
              'concurrent_seconds': 1, 'resources': 100, 'list_samples': 5,
              'ingest_requests': 3},
}
INGEST_HOSTS, INGEST_STAMPS = 20, 50  # x 5 fields: 5,000 measures a request
READ_POINTS = 1000
READ_METRICS = 10
PROCESS_TIMEOUT = 600
TARGETS = {'read_median_ms': 3.0, 'read_p99_ms': 10.0, 'aggregate_10_median_ms': 6.0}


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def telewatch_api(workers):
    """The root URL of a telewatch-api and its processor on a fresh embedded store."""
    with tempfile.TemporaryDirectory(prefix='tw-bench-api-') as data:
        port = free_port()
        config = pathlib.Path(data) / 'telewatch.conf'
        config.write_text('[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\n'
                          'port = %d\nworkers = %d\n' % (data, port, workers))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(REPO)] + os.environ.get('PYTHONPATH', '').split(os.pathsep)))
        command = [sys.executable, '-m']
        subprocess.run(command + ['telewatch.cmd.upgrade', '--config-file', str(config)],
                       check=True, capture_output=True, timeout=300, env=env)
        log_path = pathlib.Path(data) / 'services.log'
        with open(log_path, 'w') as log:
            processes = [subprocess.Popen(command + [module, '--config-file', str(config)],
                                          stdout=log, stderr=log, env=env)
                         for module in ('telewatch.cmd.api', 'telewatch.cmd.archive_processor')]
            try:
                url = 'http://127.0.0.1:%d' % port
                _wait_until_up(url, processes[0], log_path)
                yield url
            finally:
                for process in processes:
                    process.terminate()
                for process in processes:
                    process.wait(60)


def _wait_until_up(url, process, log_path):
    deadline = time.monotonic() + 120
    while True:
        try:
            scenarios.Client(url).request('GET', '/')
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError('telewatch-api did not start:\n' + log_path.read_text())
            time.sleep(0.2)


class Target:
    """One API under test and what the scenarios created in it (to clean up)."""

    def __init__(self, name, url):
        self.name = name
        self.url = url
        self.client = scenarios.Client(url)
        self.run = uuid.uuid4().hex[:8]
        self.policy = 'bench-api-%s' % self.run
        self.metrics = []
        self.results = {'url': url, 'build': self.client.json('GET', '/').get('build')}

    def setup(self):
        scenarios.create_policy(self.client, self.policy)

    def cleanup(self):
        scenarios.delete_metrics(self.client, self.metrics)
        with contextlib.suppress(RuntimeError):  # Gnocchi deletes metrics later
            self.client.request('DELETE', '/v1/archive_policy/%s' % self.policy)


def run_crud(target, size):
    return scenarios.metric_crud(target.client, target.policy, size['crud'])


def run_measures_post(target, size):
    ids = scenarios.create_metrics(target.client, target.policy, 10, 'post')
    target.metrics += ids
    shapes = [scenarios.post_measures(target.client, ids, batch, count)
              for batch, count in size['batches'].items()]
    return {'shapes': shapes, 'seconds_until_processed': scenarios.wait_processed(
        target.client, PROCESS_TIMEOUT)}


def run_reads(target, size):
    ids = scenarios.create_metrics(target.client, target.policy, READ_METRICS, 'read')
    target.metrics += ids
    waited = scenarios.fill_for_reads(target.client, ids, READ_POINTS, PROCESS_TIMEOUT)
    result = scenarios.reads(target.url, ids, size['read_samples'],
                             size['concurrent_seconds'])
    result['seconds_until_aggregated'] = waited
    return result


def run_resources(target, size):
    resource_type = 'bench_api_%s' % target.run
    prefix = 'bench-api-%s' % target.run
    try:
        result = scenarios.resources(target.client, resource_type, prefix,
                                     size['resources'], size['list_samples'])
    finally:
        left = scenarios.delete_resources(target.client, resource_type, prefix)
    result['left_by_batch_delete'] = left
    return result


def run_ingest(target, size):
    database = 'bench_influx_%s' % target.run
    prefix = 'bench-api-%s' % target.run
    shape = (INGEST_HOSTS, INGEST_STAMPS)
    per_request = INGEST_HOSTS * INGEST_STAMPS * len(scenarios.FIELDS)
    starts = [i * INGEST_STAMPS for i in range(size['ingest_requests'])]
    target.client.request('POST', '/v1/influxdb/query?q=' + urllib.parse.quote(
        'CREATE DATABASE %s' % database))
    try:
        result = {
            'influxdb_write': scenarios.ingest(
                target.client, '/v1/influxdb/write?db=%s' % database,
                [scenarios.influxdb_body(prefix, *shape, first) for first in starts],
                scenarios.INFLUXDB_HEADERS, per_request),
            'prometheus_write': scenarios.ingest(
                target.client, '/v1/prometheus/write',
                [scenarios.prometheus_body(prefix, *shape, first) for first in starts],
                scenarios.PROMETHEUS_HEADERS, per_request)}
        result['seconds_until_processed'] = scenarios.wait_processed(
            target.client, PROCESS_TIMEOUT)
    finally:
        left = scenarios.delete_resources(target.client, database, prefix)
        target.client.request('DELETE', '/v1/resource/prometheus',
                              {'like': {'original_resource_id': prefix + '@%'}})
    result['left_by_batch_delete'] = left
    return result


SCENARIOS = {'metric_crud': run_crud, 'measures_post': run_measures_post,
             'reads': run_reads, 'resources': run_resources, 'ingest': run_ingest}


def run_all(targets, size):
    """Each scenario on every target in turn, so that both meet the same background load;
    the 1-minute load average before each."""
    loads = {}
    for target in targets:
        target.setup()
    try:
        for name, scenario in SCENARIOS.items():
            for target in targets:
                loads['%s/%s' % (name, target.name)] = round(os.getloadavg()[0], 2)
                target.results[name] = scenario(target, size)
    finally:
        for target in targets:
            target.cleanup()
    return loads


def summary(results):
    """The figures the issue's targets speak of, for one target's ``results``."""
    reads = results['reads']
    posts = {s['measures_per_request']: s for s in results['measures_post']['shapes']}
    figures = {
        'read_median_ms': reads['read_new_connection']['median_ms'],
        'read_p99_ms': reads['read_new_connection']['p99_ms'],
        'read_keep_alive_median_ms': reads['read_keep_alive']['median_ms'],
        'aggregate_10_median_ms': reads['aggregate_new_connection']['median_ms'],
        'concurrent_reads_per_s': reads['concurrent_reads']['reads_per_s'],
        'post_5000_measures_per_s': posts[max(posts)]['measures_per_s'],
        'influxdb_write_measures_per_s': results['ingest']['influxdb_write']['measures_per_s'],
        'prometheus_write_measures_per_s':
            results['ingest']['prometheus_write']['measures_per_s'],
    }
    figures['meets_targets'] = all(figures[k] <= v for k, v in TARGETS.items())
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true', help='a smoke run of every scenario')
    parser.add_argument('--baseline', choices=['gnocchi'], help='also run a real Gnocchi')
    parser.add_argument('--gnocchi-url', default='http://127.0.0.1:8051')
    parser.add_argument('--workers', type=int, default=2,
                        help="telewatch-api's gunicorn workers (default 2, one per core here)")
    args = parser.parse_args(argv)
    size = SIZES['quick' if args.quick else 'full']
    report = {'benchmark': 'api', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'sizes': size, 'targets': TARGETS,
              'loadavg_before': [round(x, 2) for x in os.getloadavg()]}
    begin = time.perf_counter()
    with telewatch_api(args.workers) as url:
        targets = [Target('telewatch', url)]
        targets[0].results['server'] = 'gunicorn, %d sync workers' % args.workers
        if args.baseline == 'gnocchi':
            try:
                targets.append(Target('gnocchi', args.gnocchi_url))
                targets[1].results['server'] = 'uwsgi as tools/services/gnocchi runs it'
            except OSError as exc:
                report['gnocchi'] = {'skipped': 'no Gnocchi answers on %s (%s): start one '
                                     'with tools/services/gnocchi start' % (
                                         args.gnocchi_url, exc)}
        report['loadavg_per_scenario'] = run_all(targets, size)
    report.update({target.name: target.results for target in targets})
    report['summary'] = {target.name: summary(target.results) for target in targets}
    report['loadavg_after'] = [round(x, 2) for x in os.getloadavg()]
    report['seconds'] = round(time.perf_counter() - begin, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
