"""telewatch-pubsub: reads the firehose and delivers each sample to the subscriptions that
want it.

Each worker is a member of the ``[pubsub] consumer_group`` on ``[pubsub] firehose_topic``
(instances on several hosts share the partitions): its reader (telewatch.pubsub.reader)
hands each poll to the dispatcher (telewatch.pubsub.dispatch), which checks every record's
signature (``[publisher] telemetry_secret``), asks the routing (telewatch.pubsub.routing)
which subscriptions want it, applies their sampling intervals, and hands the record's bytes
unchanged to each one's ``Delivery``; records nobody wants are discarded. A batch's offsets
are committed once all of it is settled (see telewatch.pubsub.targets): at-least-once. A
record that is not a signed firehose sample is rejected, counted by reason and logged with
its topic, partition and offset; the worker goes on.

A second thread looks every ``refresh_interval`` for changed subscriptions (a cheap
fingerprint query; the index is rebuilt only on a change) and reports the delivery counters
every ``report_interval`` to the database, where the API adds them up.

Every loop (the consumer's, the control thread's, each delivery's) outlives an unexpected
error: logged, counted in the status' ``loop_errors``, retried after a backoff; a batch
whose dispatch failed is read again. A thread that ends anyway ends the worker (status 2),
and cotyledon starts a new one.
"""

import collections
import json
import logging
import os
import socket
import threading
import time

from telewatch import loops
from telewatch.archive import errors
from telewatch.pubsub import dispatch as dispatch_mod
from telewatch.pubsub import reader as reader_mod
from telewatch.pubsub import routing as routing_mod

LOG = logging.getLogger(__name__)


class PubSubWorker:
    """One consumer of the firehose, in its own thread from ``start`` (which returns at
    once) to ``stop``: its ``router``, ``dispatcher`` and ``reader``, and the control thread
    that refreshes and reports."""
    watch_interval = 1.0

    def __init__(self, conf, registry=None, consumer=None):
        self.conf = conf
        self.loop_errors = collections.Counter()
        self.router = routing_mod.Router(
            conf, '%s:%d' % (socket.gethostname(), os.getpid()), self.loop_errors, registry)
        self.dispatcher = dispatch_mod.Dispatcher(conf.publisher.telemetry_secret,
                                                  self.router)
        self._stopping = threading.Event()
        self.reader = reader_mod.FirehoseReader(conf, self.dispatcher, self._stopping,
                                                consumer)
        self._control = self._consuming = None
        self._next_refresh = self._next_report = self._next_watch = 0.0

    def report(self):
        self.router.report()
        self.dispatcher.new_interval()
        LOG.debug('status: %s', json.dumps(self.status(), sort_keys=True))

    def status(self):
        status = dict(self.dispatcher.counters)
        status['rejected'] = dict(self.dispatcher.rejected)
        status['subscriptions'] = len(self.router.routing.index)
        status['pending_batches'] = len(self.reader.tickets)
        status['loop_errors'] = dict(self.loop_errors)
        return status

    def _control_loop(self):
        loops.run('pubsub-control', self._control_step, self._stopping, self.loop_errors)

    def _control_step(self):
        """Refresh and report when due; the seconds until the next is."""
        conf = self.conf.pubsub
        now = time.monotonic()
        try:
            if now >= self._next_refresh:
                self._next_refresh = now + conf.refresh_interval
                self.router.refresh()
            if now >= self._next_report:
                self._next_report = now + conf.report_interval
                self.report()
        except errors.StorageUnavailable as exc:
            LOG.warning('subscriptions unavailable, trying again: %s', exc)
        return max(0.05, min(self._next_refresh, self._next_report) - time.monotonic())

    def threads(self):
        """The threads that run as long as the worker: consumer, control and deliveries."""
        return ([t for t in [self._consuming, self._control] if t is not None]
                + self.router.threads())

    def _consume_step(self):
        now = time.monotonic()
        if now >= self._next_watch:
            self._next_watch = now + self.watch_interval
            loops.check(self.threads())
        self.reader.run_once()

    def start(self):
        self.router.refresh()
        self._control = loops.start_thread('pubsub-control', self._control_loop,
                                           self._stopping)
        self._consuming = loops.start_thread('pubsub-consumer', self._consume, self._stopping)

    def _consume(self):
        loops.run('pubsub-consumer', self._consume_step, self._stopping, self.loop_errors)
        self._shutdown()

    def _shutdown(self):
        # Whatever is not settled is not committed: another member reads it again.
        self.reader.drain()
        if self._control is not None:
            self._control.join(timeout=30)
        self.router.stop()
        self.report()
        self.router.close()
        self.reader.close()

    def stop(self):
        """Stop consuming; what is settled by then is committed (see ``_shutdown``)."""
        self._stopping.set()
        if self._consuming is not None:
            self._consuming.join()

    def reload(self):
        """SIGHUP: look for changed subscriptions now."""
        self.router.forget()
