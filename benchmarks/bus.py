"""Bus throughput: producers publish batches of samples over a real RabbitMQ to ONE notification
agent process running the shipped etc/pipeline.yaml. Prints one JSON document on stdout (logs
go to stderr).

The agent runs a copy of etc/pipeline.yaml whose every publisher URL is ``log://?level=debug``:
the agent logs at INFO, so the log publisher returns at once (a counting sink that keeps
nothing); the transformers, routes and delivery runners are the shipped ones. The samples are
counted through the agent's own status file (``[notification] status_file``, written every
second with the pipeline's ``received`` counter and each publisher's counters).

Producers (``--producers``, separate processes) build their share of the workload
(benchmarks/workload.py) before timing, cut it into batches of ``--batch`` samples (batch k of
each polling cycle goes to producer k mod P, so a resource always travels through the same
producer, in time order) and send each with ``BusSender.send`` (encode, sign, publish), as the
polling agent does. Everything starts on a signal once every producer is connected.

Timing: from the first send to the last sample the agent received. The status file says how
many samples were received at each write (its mtime), one second apart; the last sample is
placed inside the last second by the agent's CPU activity (polled every 20 ms: the agent is
idle once it has drained the queue). ``sustained_samples_per_second`` is the slope of the
received counter between status writes while samples were flowing (ramp-up and tail left out).

    python benchmarks/bus.py                      # 400,000 samples, 1 producer
    python benchmarks/bus.py --quick              # 40,000 samples
    python benchmarks/bus.py --producers 2 --set notification.batch_size=50
    python benchmarks/bus.py --prefill            # the queue is filled before the agent starts
    python benchmarks/bus.py --profile /tmp/agent.prof   # in-process agent under cProfile

``--agent inprocess`` (implied by ``--profile``) runs the same NotificationAgent in a plain
process (``benchmarks/bus.py --serve-agent``) instead of the telewatch-agent-notification
daemon (cotyledon master + one worker); ``--agent-preload FILE`` runs a Python file in that
process before the agent is built (local experiments: monkeypatching a faster decoder, ...).
``--set GROUP.OPTION=VALUE`` adds an option to the configuration file of the agent and the
producers (e.g. ``notification.batch_size=5``). ``--transport-url`` (default
$TELEWATCH_TRANSPORT_URL, else the broker of tools/services/rabbitmq) picks the broker;
``--rabbitmq-node`` the node ``rabbitmqctl list_queues`` asks for the queue left at the end.

CPU: the agent's (psutil, the daemon's processes together) from the start signal to the last
sample, per sample and as samples per CPU second (what one core would sustain); the
producers' (time.process_time() around their sends); the broker's (the process listening on
the broker's port, when visible), and ``other_cpu_seconds``, what the rest of the machine
used meanwhile: on a 2-core machine, other work directly lowers the end-to-end rate.
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
    from benchmarks import workload
except ImportError:  # run as a script: benchmarks/ is sys.path[0]
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
POLL = 0.02
BUSY = 0.3  # share of one core above which the agent counts as working in a poll window


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
    parser.add_argument('--prefill', action='store_true',
                        help='publish everything first, then start the agent: its rate alone, '
                             'timed from its first consumer to the last sample received')
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


class Broker:
    """A plain kombu connection beside the benchmark: queue depth and consumers, clean-up."""

    def __init__(self, transport_url):
        import kombu
        url = urllib.parse.urlsplit(transport_url)
        self._connection = kombu.Connection(url._replace(scheme='amqp').geturl())
        self.process = _broker_process(url.port or 5672)

    def queue(self, name):
        """(ready messages, consumers) of a queue, None when it does not exist."""
        channel = self._connection.channel()
        try:
            _, messages, consumers = channel.queue_declare(queue=name, passive=True)
            return messages, consumers
        except self._connection.channel_errors:
            return None
        finally:
            try:
                channel.close()
            except Exception:  # a channel closed by the broker's 404
                pass

    def delete(self, names):
        for name in names:
            channel = self._connection.channel()
            try:
                channel.queue_delete(queue=name)
            except self._connection.channel_errors:
                pass
            finally:
                try:
                    channel.close()
                except Exception:
                    pass

    def cpu(self):
        """The node's CPU seconds; None when it is not visible or was restarted."""
        if self.restarted():
            return None
        return _cpu([self.process])

    def restarted(self):
        """Whether the broker process seen at the start is gone (None: never seen)."""
        return None if self.process is None else not self.process.is_running()

    def close(self):
        self._connection.release()


def _broker_process(port):
    """The process listening on the broker's port (on this machine), if this user sees it."""
    try:
        pids = {c.pid for c in psutil.net_connections('tcp')
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port}
    except psutil.AccessDenied:
        return None
    pids.discard(None)
    return psutil.Process(pids.pop()) if len(pids) == 1 else None


