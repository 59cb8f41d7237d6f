"""Bus throughput: producers publish batches of samples over a real RabbitMQ to ONE notification
agent process running the shipped etc/pipeline.yaml. Prints one JSON document on stdout (logs
go to stderr).

Two phases, each in a deployment (topic, queues) of its own:

- ``agent_only`` (``--mode prefill``): the producers fill the queue while no agent runs, then
  the agent drains it. Its ``sustained_samples_per_second`` is the "through one agent" figure
  of the issue's target, summarised as ``through_one_agent`` with ``meets_target``.
- ``end_to_end`` (``--mode concurrent``): the agent runs and the producers send meanwhile;
  the agent, the producers and the broker share the machine's cores. Summarised as
  ``end_to_end``: samples/s, CPU microseconds per sample of each (and their total), and
  ``cpu_bound_samples_per_second`` = cores / total: what the machine could carry if nothing
  else ran and every process were always busy.

``lost`` = sent - received over both (must be 0).

The agent runs a copy of etc/pipeline.yaml whose every publisher URL is ``log://?level=debug``:
the agent logs at INFO, so the log publisher returns at once (a counting sink that keeps
nothing); the transformers, routes and delivery runners are the shipped ones. The samples are
counted through the agent's own status file (``[notification] status_file``, written every
second with the pipeline's ``received`` counter and each publisher's counters).

Producers (``--producers``, separate processes) build their share of the workload
(benchmarks/workload.py) before timing (batch k of each polling cycle goes to producer k mod
P, so a resource always travels through the same producer, in time order) and send each
cycle as the polling agent does: a Batcher cuts it into batches of ``--batch`` samples and
keeps ``[polling] batches_in_flight`` of them on their way at once (bus.OsloSender: encode, sign,
publish, wait for the broker's confirmation). Everything starts on a signal once every
producer is connected.

Timing: from the first send (prefill: from the agent's first consumer) to the last sample the
agent received. The status file says how many samples were received at each write (its
mtime), one second apart; the last sample is placed inside the last second by the agent's CPU
activity (polled every 20 ms: the agent is idle once it has drained the queue).
``sustained_samples_per_second`` is the slope of the received counter between status writes
while samples were flowing (ramp-up and tail left out).

    python benchmarks/bus.py                      # 400,000 samples each phase, 1 producer
    python benchmarks/bus.py --quick              # 40,000 samples
    python benchmarks/bus.py --mode concurrent --producers 2
    python benchmarks/bus.py --prefill            # agent_only only
    python benchmarks/bus.py --prefill --profile /tmp/agent.prof   # agent under cProfile

``--agent inprocess`` (implied by ``--profile``) runs the same NotificationAgent in a plain
process (``benchmarks/bus.py --serve-agent``) instead of the telewatch-agent-notification
daemon (cotyledon master + one worker); ``--agent-preload FILE`` runs a Python file in that
process before the agent is built (local experiments: monkeypatching a faster decoder, ...).
``--set GROUP.OPTION=VALUE`` adds an option to the configuration file of the agent and the
producers (e.g. ``notification.batch_size=5``, ``polling.batches_in_flight=1``).
``--transport-url`` (default $TELEWATCH_TRANSPORT_URL, else the broker of
tools/services/rabbitmq) picks the broker; ``--rabbitmq-node`` the node ``rabbitmqctl
list_queues`` asks for the queue left at the end.

CPU: the agent's (psutil, the daemon's processes together) from the start signal to the last
sample, per sample and as samples per CPU second (what one core would sustain); the
producers' (time.process_time() around their sends, every thread); the broker's (user +
system time in /proc/<pid>/stat of the process listening on the broker's port, RabbitMQ's
beam.smp; in the prefill phase, while filling plus while draining), and
``other_cpu_seconds``, what the rest of the machine used meanwhile: on a 2-core machine, other
work directly lowers the wall-clock rates, not the CPU figures. The broker is shared with
whatever else uses it meanwhile (other tests), which its figure includes.
``telewatch_commit`` is the commit measured ('+': telewatch/ has local changes).
"""

import argparse
import cProfile
import json
import logging
import math
import multiprocessing
import os
import pathlib
import pstats
import queue as queue_mod
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

import psutil
import yaml

