"""What benchmarks/bus.py measures with: the broker (queue depth, its CPU from /proc) and the
agent (its status file's counter and its CPU over time)."""

import json
import logging
import os
import shutil
import subprocess
import time
import urllib.parse

import psutil

LOG = logging.getLogger('benchmarks.bus')
POLL = 0.02
BUSY = 0.3  # share of one core above which the agent counts as working in a poll window


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
        if self.process is None or self.restarted():
            return None
        return cpu_seconds([self.process])

    def restarted(self):
        """Whether the broker process seen at the start is gone (None: never seen)."""
        return None if self.process is None else not self.process.is_running()

    def close(self):
        self._connection.release()


def _broker_process(port):
    """The process listening on the broker's port (RabbitMQ's beam.smp), if this user sees
    it; psutil reads its CPU from /proc/<pid>/stat."""
    try:
        pids = {c.pid for c in psutil.net_connections('tcp')
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port}
    except psutil.AccessDenied:
        pids = {p.pid for p in psutil.process_iter(['name']) if p.info['name'] == 'beam.smp'}
    pids.discard(None)
    return psutil.Process(pids.pop()) if len(pids) == 1 else None


def cpu_seconds(processes):
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


def difference(before, after):
    return None if None in (before, after) else after - before


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
        self.cpu.append((now, cpu_seconds(self._processes)))
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
