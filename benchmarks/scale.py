"""A simulated cloud end to end: N instances x 10 meters every 60 s, from signed batches on
the real bus to aggregated points and alarms. Prints one JSON document; exits 1 on any loss.

The deployment (one data directory, the embedded default store: SQLite index, file series):

- producers (``--producers`` processes) play the polling agents: each owns a share of the
  instances of benchmarks/workload.py and, every ``--interval`` s, stamps a round of their
  samples with the round's time, cuts it into batches of ``[polling] batch_size`` and sends
  them signed through telewatch.bus (OsloSender + Batcher, ``batches_in_flight``) over the
  real RabbitMQ, on the partition topics of ``[bus] workload_partitioning``;
- two ``telewatch-agent-notification`` daemons (tooz over the real Redis share the
  partitions) run the shipped etc/pipeline.yaml: every meter to ``archive://`` and the rates
  and deltas it derives;
- one ``telewatch-archive-processor`` (one worker) aggregates;
- one ``telewatch-alarm-evaluator`` evaluates ``--alarms`` alarms (mean of cpu_util over 60 s
  of an instance, never breaching), created through the AlarmStore before the run.

Measured: the samples each round sent and received (sustained rates); the lag from a
sample's timestamp to its aggregated point, read back through the archive's door for tracer
metrics (memory.usage and the derived cpu_util of ``--tracers`` instances; p50/p90/p99, for the
first round, which creates every resource and metric, and the steady rounds after it); CPU
per sample of every process (psutil; the broker's from /proc), peak RSS, the disk per metric
(and per metric per day from its growth); and at the end every stored 60 s point of every
metric fed by a sample is counted against what was sent (``lost``). With ``--gnocchi-url``
(default: the Gnocchi 4.7 of tools/services/gnocchi) the same first-write-to-aggregated
time is measured on it for ``--gnocchi-metrics`` metrics (benchmarks/archive_gnocchi.py).

    python benchmarks/scale.py                              # 10,000 instances, 3 rounds
    python benchmarks/scale.py --instances 100000 --minutes 10
"""

import argparse
import datetime
import json
import logging
import multiprocessing
import os
import pathlib
import queue as queue_mod
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

if __package__ in (None, ''):  # run as a script: the repository's root on the path
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from benchmarks import bus as bus_bench  # noqa: E402
from benchmarks import bus_measure  # noqa: E402
from benchmarks import scale_probes as probes  # noqa: E402
from benchmarks import scale_report  # noqa: E402
from benchmarks import workload  # noqa: E402

LOG = logging.getLogger('benchmarks.scale')
REPO = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
SECRET = 'scale-benchmark-secret'
CHUNK = 1000  # instances a producer turns into samples at a time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--instances', type=int, default=10000)
    parser.add_argument('--minutes', type=int, default=3, help='rounds of samples')
    parser.add_argument('--interval', type=float, default=60.0)
    parser.add_argument('--producers', type=int, default=2)
    parser.add_argument('--alarms', type=int, default=10000)
    parser.add_argument('--tracers', type=int, default=1000,
                        help='instances whose memory.usage and cpu_util lag is traced')
    parser.add_argument('--drain', type=float, default=300.0,
                        help='seconds after the last round to wait for everything aggregated')
    parser.add_argument('--first-sight-drain', type=float, default=1800.0,
                        help='seconds after the first round (every resource and metric '
                             'new) to wait for it aggregated')
    parser.add_argument('--transport-url',
                        default=os.environ.get('TELEWATCH_TRANSPORT_URL', bus_bench.DEFAULT_URL))
    parser.add_argument('--coordination-url', default='redis://127.0.0.1:6379')
    parser.add_argument('--gnocchi-url', default='http://127.0.0.1:8051',
                        help='a Gnocchi 4.7 to measure alongside; empty: none')
    parser.add_argument('--gnocchi-metrics', type=int, default=5000)
    parser.add_argument('--gnocchi-rounds', type=int, default=3)
    parser.add_argument('--keep', action='store_true', help='keep the data directory')
    args = parser.parse_args(argv)
    args.argv = list(argv)
    return args


# -- the deployment -------------------------------------------------------------------------


def write_conf(directory, args):
    topic = 'scale-%s' % uuid.uuid4().hex[:12]
    groups = {
        'DEFAULT': {'transport_url': args.transport_url, 'debug': 'false',
                    'data_dir': directory / 'data'},
        'publisher': {'telemetry_secret': SECRET},
        'bus': {'samples_topic': topic, 'workload_partitioning': 'true'},
        'coordination': {'backend_url': args.coordination_url, 'check_watchers': 1},
        'pipeline': {'pipeline_cfg_file': REPO / 'etc' / 'pipeline.yaml'},
        'notification': {'meters_cfg_file': REPO / 'etc' / 'meters.yaml',
                         'notifications_topic': topic + '-notifications',
                         'status_interval': 1},
    }
    text = ''.join('[%s]\n%s' % (group, ''.join('%s = %s\n' % item for item in opts.items()))
                   for group, opts in groups.items())
    (directory / 'data').mkdir()
    path = directory / 'telewatch.conf'
    path.write_text(text)
    return path, topic


