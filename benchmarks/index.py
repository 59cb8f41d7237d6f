"""The archive index at size: ``--resources`` instances x 10 metrics seen for the first
time through the archive publisher (its bulk creation), then three reads over HTTP on that
index, on SQLite (the embedded default) and on PostgreSQL (a scratch database of the
project's, tools/services/postgresql, port 5433).

- ``creation``: the seconds (wall and this process's CPU) the publisher's ``publish`` calls
  took for every new instance (batches of ``--batch`` instances, each with 10% instances
  already known, whose measures must not wait for the new ones), and each call's p50/p99;
- ``reads`` (a telewatch-api, gunicorn, noauth, on that index; a new connection per
  request; median/p99 of ``--samples``): the first page of ``GET /v1/resource/instance
  ?limit=1000``, a search by ``host`` (``POST /v1/search/resource/instance``, one host of
  500) and ``GET /v1/metric?limit=1000``, and the API's CPU per request (gunicorn's
  processes: the figure a loaded machine does not blur). Target (issue 18): each <= 50 ms
  at 100,000 resources and 1,000,000 metrics.

    python benchmarks/index.py [--resources 20000] [--backends sqlite,postgresql]
"""

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import psutil

try:
    from benchmarks import api
    from benchmarks import api_scenarios as scenarios
except ImportError:  # run as a script (tox -e bench): benchmarks/ is sys.path[0]
    import api
    import api_scenarios as scenarios

REPO = pathlib.Path(__file__).resolve().parents[1]
POSTGRESQL_URL = 'postgresql://telewatch@127.0.0.1:5433/telewatch'
METERS = ('cpu', 'vcpus', 'memory', 'memory.usage', 'memory.resident', 'power.state',
          'disk.read.bytes', 'disk.read.requests', 'disk.write.bytes', 'disk.write.requests')
HOSTS = 500
KNOWN_SHARE = 0.1
TARGET_MS = 50.0


def _samples(instances, when):
    from telewatch import sample as sample_mod
    out = []
    for number in instances:
        metadata = {'instance_host': 'host-%d' % (number % HOSTS),
                    'display_name': 'vm-%d' % number, 'instance_type': 'm1.small',
                    'image_ref': 'cirros'}
        rid = str(uuid.UUID(int=number + 1))
        out += [sample_mod.Sample.create(meter, 'gauge', 'x', float(number), rid, when,
                                         'user-%d' % (number % 50), 'project-%d' % (number % 50),
                                         metadata) for meter in METERS]
    return out


def _percentiles(samples):
    ordered = sorted(samples)
    return {'p50_ms': round(statistics.median(ordered) * 1e3, 2),
            'p99_ms': round(ordered[int(len(ordered) * 0.99)] * 1e3, 2),
            'max_ms': round(ordered[-1] * 1e3, 2)}


def create(conf, resources, batch):
    """Every instance through the archive publisher, ``batch`` new ones a call (with
    KNOWN_SHARE known ones); the figures of the publish calls."""
    from telewatch.publishers import archive
    from telewatch.publishers import base
    publisher = archive.ArchivePublisher(base.PublisherURL('archive://'), conf)
    publisher.start()
    try:
        known = max(1, int(batch * KNOWN_SHARE))
        publisher.publish(_samples(range(known), datetime.datetime.now(datetime.timezone.utc)))
        calls, wall, cpu = [], 0.0, 0.0
        for start in range(known, resources, batch):
            when = datetime.datetime.now(datetime.timezone.utc)
            samples = _samples(range(start, min(start + batch, resources)), when)
            samples += _samples(range(known), when)
            begin, begin_cpu = time.perf_counter(), time.process_time()
            publisher.publish(samples)
            calls.append(time.perf_counter() - begin)
            wall += calls[-1]
            cpu += time.process_time() - begin_cpu
    finally:
        publisher.stop()
    return dict({'instances': resources, 'metrics': resources * len(METERS),
                 'instances_per_call': batch, 'known_instances_per_call': known,
                 'seconds': round(wall, 2), 'cpu_seconds': round(cpu, 2),
                 'instances_per_s': round((resources - known) / wall, 1),
                 'calls': len(calls)}, **{'call_' + k: v for k, v in
                                          _percentiles(calls).items()})


