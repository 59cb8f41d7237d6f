"""What benchmarks/scale.py measures with: the lag of tracer metrics (a sample's timestamp to
its aggregated point, read back through the archive's door), the count of every stored
point against what was sent, and the CPU and RSS of each process tree."""

import collections
import logging
import os
import threading
import time

import numpy
import psutil

from benchmarks import bus_measure

LOG = logging.getLogger('benchmarks.scale')
MINUTE_NS = 60 * 10**9
# Gauges archived with a mean: one point per 60 s bucket per round, so that a round's point
# is there or not (a rate's first round has none). cpu_util is derived by the shipped
# pipeline's rate_of_change: its lag includes the transformer's.
TRACED_METERS = ('memory.usage', 'cpu_util')
RESOLVE_SECONDS = 5.0


def bucket_ns(timestamp):
    """The 60 s bucket of a POSIX timestamp, in ns."""
    return int(timestamp // 60) * MINUTE_NS


def percentiles(values, points=(50, 90, 99)):
    """Nearest-rank percentiles (None without values)."""
    ordered = sorted(values)
    if not ordered:
        return {'p%d' % p: None for p in points}
    return {'p%d' % p: round(ordered[min(len(ordered) - 1,
                                         max(0, -(-p * len(ordered) // 100) - 1))], 3)
            for p in points}


class LagTracer:
    """Polls the tracer metrics whose latest round is not aggregated yet (a few thousand of
    a million, so it is cheap), every ``interval`` s: a round's point showing up in the
    metric's 60 s mean series is its aggregation; lag = when it was seen - the samples'
    timestamp (an upper bound within ``interval`` plus one read)."""

    def __init__(self, store, resource_ids, interval=0.5):
        self.store = store
        self.resource_ids = list(resource_ids)
        self.interval = interval
        self.metrics = {}  # (resource id, meter) -> Metric
        self.waiting = collections.OrderedDict()  # (key, round) -> sample timestamp
        self.lags = collections.defaultdict(list)  # round -> [seconds]
        self.reads = 0
        self.read_seconds = 0.0
        self._resolved_at = -RESOLVE_SECONDS
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='lag-tracer', daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join()

    def expect(self, number, timestamp, first_derived=1):
        """Round ``number``'s samples (stamped ``timestamp``) were sent."""
        with self._lock:
            for rid in self.resource_ids:
                for meter in TRACED_METERS:
                    if meter == 'cpu_util' and number < first_derived:
                        continue
                    self.waiting[(rid, meter), number] = timestamp

    def pending(self):
        with self._lock:
            return len(self.waiting)

    def _resolve(self, keys):
        # The index is busy creating these resources on first sight: ask it now and then.
        if time.monotonic() - self._resolved_at < RESOLVE_SECONDS:
            return
        self._resolved_at = time.monotonic()
        missing = sorted({rid for rid, _ in keys if (rid, TRACED_METERS[0]) not in self.metrics
                          or (rid, TRACED_METERS[1]) not in self.metrics})
        if not missing:
            return
        found = self.store.index.get_resources(missing)
        ids = {}
        for rid, resource in found.items():
            for meter in TRACED_METERS:
                if meter in resource.metrics:
                    ids[resource.metrics[meter]] = (rid, meter)
        for metric_id, metric in self.store.index.get_metrics(list(ids)).items():
            self.metrics[ids[metric_id]] = metric

    def poll(self):
        with self._lock:
            waiting = dict(self.waiting)
        if not waiting:
            return
        begin = time.perf_counter()
        self._resolve({key for key, _ in waiting})
        oldest = {}
        for (key, number), stamp in waiting.items():
            if key in self.metrics:
                oldest[key] = min(oldest.get(key, stamp), stamp)
        found = self.store.many_series({key: (self.metrics[key], 60, 'mean',
                                              bucket_ns(stamp))
                                        for key, stamp in oldest.items()}) if oldest else {}
        now = time.time()
        self.reads += 1
        self.read_seconds += time.perf_counter() - begin
        with self._lock:
            for (key, number), stamp in waiting.items():
                series = found.get(key)
                if series is None or isinstance(series, Exception):
                    continue
                stamps = series[0].view('int64')
                if numpy.any(stamps == bucket_ns(stamp)):
                    self.lags[number].append(now - stamp)
                    del self.waiting[key, number]

    def _run(self):
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception:  # a read racing the index's writers: try again next time
                LOG.exception('tracer poll failed')


def count_stored(store, resource_ids, buckets, first_ns, chunk=5000):
    """(expected, stored points, metrics) of the 60 s series of every metric of these
    resources fed straight by a sample (not a derived meter): one point per 60 s bucket
    the rounds fell in (``buckets``; one per round when rounds are 60 s apart), but a
    rate's (``rate:*``, when the policy has no mean) first, which has none."""
    from benchmarks import workload
    raw = {name for name, _, _, _ in workload.METERS}
    expected = stored = metrics_seen = 0
    ids = list(resource_ids)
    for at in range(0, len(ids), chunk):
        resources = store.index.get_resources(ids[at:at + chunk])
        metrics_seen += sum(len(r.metrics) for r in resources.values())
        metric_ids = [m for r in resources.values() for n, m in r.metrics.items() if n in raw]
        metrics = store.index.get_metrics(metric_ids)
        wanted = {}
        for metric_id, metric in metrics.items():
            policy = store.index.get_archive_policy(metric.archive_policy_name)
            method = 'mean' if 'mean' in policy.methods else sorted(policy.methods)[0]
            expected += buckets - (1 if method.startswith('rate:') else 0)
            wanted[metric_id] = (metric, 60, method, first_ns)
        for series in store.many_series(wanted).values():
            if not isinstance(series, Exception):
                stored += len(series[0])
    return expected, stored, metrics_seen


def series_bytes(series_dir, metric_ids):
    """Mean size of these metrics' series files (the file storage's documented layout,
    ``<storage>/series/<id[:2]>/<id>``); None when none exists yet."""
    sizes = []
    for metric_id in metric_ids:
        try:
            sizes.append(os.stat(os.path.join(series_dir, metric_id[:2], metric_id)).st_size)
        except OSError:
            pass
    return sum(sizes) / len(sizes) if sizes else None


class Processes:
    """CPU seconds and the highest RSS of named process trees, polled now and then."""

    def __init__(self):
        self.roots = {}  # name -> psutil.Process
        self.peak_rss = collections.Counter()
        self.marks = {}  # mark -> {name: cpu seconds}
        self.times = {}  # mark -> time.time()
        self.alone = set()  # names measured without their children

    def add(self, name, pid, children=True):
        self.roots[name] = psutil.Process(pid)
        if not children:
            self.alone.add(name)

    def tree(self, name):
        root = self.roots[name]
        if name in self.alone:
            return [root]
        try:
            return [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def cpu(self):
        return {name: bus_measure.cpu_seconds(self.tree(name)) for name in self.roots}

    def poll(self):
        for name in self.roots:
            rss = 0
            for process in self.tree(name):
                try:
                    rss += process.memory_info().rss
                except psutil.NoSuchProcess:
                    pass
            self.peak_rss[name] = max(self.peak_rss[name], rss)

    def mark(self, label):
        self.marks[label] = self.cpu()
        self.times[label] = time.time()

    def between(self, first, last):
        return {name: round(self.marks[last].get(name, 0) - self.marks[first].get(name, 0), 3)
                for name in self.roots}