class Daemons:
    """The deployment's daemons, each a process tree of its own with its log."""

    def __init__(self, directory, conf_file):
        self.directory = directory
        self.conf_file = conf_file
        self.processes = {}

    def start(self, name, command, extra_conf=''):
        args = [str(BIN / command), '--config-file', str(self.conf_file)]
        if extra_conf:
            extra = self.directory / ('%s.conf' % name)
            extra.write_text(extra_conf)
            args += ['--config-file', str(extra)]
        log = open(self.directory / ('%s.log' % name), 'w')
        self.processes[name] = subprocess.Popen(args, stdout=log, stderr=log,
                                                start_new_session=True)
        return self.processes[name]

    def check(self):
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError('%s exited (%s):\n%s' % (name, process.returncode,
                                                            self.log_tail(name)))

    def log_tail(self, name, chars=3000):
        return (self.directory / ('%s.log' % name)).read_text()[-chars:]

    def stop(self):
        for process in self.processes.values():
            bus_bench.stop_agent(process)


def agent_status(directory, name):
    try:
        return json.loads((directory / ('status-%s.json' % name)).read_text())
    except (OSError, ValueError):
        return {}


def create_alarms(conf, instance_ids, count):
    """``count`` alarms on the cpu_util of the first instances (never breaching)."""
    from telewatch.alarms.storage import store as alarm_store_mod
    alarms = alarm_store_mod.AlarmStore.from_conf(conf)
    alarms.upgrade()
    begin = time.perf_counter()
    for n in range(count):
        alarms.create({
            'name': 'scale-%d' % n, 'type': 'gnocchi_resources_threshold',
            'project_id': 'p', 'user_id': 'u', 'enabled': True, 'alarm_actions': [],
            'ok_actions': [], 'insufficient_data_actions': [], 'repeat_actions': False,
            'severity': 'low', 'time_constraints': [],
            'rule': {'threshold': 1e9, 'comparison_operator': 'gt', 'evaluation_periods': 1,
                     'granularity': 60, 'aggregation_method': 'mean', 'metric': 'cpu_util',
                     'resource_type': 'instance',
                     'resource_id': instance_ids[n % len(instance_ids)]}})
    alarms.close()
    return round(time.perf_counter() - begin, 3)


# -- the producers ------------------------------------------------------------------------------


def send_round(args, index, sender, share, rng, number, at, results):
    """Round ``number`` of this share at ``at``: samples stamped ``at``, sent as the polling
    agent sends (Batcher: batches of [polling] batch_size, batches_in_flight)."""
    from telewatch.polling import sender as sender_mod
    time.sleep(max(0.0, at - time.time()))
    began, cpu = time.time(), time.process_time()
    stamp = datetime.datetime.fromtimestamp(at, datetime.timezone.utc)
    batcher = sender_mod.Batcher(sender, sender.batch_size, sender.in_flight)
    for chunk in range(0, len(share), CHUNK):
        batcher.add(workload.cycle(share[chunk:chunk + CHUNK], stamp,
                                   1000.0 + number * args.interval, args.interval, rng))
    batcher.flush()
    results.put({'producer': index, 'round': number, 'samples': batcher.sent,
                 'began': began, 'late': round(began - at, 3),
                 'seconds': round(time.time() - began, 3),
                 'cpu_seconds': time.process_time() - cpu})