try:
    from benchmarks import bus_measure
    from benchmarks import workload
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
    import bus_measure
    import workload

LOG = logging.getLogger('benchmarks.bus')
HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
SHIPPED_PIPELINE = REPO / 'etc' / 'pipeline.yaml'
METERS_FILE = REPO / 'etc' / 'meters.yaml'
DEFAULT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'
COUNTING_PUBLISHER = 'log://?level=debug'
SECRET = 'bus-benchmark-secret'
TARGET = 100000
METERS_PER_INSTANCE = len(workload.METERS)
PRIORITIES = ('sample', 'info', 'warn', 'error')  # the queues the agent's endpoints listen to


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--samples', type=int, default=400000)
    parser.add_argument('--quick', action='store_true', help='40,000 samples')
    parser.add_argument('--batch', type=int, default=100, help='samples per bus message')
    parser.add_argument('--instances', type=int, default=2000)
    parser.add_argument('--producers', type=int, default=1)
    parser.add_argument('--transport-url',
                        default=os.environ.get('TELEWATCH_TRANSPORT_URL', DEFAULT_URL))
    parser.add_argument('--rabbitmq-node',
                        default=os.environ.get('RABBITMQ_NODENAME', 'telewatch@localhost'),
                        help='node name for `rabbitmqctl list_queues` (tools/services/rabbitmq '
                             'runs telewatch@localhost); empty: ask the broker over AMQP')
    parser.add_argument('--set', action='append', default=[], metavar='GROUP.OPTION=VALUE',
                        help='an option of the agent\'s (and producers\') configuration file, '
                             'e.g. oslo_messaging_rabbit.rabbit_qos_prefetch_count=1000')
    parser.add_argument('--mode', choices=('both', 'prefill', 'concurrent'), default='both',
                        help='prefill: publish everything first, then start the agent: its '
                             'rate alone ("through one agent"), timed from its first consumer '
                             'to the last sample received; concurrent: producers and agent '
                             'together (end to end); both (the default): one, then the other')
    parser.add_argument('--prefill', dest='mode', action='store_const', const='prefill',
                        help='--mode prefill')
    parser.add_argument('--agent', choices=('daemon', 'inprocess'), default='daemon')
    parser.add_argument('--profile', metavar='FILE',
                        help='run the in-process agent under cProfile (every thread), '
                             'write the stats to FILE and the top functions to stderr')
    parser.add_argument('--agent-preload', metavar='FILE',
                        help='a Python file run in the in-process agent before it is built')
    parser.add_argument('--settle', type=float, default=15.0,
                        help='seconds without a new sample (producers done) before giving up')
    parser.add_argument('--serve-agent', metavar='CONF', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.argv = list(argv)
    if args.quick:
        args.samples = 40000
    if args.profile or args.agent_preload:
        args.agent = 'inprocess'
    return args


# -- the deployment -------------------------------------------------------------------------


def counting_pipeline(path):
    """The shipped pipeline.yaml with every publisher URL replaced by the counting one."""
    definition = yaml.safe_load(SHIPPED_PIPELINE.read_text())
    for sink in definition.get('sinks', []):
        sink['publishers'] = [COUNTING_PUBLISHER for _ in sink.get('publishers', [])]
    path.write_text('# %s, publishers replaced by %s\n%s' % (
        SHIPPED_PIPELINE, COUNTING_PUBLISHER, yaml.safe_dump(definition, sort_keys=False)))


def write_deployment(directory, args):
    """The configuration file (its own topic) and the pipeline copy; (conf path, topic)."""
    topic = 'bench-bus-%s' % uuid.uuid4().hex
    counting_pipeline(directory / 'pipeline.yaml')
    groups = {
        'DEFAULT': {'transport_url': args.transport_url, 'debug': 'false'},
        'publisher': {'telemetry_secret': SECRET},
        'bus': {'samples_topic': topic},
        'pipeline': {'pipeline_cfg_file': directory / 'pipeline.yaml'},
        'notification': {'meters_cfg_file': METERS_FILE, 'status_interval': 1,
                         'status_file': directory / 'status.json'},
    }
    for setting in args.set:
        name, _, value = setting.partition('=')
        group, _, option = name.rpartition('.')
        groups.setdefault(group or 'DEFAULT', {})[option] = value
    text = ''.join('[%s]\n%s' % (group, ''.join('%s = %s\n' % item for item in options.items()))
                   for group, options in groups.items())
    conf_file = directory / 'telewatch.conf'
    conf_file.write_text(text)
    return conf_file, topic


# -- the agent ----------------------------------------------------------------------------------


def start_agent(args, conf_file, directory):
    if args.agent == 'daemon':
        command = [str(pathlib.Path(sys.executable).parent / 'telewatch-agent-notification'),
                   '--config-file', str(conf_file)]
    else:
        command = [sys.executable, str(pathlib.Path(__file__).resolve()),
                   '--serve-agent', str(conf_file)]
        if args.profile:
            command += ['--profile', args.profile]
        if args.agent_preload:
            command += ['--agent-preload', args.agent_preload]
    log = open(directory / 'agent.log', 'w')
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log,
                               start_new_session=True)
    process.log = directory / 'agent.log'
    return process


