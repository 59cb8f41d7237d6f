"""What an alarm benchmark measures with, whichever service it runs: a webhook receiver for
Aodh's notification body, a CPU sampler of process trees, nearest-rank percentiles."""

import http.server
import json
import math
import threading
import time

import psutil


class Webhook(http.server.ThreadingHTTPServer):
    """A local HTTP server playing the alarms' webhook.

    ``received`` maps alarm_id to the arrival time (time.time()) of its first call with
    ``"current": "alarm"`` (Aodh's body: alarm_name, alarm_id, severity, previous, current,
    reason, reason_data); ``url`` is the base to put in alarm_actions.
    """

    daemon_threads = True

    def __init__(self):
        self.received = {}
        super().__init__(('127.0.0.1', 0), _Hook)
        self.url = 'http://127.0.0.1:%d/hook' % self.server_port
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        now = time.time()
        body = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))))
        if body.get('current') == 'alarm':
            self.server.received.setdefault(body['alarm_id'], now)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def tree_cpu(pid):
    """User + system CPU seconds of process pid and its descendants (0 if it is gone)."""
    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root] + root.children(recursive=True):
            times = proc.cpu_times()
            total += times.user + times.system
        return total
    except psutil.Error:
        return 0.0


class CpuSampler(threading.Thread):
    """Samples (time, CPU of each pid's process tree...) every 0.2 s until ``stopped``."""

    def __init__(self, *pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.samples.append((time.time(),) + tuple(
                tree_cpu(p) if p else 0.0 for p in self.pids))
            self.stopped.wait(0.2)

    def at(self, when, column):
        """CPU seconds of pid number column (1-based) at time when, linear between samples."""
        before = [s for s in self.samples if s[0] <= when] or self.samples[:1]
        after = [s for s in self.samples if s[0] >= when] or self.samples[-1:]
        a, b = before[-1], after[0]
        if b[0] == a[0]:
            return a[column]
        return a[column] + (b[column] - a[column]) * (when - a[0]) / (b[0] - a[0])


def percentile(values, q):
    """The nearest-rank percentile q (0-100) of values."""
    ranked = sorted(values)
    return ranked[min(len(ranked), max(1, math.ceil(q / 100.0 * len(ranked)))) - 1]


def loadavg():
    with open('/proc/loadavg') as f:
        return [float(x) for x in f.read().split()[:3]]