def produce(args, index, conf_file, ready, start, results):
    """One producer ("the polling agents of a share of the compute nodes")."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import random
    from telewatch import bus
    from telewatch import service
    share = workload.fleet(args.instances)[index::args.producers]
    rng = random.Random(index)
    conf = service.prepare_service(['--config-file', str(conf_file)])
    sender = bus.OsloSender(SECRET, conf, in_flight=conf.polling.batches_in_flight)
    sender.batch_size = conf.polling.batch_size
    sender.in_flight = conf.polling.batches_in_flight
    sender.send([])  # connects
    ready.put(index)
    t0 = start.get()
    send_round(args, index, sender, share, rng, 0, t0, results)
    t1 = start.get()  # once the first round is aggregated
    for number in range(1, args.minutes + 1):
        send_round(args, index, sender, share, rng, number,
                   t1 + (number - 1) * args.interval, results)
    sender.close()
    results.put({'producer': index, 'done': True})


class Producers(bus_bench.Producers):
    """bus.Producers' processes, started on a shared start time rather than an event."""

    def __init__(self, args, conf_file):
        context = multiprocessing.get_context('spawn')
        self.ready, self.results = context.Queue(), context.Queue()
        self.starts = [context.Queue() for _ in range(args.producers)]
        self.processes = [context.Process(target=produce, name='producer-%d' % index,
                                          args=(args, index, conf_file, self.ready,
                                                self.starts[index], self.results))
                          for index in range(args.producers)]
        self.done = []
        for process in self.processes:
            process.start()

    def go(self, t0):
        for start in self.starts:
            start.put(t0)

    def rounds(self):
        """The round reports that came in since last asked; whether every producer ended."""
        reports = []
        while True:
            try:
                reports.append(self.results.get_nowait())
            except queue_mod.Empty:
                break
        self.done += [r for r in reports if r.get('done')]
        for process in self.processes:
            if process.exitcode not in (None, 0):
                raise RuntimeError('%s failed (exit %s)' % (process.name, process.exitcode))
        return [r for r in reports if not r.get('done')], len(self.done) == len(self.processes)


# -- the run ------------------------------------------------------------------------------------


def start_daemons(directory, conf_file):
    daemons = Daemons(directory, conf_file)
    daemons.start('processor', 'telewatch-archive-processor')
    for name in ('a', 'b'):
        daemons.start('agent-%s' % name, 'telewatch-agent-notification',
                      '[notification]\nstatus_file = %s\n' % (
                          directory / ('status-%s.json' % name)))
    daemons.start('evaluator', 'telewatch-alarm-evaluator')
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        daemons.check()
        owned = [agent_status(directory, name).get('partitions') for name in 'ab']
        if all(owned) and len(owned[0]) + len(owned[1]) == 10:
            return daemons
        time.sleep(0.5)
    raise RuntimeError('the agents did not share the partitions within 120 s')


