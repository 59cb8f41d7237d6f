"""The all-in-one's progress line, logged once a minute: what was polled, derived, archived
and rejected since the previous line, and how many measures wait to be aggregated."""

import collections
import logging
import threading
import time

LOG = logging.getLogger(__name__)

DEFAULT_INTERVAL = 60


class Counts(collections.namedtuple('Counts', 'polled derived archived aggregated too_late '
                                              'unmapped dropped')):
    """Totals since start-up: samples polled, samples the transformers derived, measures
    archived (durably written) and aggregated, and what was rejected: measures too late
    for their series, samples of meters no resource type maps, samples a publisher
    dropped."""

    def __sub__(self, other):
        return Counts(*(mine - theirs for mine, theirs in zip(self, other)))


ZERO = Counts(*[0] * len(Counts._fields))

_REJECTIONS = (('too_late', '%d too late for their series'),
               ('unmapped', '%d of meters archive_resources.yaml maps to no resource type'),
               ('dropped', '%d dropped by a failing publisher'))


def describe(change, seconds, pending):
    """The progress line of ``change`` (Counts over ``seconds``); ``pending`` is the number
    of measures waiting to be aggregated, None when it could not be read."""
    rejected = [text % getattr(change, field) for field, text in _REJECTIONS
                if getattr(change, field)]
    rejected_total = change.too_late + change.unmapped + change.dropped
    waiting = ('the measures waiting to be aggregated could not be counted'
               if pending is None else '%d measures wait to be aggregated' % pending)
    return ('last %d s: polled %d samples, transformers derived %d more; archived %d '
            'measures, aggregated %d; rejected %d%s; %s' % (
                round(seconds), change.polled, change.derived, change.archived,
                change.aggregated, rejected_total,
                ' (%s)' % ', '.join(rejected) if rejected else '', waiting))


class ProgressLog:
    """Logs ``describe`` of ``read_counts()`` every ``interval`` seconds from a daemon
    thread; ``read_pending()`` gives the measures waiting (its failure is said in the
    line, the thread goes on). ``stop()`` is safe without ``start()`` and twice."""

    def __init__(self, read_counts, read_pending, interval=DEFAULT_INTERVAL,
                 clock=time.monotonic):
        self._read_counts = read_counts
        self._read_pending = read_pending
        self._interval = interval
        self._clock = clock
        self._stop = threading.Event()
        self._thread = None
        self._previous = (ZERO, clock())

    def start(self):
        self._previous = (self._read_counts(), self._clock())
        self._thread = threading.Thread(target=self._loop, name='progress', daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(self._interval):
            try:
                self.log_once()
            except Exception:  # a progress line must never stop the all-in-one
                LOG.exception('the progress line failed')

    def log_once(self):
        counts, now = self._read_counts(), self._clock()
        previous, then = self._previous
        self._previous = (counts, now)
        try:
            pending = self._read_pending()
        except Exception as exc:
            LOG.warning('measures waiting to be aggregated: %s: %s', type(exc).__name__, exc)
            pending = None
        LOG.info(describe(counts - previous, now - then, pending))

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
