"""The CloudWatch API's three hot requests in-process (the WSGI app, no socket), for CPU cost
per request and, with ``--profile``, cProfile's view of where it goes.

Prints one JSON document: CPU microseconds per request (process time, so that a loaded
machine's waiting is not counted) and wall ms, for PutMetricData of 20 data signed with
SigV4 (json, query and CBOR), GetMetricStatistics of 1,440 points and GetMetricData of 100
metrics x 1,440 points, each in the three protocols. The archive is a fresh file store in a
temporary directory, its measures processed before the reads.

    python benchmarks/cloudwatch_profile.py [--quick] [--profile put|gms|gmd]
"""

import argparse
import cProfile
import datetime
import io
import json
import os
import platform
import pstats
import sys
import tempfile
import time
import urllib.parse

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import loaders
from botocore import model as botocore_model
from botocore import serialize

ACCESS, SECRET = 'AKIDBENCHMARK', 'bench-secret-key'
PROTOCOLS = ('json', 'query', 'smithy-rpc-v2-cbor')
METRICS, POINTS, PER_PUT = 100, 1440, 20
SIZES = {'full': {'puts': 600, 'gms': 40, 'gmd': 8},
         'quick': {'puts': 60, 'gms': 5, 'gmd': 2}}


def _model(protocol):
    definition = loaders.Loader().load_service_model('cloudwatch', 'service-2')
    definition = json.loads(json.dumps(definition))
    definition['metadata']['protocol'] = protocol
    definition['metadata']['protocols'] = [protocol]
    return botocore_model.ServiceModel(definition, 'cloudwatch')


class Client:
    """WSGI environs of signed requests in one protocol, and the app's answers."""

    def __init__(self, app, protocol):
        self.app = app
        self.model = _model(protocol)
        self.serializer = serialize.create_serializer(protocol, include_validation=False)
        self.signer = botocore_auth.SigV4Auth(
            botocore_credentials.Credentials(ACCESS, SECRET), 'monitoring', 'RegionOne')

    def environ(self, operation, params):
        body = self.serializer.serialize_to_request(
            params, self.model.operation_model(operation))
        request = awsrequest.AWSRequest(method='POST', url='http://cw.bench' + body['url_path'],
                                        data=body['body'], headers=body['headers'])
        self.signer.add_auth(request)
        prepared = request.prepare()
        data = prepared.body or b''
        data = data.encode() if isinstance(data, str) else data
        parts = urllib.parse.urlsplit(prepared.url)
        environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': parts.path or '/',
                   'QUERY_STRING': parts.query, 'SCRIPT_NAME': '', 'SERVER_NAME': 'cw.bench',
                   'SERVER_PORT': '80', 'CONTENT_LENGTH': str(len(data)), '_body': data}
        for name, value in prepared.headers.items():
            value = value.decode('latin-1') if isinstance(value, bytes) else value
            key = name.upper().replace('-', '_')
            environ[key if key in ('CONTENT_TYPE', 'CONTENT_LENGTH') else 'HTTP_' + key] = value
        environ.setdefault('HTTP_HOST', parts.netloc)
        return environ

    def __call__(self, environ):
        environ = dict(environ, **{'wsgi.input': io.BytesIO(environ['_body'])})
        status = []
        body = b''.join(self.app(environ, lambda s, h: status.append(s)))
        if not status[0].startswith('200'):
            raise RuntimeError('%s: %s' % (status[0], body[:300]))
        return body


def _app(data_dir):
    from telewatch import service
    from telewatch.archive import store as store_mod
    from telewatch.cloudwatch import app as app_mod
    from telewatch.cloudwatch import credentials
    keys = os.path.join(data_dir, 'keys')
    with open(keys, 'w') as f:
        f.write('[bench]\naws_access_key_id = %s\naws_secret_access_key = %s\n'
                'project_id = bench-project\nuser_id = bench-user\n' % (ACCESS, SECRET))
    conf = service.prepare_service([])
    conf.set_override('data_dir', data_dir)
    conf.set_override('auth_strategy', 'keys_file', group='cloudwatch')
    conf.set_override('keys_file', keys, group='cloudwatch')
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade()
    from telewatch.alarms import storage as alarm_storage
    alarms = alarm_storage.AlarmStore.from_conf(conf)
    alarms.upgrade()
    return app_mod.make_app(conf, store, alarms, credentials.from_conf(conf)), store