class Run:
    """One run: the daemons, the producers, and what is seen of them meanwhile."""

    def __init__(self, args, directory, conf, store, daemons):
        self.args, self.directory, self.store, self.daemons = args, directory, store, daemons
        self.processes = probes.Processes()
        for name, process in daemons.processes.items():
            self.processes.add(name, process.pid)
        self.processes.add('bench', os.getpid(), children=False)
        self.broker = bus_measure.Broker(args.transport_url)
        self.reports, self.backlog, self.times, self.sizes = [], [], {}, []
        self.last_received = (0, 0)
        if self.broker.process is not None:
            self.processes.add('broker', self.broker.process.pid, children=False)
        self.fleet = workload.fleet(args.instances)
        step = max(1, args.instances // max(1, args.tracers))
        self.tracer = probes.LagTracer(store, [i['id'] for i in self.fleet[::step]])

    def received(self):
        status = [agent_status(self.directory, name) for name in 'ab']
        return (sum(s.get('received', 0) for s in status),
                sum(counters.get('published', 0) for s in status
                    for name, counters in (s.get('publishers') or {}).items()
                    if 'archive' in name.lower()))

    def watch(self, producers, schedule, drain):
        """Poll until the rounds of ``schedule`` ({number: time}) are sent and aggregated
        (or ``drain`` s passed after they were sent)."""
        due, ended = sorted(schedule.items()), None
        while True:
            now = time.time()
            while due and now >= due[0][1]:
                self.round_starts(*due.pop(0))
            self.reports += producers.rounds()[0]
            self.processes.poll()
            self.daemons.check()
            received = self.received()
            if received != self.last_received:
                self.last_received, self.times['last_received'] = received, now
            sent = {(r['producer'], r['round']) for r in self.reports}
            if ended is None and all((p, n) in sent for p in range(self.args.producers)
                                     for n in schedule):
                ended = now
            if ended is not None and received[0] >= self.sent() and not self.tracer.pending():
                if not self.store.status()['summary']['measures']:
                    return True
            if ended is not None and now - ended > drain:
                LOG.warning('rounds %s not aggregated %d s after sent', sorted(schedule), drain)
                return False
            time.sleep(1.0)

    def round_starts(self, number, at):
        self.backlog.append({'round': number, 'pending_measures':
                             self.store.status()['summary']['measures']})
        self.tracer.expect(number, at)
        self.note_size(number)
        self.processes.mark('round-%d' % number)

    def note_size(self, number):
        self.sizes.append((number, probes.series_bytes(
            self.directory / 'data' / 'archive' / 'series' / 'series',
            [m.id for m in list(self.tracer.metrics.values())])))

    def sent(self):
        return sum(r['samples'] for r in self.reports)


def measure(args, directory):
    from telewatch import service
    from telewatch.archive import store as store_mod
    from telewatch.archive import policy as policy_mod
    conf_file, topic = write_conf(directory, args)
    conf = service.prepare_service(['--config-file', str(conf_file)])
    store = store_mod.ArchiveStore.from_conf(conf)
    # The embedded default's policies (the all-in-one's: 1-minute points for a day), so that
    # each round has a point of its own.
    store.upgrade(policies=policy_mod.all_in_one_policies())
    fleet_ids = [i['id'] for i in workload.fleet(args.instances)]
    alarm_seconds = create_alarms(conf, fleet_ids, args.alarms) if args.alarms else 0
    daemons = start_daemons(directory, conf_file)
    producers = None
    try:
        run = Run(args, directory, conf, store, daemons)
        producers = Producers(args, conf_file)
        producers.wait_ready()
        run.tracer.start()
        t0 = time.time() + 1
        producers.go(t0)
        run.processes.mark('start')
        run.times['first_sight'] = run.watch(producers, {0: t0}, args.first_sight_drain)
        run.processes.mark('first_sight')
        run.times['first_sight_done'] = time.time()
        run.received_first = run.last_received
        run.archived_first = run.last_received[1]  # all of it aggregated by now
        t1 = max(time.time() + 1, t0 + args.interval)
        producers.go(t1)
        run.processes.mark('steady')
        run.times['drained_in_time'] = run.watch(producers, {
            n: t1 + (n - 1) * args.interval for n in range(1, args.minutes + 1)}, args.drain)
        run.processes.mark('drained')
        run.times['drained'] = time.time()
        run.note_size(args.minutes + 1)
        run.pending_end = store.status()['summary']['measures']
        run.tracer.stop()
        health = store.health()
    finally:
        if producers:
            producers.join()
        daemons.stop()
        cleanup(args, topic)
    result = scale_report.report(args, run, t0, t1, health)
    result['alarms_created_seconds'] = alarm_seconds
    stamps = [t0] + [t1 + (n - 1) * args.interval for n in range(1, args.minutes + 1)]
    result.update(scale_report.stored_and_disk(args, store, fleet_ids, stamps, directory,
                                               result))
    result['disk']['tracer_series_bytes_at_round_start'] = run.sizes
    grown = [(n, b) for n, b in run.sizes if b is not None and n >= 1]
    if len(grown) >= 2:
        per_round = (grown[-1][1] - grown[0][1]) / (grown[-1][0] - grown[0][0])
        result['disk']['series_bytes_per_metric_per_day'] = round(
            per_round * 86400 / args.interval)
    store.close()
    return result


def cleanup(args, topic):
    """The run's queues on the broker and its tooz group in Redis."""
    import redis
    names = ['%s-%d.%s' % (topic, n, p) for n in range(10) for p in bus_bench.PRIORITIES]
    names += ['%s-notifications.%s' % (topic, p) for p in bus_bench.PRIORITIES]
    try:
        broker = bus_measure.Broker(args.transport_url)
        broker.delete(names)
        broker.close()
        client = redis.Redis.from_url(args.coordination_url, socket_timeout=10)
        group = 'telewatch.notification.%s' % topic
        client.srem('_tooz_groups', group)
        client.delete('_tooz_group:%s' % group)
        client.close()
    except Exception as exc:
        LOG.warning('cannot clean up the queues and the group of %s: %s', topic, exc)


def gnocchi(args):
    from benchmarks import archive_gnocchi
    try:
        return archive_gnocchi.first_write_to_aggregated(
            args.gnocchi_url, args.gnocchi_metrics, args.gnocchi_rounds)
    except Exception as exc:  # no Gnocchi here: say so, the rest stands
        return {'skipped': str(exc)[:300]}


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s scale: %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    directory = pathlib.Path(tempfile.mkdtemp(prefix='telewatch-scale-'))
    try:
        result = measure(args, directory)
        if args.gnocchi_url:
            result['gnocchi'] = gnocchi(args)
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write('\n')
        sys.stdout.flush()
    except BaseException:
        for log in sorted(directory.glob('*.log')):
            sys.stderr.write('--- %s\n%s\n' % (log.name, log.read_text()[-3000:]))
        raise
    finally:
        # Last: removing a million files takes minutes where each unlink discards blocks.
        if args.keep:
            LOG.info('kept %s', directory)
        else:
            shutil.rmtree(directory, ignore_errors=True)
    return 0 if result['lost'] == 0 and result['samples_received'] == result[
        'samples_sent'] and result['samples_sent'] else 1


if __name__ == '__main__':
    sys.exit(main())
