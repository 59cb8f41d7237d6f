"""telewatch-archive-processor: workers that aggregate the archive's incoming measures.

Each worker loops over the sacks with pending measures, skipping those another worker
(on this host or, with the postgresql storage, any host) holds, and sleeps
``[archive] processing_delay`` when it found nothing to do. A worker killed at any moment
loses nothing: the measures it was working on stay in the incoming buffer. An unexpected
error is logged, counted (``loop_errors``) and retried after a backoff (telewatch.loops).
"""

import collections
import logging
import sys
import threading

from telewatch import loops
from telewatch import service
from telewatch.archive import errors
from telewatch.archive import store as store_mod

LOG = logging.getLogger(__name__)


class ArchiveProcessor:
    """One processing loop over an ArchiveStore (``start`` blocks until ``stop``)."""

    start_blocks = True  # see service.AgentService

    def __init__(self, conf, store=None):
        self.delay = conf.archive.processing_delay
        self.store = store or store_mod.ArchiveStore.from_conf(conf)
        self._stopping = threading.Event()
        self.processed = 0
        self.rejected = 0
        self.orphaned = 0
        self.loop_errors = collections.Counter()

    def run_once(self):
        """Process every sack with pending measures once; the ProcessReport."""
        report = self.store.process()
        self.processed += report.measures
        self.orphaned += report.orphaned
        for metric_id, count in report.rejected.items():
            self.rejected += count
            LOG.warning('Rejected %d measures of metric %s: older than its archive '
                        "policy's back window allows", count, metric_id)
        if report.measures:
            LOG.debug('Aggregated %d measures of %d metrics in %d sacks', report.measures,
                      report.metrics, report.sacks)
        return report

    def start(self):
        loops.run('archive-processor', self._step, self._stopping, self.loop_errors,
                  loops.Backoff.at_least(self.delay))

    def _step(self):
        """One round; how long to wait before the next (none while there is work)."""
        try:
            report = self.run_once()
        except errors.StorageUnavailable as exc:
            LOG.warning('Archive storage unavailable, retrying: %s', exc)
            return self.delay
        return 0 if report.measures else self.delay

    def stop(self):
        self._stopping.set()

    def reload(self):
        """SIGHUP: nothing to re-read; policies come from the index on every round."""


def main(argv=None):
    conf = service.prepare_service(sys.argv[1:] if argv is None else argv)
    try:
        store_mod.ArchiveStore.from_conf(conf).storage.upgrade()
    except (ValueError, errors.ArchiveError) as exc:
        sys.stderr.write('telewatch-archive-processor: %s\n' % exc)
        return 1
    service.run_agents('telewatch-archive-processor', ArchiveProcessor, conf,
                       workers=conf.archive.processors)
    return 0


if __name__ == '__main__':
    sys.exit(main())
