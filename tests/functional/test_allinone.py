"""telewatch-all-in-one as a user runs it: the shipped polling.yaml and pipeline.yaml (found
through --config-dir etc), samples under --data-dir, a clean stop on SIGTERM and SIGINT."""

import collections
import pathlib
import signal
import socket
import subprocess
import sys
import time

import requests

from telewatch import allinone
from telewatch import service
from telewatch.archive import errors as archive_errors
from telewatch.archive import store as archive_store

BIN = pathlib.Path(sys.executable).parent
REPO = pathlib.Path(__file__).resolve().parents[2]
NODE = REPO / 'tests' / 'functional' / 'data' / 'libvirt-node.xml'


class AllInOne:
    """One telewatch-all-in-one process with its data directory, stdout and stderr."""

    def __init__(self, tmp_path, *args, libvirt_uri=None):
        self.data = tmp_path / 'new' / 'data'  # created by the command
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self.api = 'http://127.0.0.1:%d' % self.port
        self.stdout = tmp_path / 'stdout'
        self.stderr = tmp_path / 'stderr'
        conf = tmp_path / 'telewatch.conf'
        # By default a libvirt that cannot answer, so that what polls does not depend on
        # whether this machine runs libvirtd.
        conf.write_text('[compute]\nlibvirt_uri = %s\n'
                        % (libvirt_uri or 'test://%s/absent-node.xml' % tmp_path))
        with open(self.stdout, 'w') as out, open(self.stderr, 'w') as err:
            self.process = subprocess.Popen(
                [str(BIN / 'telewatch-all-in-one'), '--config-dir', str(REPO / 'etc'),
                 '--config-file', str(conf), '--data-dir', str(self.data),
                 '--port', str(self.port), '--cloudwatch-port', '0', *args],
                stdout=out, stderr=err, cwd=tmp_path)

    def output(self):
        return self.stdout.read_text().splitlines()

    def wait_for(self, condition, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            assert self.process.poll() is None, self.stderr.read_text()
            time.sleep(0.2)
        return False

    def started(self):
        return 'Ctrl-C to stop.' in self.output()

    def timestamps(self):
        """{meter name: set of timestamps} of the measures the archive holds so far (raw,
        aggregated by the all-in-one's processor)."""
        found = collections.defaultdict(set)
        if not (self.data / 'archive' / 'index.sqlite').exists():
            return found
        conf = service.prepare_service([])
        conf.set_override('data_dir', str(self.data))
        store = archive_store.ArchiveStore.from_conf(conf)
        try:
            metrics = store.index.search_metrics()
            series = store._storage.get_many(m.id for m in metrics)
        except archive_errors.StorageUnavailable:  # schema not created yet
            return found
        finally:
            store.close()
        for metric in metrics:
            if metric.id in series:
                found[metric.name].update(series[metric.id].state.raw_timestamps.tolist())
        return found

    def stop(self, signum=signal.SIGTERM):
        self.process.send_signal(signum)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_host_samples_of_two_cycles_then_a_clean_sigterm(tmp_path):
    chain = AllInOne(tmp_path, '--interval', '1')
    try:
        assert chain.wait_for(lambda: len(chain.timestamps()['hardware.memory.used']) >= 2), \
            chain.stderr.read_text()
        assert chain.stop() == 0, chain.stderr.read_text()
    finally:
        chain.kill()
    found = chain.timestamps()  # every line is still whole JSON after the stop
    assert {'hardware.memory.used', 'hardware.memory.total', 'hardware.cpu.util',
            'hardware.system_stats.load.1'} <= set(found)
    output = chain.output()
    assert output[0].startswith('telewatch all-in-one')
    assert '  data directory: %s' % chain.data in output
    assert '  archive:        sqlite:///%s/archive/index.sqlite, file://%s/archive/series' % (
        chain.data, chain.data) in output
    assert '  publisher:      archive://' in output
    assert '  pipeline:       %s' % (REPO / 'etc' / 'pipeline.yaml') in output
    assert any(line.startswith('  polling:        host every 1 s, the first cycle now, ') and
               line.endswith('(%s)' % (REPO / 'etc' / 'polling.yaml')) for line in output)
    assert any(line.startswith('  instances:      not polled: libvirt at test://') and
               'absent-node.xml' in line and line.endswith('no cpu_util, no disk.*.rate or '
                                                           'network.*.rate') for line in output)
    assert '  host:           this node\'s hardware.* (the shipped pipeline.yaml derives ' \
           'hardware.disk.*.rate and hardware.network.*.rate)' in output
    assert '  policies:       low, ceilometer-low, ceilometer-low-rate keep 1-minute points ' \
           'for a day, then 5-minute points for 30 days' in output
    api = output.index('  API:            %s/ with no authentication (a request without '
                       'credentials is an admin)' % chain.api)
    assert output[api + 1:api + 3] == [
        '  try:            curl %s/v1/resource/host' % chain.api,
        '                  gnocchi --endpoint %s resource list' % chain.api]
    assert output[api + 3] == '  console:        %s/console/ in a browser' % chain.api
    assert output[api + 4].startswith('  CloudWatch API: http://127.0.0.1:')
    assert output[api + 6:api + 8] == [
        '  progress:       a line in the log every 60 s',
        'Ctrl-C to stop.']
    assert output[-1].startswith('stopped: ') and output[-1].endswith(
        ' measures archived, 0 rejected as too late')
    assert ' 0 processed again, 0 dropped; ' in output[-1]


def test_no_polling_starts_and_stops_cleanly_writing_nothing(tmp_path):
    chain = AllInOne(tmp_path, '--no-polling', '--interval', '1')
    try:
        assert chain.wait_for(chain.started), chain.stderr.read_text()
        time.sleep(2)  # long enough for a cycle, had one been scheduled
        assert chain.stop(signal.SIGINT) == 0, chain.stderr.read_text()
    finally:
        chain.kill()
    assert chain.timestamps() == {}
    output = chain.output()
    assert '  polling:        off (--no-polling)' in output
    assert output[-1] == ('stopped: 0 polled samples processed, 0 processed again, 0 dropped; '
                          '0 measures archived, 0 rejected as too late')


def test_compute_samples_go_through_the_shipped_pipeline(tmp_path):
    chain = AllInOne(tmp_path, '--interval', '1', libvirt_uri='test://%s' % NODE)
    try:
        # cpu_util is derived by the shipped pipeline.yaml (rate_of_change) from two cycles.
        assert chain.wait_for(lambda: chain.timestamps()['cpu_util']), \
            chain.stderr.read_text()
        # The API serves what was archived (gnocchi-basic, user admin).
        headers = {'Authorization': 'basic YWRtaW46'}
        instances = requests.get(chain.api + '/v1/resource/instance', headers=headers,
                                 timeout=10).json()
        assert instances and all(r['host'] for r in instances)
        cpu_util = instances[0]['metrics']['cpu_util']
        rows = requests.get('%s/v1/metric/%s/measures?refresh=true' % (chain.api, cpu_util),
                            headers=headers, timeout=10).json()
        assert rows and all(0 <= value <= 100 for _, _, value in rows)
        assert chain.stop() == 0, chain.stderr.read_text()
    finally:
        chain.kill()
    found = chain.timestamps()
    assert len(found['cpu']) >= 2
    assert {'hardware.memory.used', 'cpu_util', 'cpu.delta', 'memory.usage'} <= set(found)
    assert any(line.startswith('  polling:        host, compute every 1 s, ')
               for line in chain.output())


def test_a_bad_pipeline_stops_start_up(tmp_path):
    bad = tmp_path / 'pipeline.yaml'
    bad.write_text('sources: []\n')
    result = subprocess.run(
        [str(BIN / 'telewatch-all-in-one'), '--data-dir', str(tmp_path / 'data'),
         '--pipeline-file', str(bad)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert '%s:1: sources: expected a non-empty list of sources' % bad in result.stderr
    assert result.stdout == ''


def test_probe_with_the_libvirt_test_driver(tmp_path):
    assert allinone.probe_libvirt('test://%s' % NODE) is None
    failure = allinone.probe_libvirt('test://%s/absent-node.xml' % tmp_path)
    assert 'absent-node.xml' in failure


def test_on_a_host_without_libvirt_the_hosts_rates_are_derived_and_archived(tmp_path):
    chain = AllInOne(tmp_path, '--interval', '1', '--progress-interval', '1')
    try:
        # rate_of_change needs two cycles of a counter: then every counter has its rate.
        assert chain.wait_for(lambda: any(
            name.startswith('hardware.') and name.endswith('.rate')
            for name in chain.timestamps())), chain.stderr.read_text()
        assert chain.wait_for(lambda: 'telewatch.allinone_progress' in
                              chain.stderr.read_text())
        assert chain.stop() == 0, chain.stderr.read_text()
    finally:
        chain.kill()
    found = chain.timestamps()
    rates = {name for name in found if name.endswith('.rate')}
    assert rates <= {'hardware.%s.rate' % name for name in (
        'network.incoming.bytes', 'network.outgoing.bytes', 'network.incoming.packets',
        'network.outgoing.packets', 'disk.read.bytes', 'disk.read.requests',
        'disk.write.bytes', 'disk.write.requests')}
    with_counters = {name for name in found if name.startswith(('hardware.network.',
                                                                'hardware.disk.read',
                                                                'hardware.disk.write'))}
    assert {name[:-len('.rate')] for name in rates} == with_counters - rates
    progress = [line.partition('telewatch.allinone_progress [-] ')[2]
                for line in chain.stderr.read_text().splitlines()
                if 'telewatch.allinone_progress' in line]
    assert progress[0].startswith('last 1 s: polled ')
    assert all(' measures wait to be aggregated' in line for line in progress)


def test_plain_requests_without_credentials_are_an_admins_and_minutes_are_kept(tmp_path):
    chain = AllInOne(tmp_path, '--interval', '1')
    try:
        assert chain.wait_for(lambda: chain.timestamps()['hardware.memory.used']), \
            chain.stderr.read_text()
        # What `curl http://127.0.0.1:8041/v1/resource/host` sends: no credentials at all.
        hosts = requests.get(chain.api + '/v1/resource/host', timeout=10)
        assert hosts.status_code == 200, hosts.text
        host, = [r for r in hosts.json() if r['original_resource_id'] == socket.gethostname()]
        assert requests.get(chain.api + '/v1/status', timeout=10).status_code == 200  # admin
        metric = host['metrics']['hardware.memory.used']
        policy = requests.get('%s/v1/metric/%s' % (chain.api, metric),
                              timeout=10).json()['archive_policy']
        assert policy['name'] == 'ceilometer-low'
        assert [(d['granularity'], d['timespan']) for d in policy['definition']] == [
            ('0:01:00', '1 day, 0:00:00'), ('0:05:00', '30 days, 0:00:00')]
        rows = requests.get('%s/v1/metric/%s/measures?granularity=60&refresh=true'
                            % (chain.api, metric), timeout=10)
        assert rows.status_code == 200, rows.text
        assert rows.json() and all(granularity == 60.0 for _, granularity, _ in rows.json())
        # Credentials that are sent still decide: a plain user sees no host of telewatch's.
        mine = requests.get(chain.api + '/v1/resource/host', timeout=10,
                            headers={'X-User-Id': 'u1', 'X-Project-Id': 'p1'})
        assert (mine.status_code, mine.json()) == (200, [])
        assert chain.stop() == 0, chain.stderr.read_text()
    finally:
        chain.kill()


def test_a_port_in_use_is_named_and_ends_start_up_without_a_traceback(tmp_path):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(BIN / 'telewatch-all-in-one'), '--config-dir', str(REPO / 'etc'),
             '--data-dir', str(tmp_path / 'data'), '--no-polling', '--port', str(port)],
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert ('telewatch-all-in-one: the API cannot listen on 127.0.0.1:%d: Address already '
            'in use (another telewatch-all-in-one or telewatch-api? --port PORT chooses '
            'another port)\n' % port) in result.stderr
    assert 'Traceback' not in result.stderr
    assert result.stdout == ''