@contextlib.contextmanager
def api_server(data, index_url, workers):
    port = api.free_port()
    config = pathlib.Path(data) / 'api.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n[api]\nauth_strategy = noauth\nport = %d\n'
                      'workers = %d\n[archive]\nindex_url = %s\n'
                      % (data, port, workers, index_url))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + os.environ.get('PYTHONPATH', '').split(os.pathsep)))
    log_path = pathlib.Path(data) / 'api.log'
    with open(log_path, 'w') as log:
        process = subprocess.Popen([sys.executable, '-m', 'telewatch.cmd.api',
                                    '--config-file', str(config)],
                                   stdout=log, stderr=log, env=env)
        try:
            url = 'http://127.0.0.1:%d' % port
            api._wait_until_up(url, process, log_path)
            yield url, psutil.Process(process.pid)
        finally:
            process.terminate()
            process.wait(60)


def _cpu(server):
    """CPU seconds of the API's processes (gunicorn's master and workers) so far."""
    total = 0.0
    for process in [server] + server.children(recursive=True):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def reads(url, server, resources, samples):
    """Each read's latency over HTTP, and the API's CPU per request (what it costs
    whatever the machine's load)."""
    client = scenarios.Client(url)
    host = 'host-%d' % (HOSTS // 2)
    calls = {
        'resource_first_page': (('GET', '/v1/resource/instance?limit=1000'),
                                min(1000, resources)),
        'search_by_host': (('POST', '/v1/search/resource/instance?limit=1000',
                            {'=': {'host': host}}), len(range(HOSTS // 2, resources, HOSTS))),
        'metric_first_page': (('GET', '/v1/metric?limit=1000'), 1000),
    }
    out = {}
    for name, (request, expected) in calls.items():
        found = len(client.json(*request))  # warm: the server's first answer
        if found != expected:
            raise RuntimeError('%s: %d items, expected %d' % (name, found, expected))
        size = len(client.request(*request)[1])
        cpu = _cpu(server)
        result = scenarios.latencies(scenarios.timed(samples, lambda: client.request(*request)))
        out[name] = dict(result, items=found, bytes=size,
                         server_cpu_ms=round((_cpu(server) - cpu) / samples * 1e3, 2),
                         meets_target=result['median_ms'] <= TARGET_MS)
    return out


@contextlib.contextmanager
def postgresql_database(url):
    import psycopg2
    name = 'bench_index_%s' % uuid.uuid4().hex[:10]
    admin = psycopg2.connect(url, connect_timeout=10)
    admin.autocommit = True
    try:
        admin.cursor().execute('CREATE DATABASE %s' % name)
        yield url.rsplit('/', 1)[0] + '/' + name
    finally:
        admin.cursor().execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
        admin.close()


@contextlib.contextmanager
def index_url(backend, data, postgresql_url):
    if backend == 'sqlite':
        yield 'sqlite:///' + os.path.join(data, 'index.sqlite')
    else:
        with postgresql_database(postgresql_url) as url:
            yield url


def run(backend, args):
    from telewatch import service
    with tempfile.TemporaryDirectory(prefix='tw-bench-index-') as data, \
            index_url(backend, data, args.postgresql_url) as url:
        conf = service.prepare_service(['--config-dir', str(REPO / 'etc')])
        conf.set_override('data_dir', data)
        conf.set_override('index_url', url, 'archive')
        result = {'loadavg_before': round(os.getloadavg()[0], 2),
                  'creation': create(conf, args.resources, args.batch)}
        with api_server(data, url, args.workers) as (api_url, server):
            result['reads'] = reads(api_url, server, args.resources, args.samples)
        result['loadavg_after'] = round(os.getloadavg()[0], 2)
        return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--resources', type=int, default=20000,
                        help='instances (x 10 metrics); the issue: 100000')
    parser.add_argument('--batch', type=int, default=1000, help='new instances a call')
    parser.add_argument('--samples', type=int, default=20, help='requests per read')
    parser.add_argument('--backends', default='sqlite,postgresql')
    parser.add_argument('--postgresql-url', default=POSTGRESQL_URL)
    parser.add_argument('--workers', type=int, default=2)
    args = parser.parse_args(argv)
    report = {'benchmark': 'index', 'python': platform.python_version(),
              'cpus': os.cpu_count(), 'resources': args.resources,
              'metrics': args.resources * len(METERS), 'target_ms': TARGET_MS,
              'loadavg_before': [round(x, 2) for x in os.getloadavg()]}
    begin = time.perf_counter()
    for backend in args.backends.split(','):
        report[backend] = run(backend, args)
    report['loadavg_after'] = [round(x, 2) for x in os.getloadavg()]
    report['seconds'] = round(time.perf_counter() - begin, 1)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
