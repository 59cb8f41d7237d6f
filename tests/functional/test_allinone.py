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
                 '--port', str(self.port), *args],
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
            metrics = store.indexer.list_metrics()
            series = store.storage.get_many(m.id for m in metrics)
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
    assert any(line.startswith('  polling:        host every 1 s, ') and
               line.endswith('(%s)' % (REPO / 'etc' / 'polling.yaml')) for line in output)
    assert any(line.startswith('  compute:        not polled: libvirt at test://')
               for line in output)
    assert '  API:            http://127.0.0.1:%d/ (no authentication; try: gnocchi ' \
           '--endpoint http://127.0.0.1:%d resource list)' % (chain.port, chain.port) in output
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