def wait_for_consumer(broker, queue, agent, timeout=120):
    """Wait until the agent consumes ``queue``; the time it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent.poll() is not None:
            raise RuntimeError('the agent exited (%s):\n%s' % (
                agent.returncode, agent.log.read_text()[-3000:]))
        info = broker.queue(queue)
        if info and info[1] >= 1:
            return time.time()
        time.sleep(bus_measure.POLL / 2)
    raise RuntimeError('the agent did not consume %s within %d s' % (queue, timeout))


def agent_processes(agent):
    processes = [psutil.Process(agent.pid)]
    processes += processes[0].children(recursive=True)
    return processes


def stop_agent(agent):
    if agent.poll() is None:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait()


def _profile_every_thread(profiles):
    """cProfile in each thread started from now on (cProfile sees only its own thread),
    timed with each thread's CPU clock: wall time would charge a thread for the GIL it waits
    for (hashlib and os.urandom release it), and the idle waits of the polling thread."""
    def hook(frame, event, arg):
        profile = cProfile.Profile(time.thread_time)
        profiles.append(profile)
        sys.setprofile(None)
        profile.enable()
    threading.setprofile(hook)


def serve_agent(args):
    """The notification agent in this process (the daemon's worker without cotyledon)."""
    if args.agent_preload:
        runpy.run_path(args.agent_preload, run_name='bus_benchmark_preload')
    from telewatch.notification import agent as agent_mod
    from telewatch import service
    conf = service.prepare_service(['--config-file', args.serve_agent])
    agent = agent_mod.NotificationAgent(conf)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.set())
    profiles = []
    if args.profile:
        _profile_every_thread(profiles)
    agent.start()
    while not stopping.wait(0.2):
        pass
    agent.stop()
    threading.setprofile(None)
    if profiles:
        stats = pstats.Stats(*profiles, stream=sys.stderr)
        stats.dump_stats(args.profile)
        stats.sort_stats('tottime').print_stats(25)
        stats.sort_stats('cumulative').print_stats(40)
    return 0


# -- the producers ------------------------------------------------------------------------------