def _cpu(processes):
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def rabbitmqctl_messages(queue, node):
    """Ready + unacknowledged messages of a queue from rabbitmqctl (None if not available)."""
    command = shutil.which('rabbitmqctl') or '/usr/sbin/rabbitmqctl'
    if not node or not os.path.exists(command):
        return None
    env = dict(os.environ, RABBITMQ_NODENAME=node)
    try:
        output = subprocess.run([command, '-q', 'list_queues', 'name', 'messages'], env=env,
                                capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == queue:
            return int(fields[1])
    return None


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
        time.sleep(POLL / 2)
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


def producer_batches(args, index):
    """This producer's batches: batch k of each polling cycle for k mod producers == index."""
    per_cycle = args.instances * METERS_PER_INSTANCE
    cycles = math.ceil(args.samples / per_cycle)
    samples = workload.generate(args.instances, cycles)[:args.samples]
    batches = []
    for start in range(0, len(samples), per_cycle):
        cycle = samples[start:start + per_cycle]
        batches += [cycle[at:at + args.batch] for at in range(0, len(cycle), args.batch)
                    if (at // args.batch) % args.producers == index]
    return batches


def produce(args, index, conf_file, ready, go, results):
    """One producer process: build its batches, connect, wait for the start, send."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from telewatch import service
    from telewatch.polling import sender as sender_mod
    batches = producer_batches(args, index)
    conf = service.prepare_service(['--config-file', str(conf_file)])
    sender = sender_mod.BusSender(SECRET, conf)
    sender.send([])  # connects (and declares the queue); the agent receives 0 samples
    ready.put(index)
    go.wait()
    cpu, first = time.process_time(), time.time()
    for batch in batches:
        sender.send(batch)
    last = time.time()
    results.put({'index': index, 'samples': sum(len(b) for b in batches),
                 'cpu_seconds': time.process_time() - cpu, 'first_send': first,
                 'last_send': last})
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


class Monitor:
    """The agent's status writes [(mtime, received, status)] and CPU [(time, cpu seconds)]."""

    def __init__(self, status_file, processes):
        self._status_file = status_file
        self._processes = processes
        self._mtime = None
        self.writes = []
        self.cpu = []

    @property
    def received(self):
        return self.writes[-1][1] if self.writes else 0

    def poll(self):
        now = time.time()
        self.cpu.append((now, _cpu(self._processes)))
        try:
            mtime = self._status_file.stat().st_mtime
            if mtime != self._mtime:
                status = json.loads(self._status_file.read_text())
                self._mtime = mtime
                self.writes.append((mtime, status['received'], status))
        except (OSError, ValueError):  # not written yet, or being replaced
            pass

    @staticmethod
    def machine_cpu():
        """CPU seconds every process of the machine has used (all cores)."""
        times = psutil.cpu_times()
        return times.user + times.nice + times.system + times.irq + times.softirq

    def last_busy(self, after, until):
        """The end of the last poll window in (after, until] where the agent worked."""
        last = None
        for (t0, c0), (t1, c1) in zip(self.cpu, self.cpu[1:]):
            if after < t1 <= until + POLL and t1 > t0 and (c1 - c0) / (t1 - t0) >= BUSY:
                last = min(t1, until)
        return last

    def cpu_until(self, end):
        """The agent's CPU seconds from the first poll to the first poll at or after end."""
        at = next((c for t, c in self.cpu if t >= end), self.cpu[-1][1])
        return at - self.cpu[0][1]

    def sustained(self, total):
        """Slope of the received counter over the status writes while samples flowed."""
        flowing = [(t, n) for t, n, _ in self.writes if 0 < n < total]
        if len(flowing) < 2 or flowing[-1][0] <= flowing[0][0]:
            return None
        return (flowing[-1][1] - flowing[0][1]) / (flowing[-1][0] - flowing[0][0])

    def end_time(self, total):
        """When the last sample was received: (estimate, upper bound from the status file)."""
        final = next((i for i, (_, n, _) in enumerate(self.writes) if n >= total), None)
        if final is None:
            return None, None
        upper = self.writes[final][0]
        lower = self.writes[final - 1][0] if final else self.cpu[0][0]
        return self.last_busy(lower, upper) or lower + POLL, upper


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
                for _ in range(int(1.5 / POLL)):  # see the next write, for the time bound
                    time.sleep(POLL)
                    monitor.poll()
                return total
            if time.monotonic() - changed > settle:
                return total
        time.sleep(POLL)


def produce_all(args, conf_file):
    """The prefill: every producer sends while no agent runs."""
    producers = Producers(args, conf_file)
    producers.wait_ready()
    producers.go.set()
    while not producers.collect():
        time.sleep(POLL)
    producers.join()
    return producers.done


def run(args, directory):
    conf_file, topic = write_deployment(directory, args)
    samples_queue = '%s.sample' % topic
    broker = Broker(args.transport_url)
    agent = producers = None
    try:
        prefilled = produce_all(args, conf_file) if args.prefill else None
        agent = start_agent(args, conf_file, directory)
        consuming = wait_for_consumer(broker, samples_queue, agent)
        processes = agent_processes(agent)
        if not prefilled:
            producers = Producers(args, conf_file)
            producers.wait_ready()
        monitor = Monitor(directory / 'status.json', processes)
        monitor.poll()
        broker_cpu, machine = broker.cpu(), monitor.machine_cpu()
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
        machine = monitor.machine_cpu() - machine
        broker_end = broker.cpu()
        broker_cpu = None if None in (broker_cpu, broker_end) else broker_end - broker_cpu
        left = queue_left(broker, samples_queue, args.rabbitmq_node)
        start = consuming if prefilled else min(r['first_send'] for r in reports)
        result = report(args, monitor, reports, sent, start, left)
        result['broker_cpu_seconds'] = None if broker_cpu is None else round(broker_cpu, 3)
        result['broker_restarted'] = broker.restarted()
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


def queue_left(broker, name, node):
    """Messages left in the samples queue (rabbitmqctl: ready + unacknowledged; else ready)."""
    left = rabbitmqctl_messages(name, node)
    if left is None:
        try:
            info = broker.queue(name)
        except Exception as exc:
            LOG.warning('cannot read the queue %s: %s', name, exc)
            return None
        left = info[0] if info else None
    return left


def report(args, monitor, reports, sent, start, left):
    received = monitor.received
    end, upper = monitor.end_time(sent)
    if end is None:  # samples lost: the first write that saw the final count
        end = upper = next((t for t, n, _ in monitor.writes if n == received),
                           monitor.cpu[-1][0])
    seconds = max(end - start, 1e-9)
    agent_cpu = monitor.cpu_until(end)
    rate = received / seconds
    status = monitor.writes[-1][2] if monitor.writes else {}
    producer_wall = max(r['last_send'] for r in reports) - min(r['first_send'] for r in reports)
    return {
        'benchmark': 'bus',
        'command': ' '.join(['python', 'benchmarks/bus.py'] + args.argv),
        'python': '%d.%d.%d' % sys.version_info[:3],
        'telewatch_commit': _commit(),
        'transport': _without_credentials(args.transport_url),
        'cpus': os.cpu_count(),
        'mode': 'prefill' if args.prefill else 'concurrent',
        'agent': ('telewatch-agent-notification (cotyledon master + 1 worker)'
                  if args.agent == 'daemon' else 'NotificationAgent in one process'
                  + (' under cProfile' if args.profile else '')),
        'pipeline': 'etc/pipeline.yaml, every publisher -> %s' % COUNTING_PUBLISHER,
        'batch': args.batch,
        'options': args.set,
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
        'producer_cpu_seconds': round(sum(r['cpu_seconds'] for r in reports), 3),
        'producer_seconds': round(producer_wall, 3),
        'producer_us_per_sample': round(
            1e6 * sum(r['cpu_seconds'] for r in reports) / max(sent, 1), 2),
        'producer_samples_per_cpu_second': round(
            sent / max(sum(r['cpu_seconds'] for r in reports), 1e-9)),
        'producers': len(reports),
        'published': {name: counters.get('published') for name, counters in
                      status.get('publishers', {}).items()},
        'rejected': status.get('rejected'),
        'target': TARGET,
        'meets_target': rate >= TARGET and sent == received,
        'notes': notes(args, rate, agent_cpu / seconds),
    }


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


def notes(args, rate, agent_share):
    notes = [
        'samples_per_second = samples_received / seconds, seconds from the first send '
        '(--prefill: from the agent\'s first consumer) to the last sample received; the '
        'status file gives that end to the second (seconds_upper_bound), the agent\'s CPU '
        'activity (20 ms polls) places it inside that second',
        'agent_cpu_percent is of one core; the producers, the agent and RabbitMQ share '
        '%d cores; other_cpu_seconds is what the rest of the machine used meanwhile '
        '(other work on the machine slows the run down)' % os.cpu_count(),
    ]
    if not args.prefill and agent_share < 0.85:
        notes.append('the agent was busy only %d%% of the time: the producers or the broker '
                     'set the pace, not the agent (try --producers 2, or --prefill)'
                     % (100 * agent_share))
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
    log = directory / 'agent.log'
    try:
        result = run(args, directory)
        if result['lost'] and log.exists():
            sys.stderr.write('--- agent log tail\n%s\n' % log.read_text()[-5000:])
    except BaseException:
        if log.exists():
            sys.stderr.write('--- agent log tail\n%s\n' % log.read_text()[-5000:])
        raise
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write('\n')
    return 0 if result['lost'] == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