def _timed(client, environs, profile=None):
    """(CPU µs, wall ms) per request."""
    if profile is not None:
        profile.enable()
    cpu, wall = time.process_time(), time.perf_counter()
    for environ in environs:
        client(environ)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profile is not None:
        profile.disable()
    return {'cpu_us': round(cpu / len(environs) * 1e6), 'wall_ms': round(
        wall / len(environs) * 1e3, 3), 'requests': len(environs)}


def _fill(client, store, start):
    for m in range(METRICS):
        for first in range(0, POINTS, 1000):
            data = [{'MetricName': 'read-%d' % m, 'Value': float(k % 97),
                     'Timestamp': start + datetime.timedelta(minutes=k)}
                    for k in range(first, min(POINTS, first + 1000))]
            client(client.environ('PutMetricData', {'Namespace': 'Bench', 'MetricData': data}))
    store.process()


def run(size, profiled):
    report = {}
    profile = cProfile.Profile() if profiled else None
    with tempfile.TemporaryDirectory(prefix='tw-cw-prof-') as data_dir:
        app, store = _app(data_dir)
        clients = {p: Client(app, p) for p in PROTOCOLS}
        now = datetime.datetime.now(datetime.timezone.utc)
        start = now.replace(second=0, microsecond=0) - datetime.timedelta(minutes=POINTS + 1)
        _fill(clients['json'], store, start)
        end = start + datetime.timedelta(minutes=POINTS)
        queries = [{'Id': 'm%d' % m, 'MetricStat': {
            'Metric': {'Namespace': 'Bench', 'MetricName': 'read-%d' % m}, 'Period': 60,
            'Stat': 'Average'}} for m in range(METRICS)]
        for protocol, client in clients.items():
            puts = [client.environ('PutMetricData', {'Namespace': 'Bench', 'MetricData': [
                {'MetricName': 'put-%d' % ((i * PER_PUT + j) % METRICS), 'Value': float(j),
                 'Timestamp': now - datetime.timedelta(milliseconds=i)}
                for j in range(PER_PUT)]}) for i in range(size['puts'])]
            gms = client.environ('GetMetricStatistics', {
                'Namespace': 'Bench', 'MetricName': 'read-0', 'StartTime': start,
                'EndTime': end, 'Period': 60, 'Statistics': ['Average']})
            gmd = client.environ('GetMetricData', {
                'StartTime': start, 'EndTime': end, 'MetricDataQueries': queries})
            client(puts[0]), client(gms), client(gmd)  # warm
            reads = {
                'gms_1440': _timed(client, [gms] * size['gms'],
                                   profile if profiled == 'gms' else None),
                'gmd_100x1440': _timed(client, [gmd] * size['gmd'],
                                       profile if profiled == 'gmd' else None)}
            report[protocol] = dict(reads, put_20=_timed(
                client, puts[1:], profile if profiled == 'put' else None))
            report[protocol]['put_20']['datapoints_per_cpu_s'] = round(
                PER_PUT * 1e6 / report[protocol]['put_20']['cpu_us'])
            store.process()
        store.close()
    return report, profile


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--quick', action='store_true')
    parser.add_argument('--profile', choices=('put', 'gms', 'gmd'))
    parser.add_argument('--top', type=int, default=35)
    args = parser.parse_args(argv)
    size = SIZES['quick' if args.quick else 'full']
    load = os.getloadavg()
    report, profile = run(size, args.profile)
    out = {'benchmark': 'cloudwatch_profile', 'python': platform.python_version(),
           'loadavg': [round(x, 2) for x in load], 'sizes': size, 'results': report}
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write('\n')
    if profile is not None:
        stream = io.StringIO()
        pstats.Stats(profile, stream=stream).sort_stats('tottime').print_stats(args.top)
        stats = pstats.Stats(profile, stream=stream)
        stats.sort_stats('cumulative').print_stats(args.top)
        sys.stderr.write(stream.getvalue())
    return 0


if __name__ == '__main__':
    sys.exit(main())