def producer_cycles(args, index):
    """This producer's share of each polling cycle: batch k of a cycle for k mod producers
    == index, its samples in order (its Batcher cuts them into the same batches again)."""
    per_cycle = args.instances * METERS_PER_INSTANCE
    cycles = math.ceil(args.samples / per_cycle)
    samples = workload.generate(args.instances, cycles)[:args.samples]
    shares = []
    for start in range(0, len(samples), per_cycle):
        cycle = samples[start:start + per_cycle]
        shares.append([sample for at in range(0, len(cycle), args.batch)
                       if (at // args.batch) % args.producers == index
                       for sample in cycle[at:at + args.batch]])
    return shares


def produce(args, index, conf_file, ready, go, results):
    """One producer process: build its share, connect, wait for the start, then send each
    cycle as the polling agent does (a Batcher with [polling] batches_in_flight)."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from telewatch import service
    from telewatch import bus
    from telewatch.polling import sender as sender_mod
    cycles = producer_cycles(args, index)
    conf = service.prepare_service(['--config-file', str(conf_file)])
    in_flight = conf.polling.batches_in_flight
    sender = bus.OsloSender(SECRET, conf, in_flight=in_flight)
    sender.send([])  # connects (and declares the queue); the agent receives 0 samples
    ready.put(index)
    go.wait()
    cpu, first = time.process_time(), time.time()  # every thread of the process
    for cycle in cycles:
        batcher = sender_mod.Batcher(sender, args.batch, in_flight)
        batcher.add(cycle)
        batcher.flush()
    last = time.time()
    results.put({'index': index, 'samples': sum(len(c) for c in cycles),
                 'cpu_seconds': time.process_time() - cpu, 'first_send': first,
                 'last_send': last, 'batches_in_flight': in_flight})
    sender.close()


class Producers:
    def __init__(self, args, conf_file):
        context = multiprocessing.get_context('spawn')
        self.ready, self.results = context.Queue(), context.Queue()
        self.go = context.Event()
        self.processes = [context.Process(target=produce, name='producer-%d' % index,
                                          args=(args, index, conf_file, self.ready, self.go,
                                                self.results))
                          for index in range(args.producers)]
        self.done = []
        for process in self.processes:
            process.start()

    def wait_ready(self, timeout=600):
        for _ in self.processes:
            self.ready.get(timeout=timeout)

    def collect(self):
        """Results that came in; True when every producer has reported."""
        while True:
            try:
                self.done.append(self.results.get_nowait())
            except queue_mod.Empty:
                break
        for process in self.processes:
            if process.exitcode not in (None, 0):
                raise RuntimeError('%s failed (exit %s)' % (process.name, process.exitcode))
        return len(self.done) == len(self.processes)

    def join(self):
        for process in self.processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()


# -- measuring ------------------------------------------------------------------------------------


def wait_until_drained(monitor, producers, sent, settle):
    """Poll until every producer is done and the agent received everything (or stalled)."""
    changed = time.monotonic()
    seen = -1
    while True:
        monitor.poll()
        if monitor.received != seen:
            seen, changed = monitor.received, time.monotonic()
        if producers is None or producers.collect():
            total = sent() if producers else sent
            if monitor.received >= total:
                # See the next write, for the time bound.
                for _ in range(int(1.5 / bus_measure.POLL)):
                    time.sleep(bus_measure.POLL)
                    monitor.poll()
                return total
            if time.monotonic() - changed > settle:
                return total
        time.sleep(bus_measure.POLL)


def produce_all(args, conf_file, broker):
    """The prefill: every producer sends while no agent runs; (their reports, the broker's
    CPU seconds from the start signal to the last confirmation)."""
    producers = Producers(args, conf_file)
    producers.wait_ready()
    before = broker.cpu()
    producers.go.set()
    while not producers.collect():
        time.sleep(bus_measure.POLL)
    after = broker.cpu()
    producers.join()
    return producers.done, bus_measure.difference(before, after)


def run(args, directory, prefill):
    """One phase (the agent alone on a prefilled queue, or agent and producers together) in
    a deployment of its own; its report."""
    directory.mkdir()
    conf_file, topic = write_deployment(directory, args)
    samples_queue = '%s.sample' % topic
    broker = bus_measure.Broker(args.transport_url)
    agent = producers = None
    try:
        prefilled, publish_cpu = produce_all(args, conf_file, broker) if prefill else (
            None, None)
        agent = start_agent(args, conf_file, directory)
        consuming = wait_for_consumer(broker, samples_queue, agent)
        processes = agent_processes(agent)
        if not prefilled:
            producers = Producers(args, conf_file)
            producers.wait_ready()
        monitor = bus_measure.Monitor(directory / 'status.json', processes)
        monitor.poll()
        broker_cpu, machine = broker.cpu(), bus_measure.Monitor.machine_cpu()
        if producers:
            producers.go.set()
            sent = wait_until_drained(
                monitor, producers, lambda: sum(r['samples'] for r in producers.done),
                args.settle)
            reports = producers.done
        else:
            reports = prefilled
            sent = wait_until_drained(monitor, None, sum(r['samples'] for r in reports),
                                      args.settle)
        machine = bus_measure.Monitor.machine_cpu() - machine
        broker_cpu = bus_measure.difference(broker_cpu, broker.cpu())
        left = bus_measure.queue_left(broker, samples_queue, args.rabbitmq_node)
        start = consuming if prefilled else min(r['first_send'] for r in reports)
        result = report(args, monitor, reports, sent, start, left, prefill)
        result.update(_broker_figures(broker, broker_cpu, publish_cpu, sent, prefill))
        result['other_cpu_seconds'] = round(machine - monitor.cpu[-1][1] + monitor.cpu[0][1] - (
            broker_cpu or 0) - (0 if prefilled else result['producer_cpu_seconds']), 3)
        busy_elsewhere = result['other_cpu_seconds'] / max(result['seconds'], 1e-9)
        if busy_elsewhere > 0.25:
            result['notes'].append('other processes kept %.1f of the %d cores busy during the '
                                   'run' % (busy_elsewhere, os.cpu_count()))
        if result['broker_restarted']:
            result['notes'].append('the broker was restarted during the run (by someone else): '
                                   'this run does not count')
        return result
    finally:
        if producers:
            producers.join()
        if agent is not None:
            stop_agent(agent)
        try:
            broker.delete('%s.%s' % (topic, priority) for priority in PRIORITIES)
            broker.close()
        except Exception as exc:  # the broker went away (restarted by someone else)
            LOG.warning('cannot delete the queues of %s: %s', topic, exc)


def _broker_figures(broker, timed_cpu, publish_cpu, sent, prefill):
    """The broker's CPU: while timed (prefill: delivering to the agent; otherwise taking
    from the producers and delivering), and per sample over the whole way."""
    figures = {'broker_pid': broker.process.pid if broker.process else None,
               'broker_cpu_seconds': None if timed_cpu is None else round(timed_cpu, 3),
               'broker_restarted': broker.restarted()}
    whole = timed_cpu
    if prefill:
        figures['broker_publish_cpu_seconds'] = (None if publish_cpu is None
                                                 else round(publish_cpu, 3))
        whole = None if None in (timed_cpu, publish_cpu) else timed_cpu + publish_cpu
    figures['broker_us_per_sample'] = (None if whole is None
                                       else round(1e6 * whole / max(sent, 1), 2))
    return figures


def report(args, monitor, reports, sent, start, left, prefill):
    received = monitor.received
    end, upper = monitor.end_time(sent)
    if end is None:  # samples lost: the first write that saw the final count
        end = upper = next((t for t, n, _ in monitor.writes if n == received),
                           monitor.cpu[-1][0])
    seconds = max(end - start, 1e-9)
    agent_cpu = monitor.cpu_until(end)
    rate = received / seconds
    status = monitor.writes[-1][2] if monitor.writes else {}
    producer_cpu = sum(r['cpu_seconds'] for r in reports)
    producer_wall = max(r['last_send'] for r in reports) - min(r['first_send'] for r in reports)
    return {
        'mode': 'prefill' if prefill else 'concurrent',
        'agent': ('telewatch-agent-notification (cotyledon master + 1 worker)'
                  if args.agent == 'daemon' else 'NotificationAgent in one process'
                  + (' under cProfile' if args.profile else '')),
        'samples_sent': sent,
        'samples_received': received,
        'lost': sent - received,
        'queue_messages_left': left,
        'seconds': round(seconds, 3),
        'seconds_upper_bound': round(upper - start, 3),
        'samples_per_second': round(rate),
        'sustained_samples_per_second': _round(monitor.sustained(sent)),
        'agent_cpu_seconds': round(agent_cpu, 3),
        'agent_cpu_percent': round(100 * agent_cpu / seconds, 1),
        'agent_cpu_us_per_sample': round(1e6 * agent_cpu / max(received, 1), 2),
        'agent_samples_per_cpu_second': round(received / agent_cpu) if agent_cpu else None,
        'producers': len(reports),
        'batches_in_flight': reports[0].get('batches_in_flight'),
        'producer_cpu_seconds': round(producer_cpu, 3),
        'producer_seconds': round(producer_wall, 3),
        'producer_us_per_sample': round(1e6 * producer_cpu / max(sent, 1), 2),
        'producer_samples_per_cpu_second': round(sent / max(producer_cpu, 1e-9)),
        'published': {name: counters.get('published') for name, counters in
                      status.get('publishers', {}).items()},
        'rejected': status.get('rejected'),
        'notes': notes(args, prefill, agent_cpu / seconds),
    }


def summary(args, phases):
    """The figures the issue asks for, from the phases that ran."""
    result = {
        'benchmark': 'bus',
        'command': ' '.join(['python', 'benchmarks/bus.py'] + args.argv),
        'python': '%d.%d.%d' % sys.version_info[:3],
        'telewatch_commit': _commit(),
        'transport': _without_credentials(args.transport_url),
        'cpus': os.cpu_count(),
        'pipeline': 'etc/pipeline.yaml, every publisher -> %s' % COUNTING_PUBLISHER,
        'batch': args.batch,
        'options': args.set,
        'target': TARGET,
        'lost': sum(phase['lost'] for phase in phases.values()),
    }
    alone = phases.get('agent_only')
    if alone:
        rate = alone['sustained_samples_per_second'] or alone['samples_per_second']
        result['through_one_agent'] = {
            'samples_per_second': rate,
            'from': 'agent_only.sustained_samples_per_second' if alone[
                'sustained_samples_per_second'] else 'agent_only.samples_per_second',
            'agent_cpu_us_per_sample': alone['agent_cpu_us_per_sample'],
            'agent_samples_per_cpu_second': alone['agent_samples_per_cpu_second']}
        result['meets_target'] = rate >= TARGET and result['lost'] == 0
    together = phases.get('end_to_end')
    if together:
        cpu = {'agent': together['agent_cpu_us_per_sample'],
               'producers': together['producer_us_per_sample'],
               'broker': together['broker_us_per_sample']}
        total = None if None in cpu.values() else round(sum(cpu.values()), 2)
        cpu['total'] = total
        result['end_to_end'] = {
            'samples_per_second': together['samples_per_second'],
            'sustained_samples_per_second': together['sustained_samples_per_second'],
            'cpu_us_per_sample': cpu,
            # What the cores could carry if nothing else ran and every process kept busy.
            'cpu_bound_samples_per_second': round(os.cpu_count() * 1e6 / total)
            if total else None}
    result['phases'] = phases
    return result


def _commit():
    """The checked-out commit of the repository, '+' when telewatch/ has local changes."""
    try:
        head = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=REPO, text=True,
                              capture_output=True, timeout=10).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--', 'telewatch'], cwd=REPO,
                               text=True, capture_output=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (head + ('+' if dirty else '')) or None


def _without_credentials(url):
    parts = urllib.parse.urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition('@')[2]).geturl()


def _round(value):
    return None if value is None else round(value)


def notes(args, prefill, agent_share):
    notes = [
        'samples_per_second = samples_received / seconds, seconds from the first send '
        '(prefill: from the agent\'s first consumer) to the last sample received; the '
        'status file gives that end to the second (seconds_upper_bound), the agent\'s CPU '
        'activity (20 ms polls) places it inside that second',
        'agent_cpu_percent is of one core; the producers, the agent and RabbitMQ share '
        '%d cores; other_cpu_seconds is what the rest of the machine used meanwhile '
        '(other work on the machine slows the run down)' % os.cpu_count(),
    ]
    if prefill:
        notes.append('broker_cpu_seconds: while the agent drained the queue; '
                     'broker_publish_cpu_seconds: while the producers filled it')
    elif agent_share < 0.85:
        notes.append('the agent was busy only %d%% of the time: the producers or the broker '
                     'set the pace, not the agent' % (100 * agent_share))
    if args.profile:
        notes.append('under cProfile: rates are far below the real ones')
    return notes


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.serve_agent:
        return serve_agent(args)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format='%(asctime)s bus: %(message)s')
    directory = pathlib.Path(tempfile.mkdtemp(prefix='telewatch-bus-'))
    phases = {}
    try:
        for name, prefill in (('agent_only', True), ('end_to_end', False)):
            if args.mode in ('both', 'prefill' if prefill else 'concurrent'):
                LOG.info('phase %s', name)
                log = directory / name / 'agent.log'
                try:
                    phases[name] = run(args, directory / name, prefill)
                except BaseException:
                    if log.exists():
                        sys.stderr.write('--- agent log tail\n%s\n' % log.read_text()[-5000:])
                    raise
                if phases[name]['lost'] and log.exists():
                    sys.stderr.write('--- agent log tail\n%s\n' % log.read_text()[-5000:])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    result = summary(args, phases)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0 if result['lost'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
