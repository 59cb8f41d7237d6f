"""The running pipeline: routes samples to (source, sink) pipelines, runs their transformer
chains, flushes them after each batch and on a timer, and hands the results to publishers.

Events (the other services' notifications, for the publishers that take them: archive://
and gnocchi:// end and create resources from them) skip the transformers: each goes to
every publisher of the file whose ``handles_event`` accepts its type, once per publisher,
under the same delivery policy as its samples, after the samples of the same batch.
"""

import collections
import logging
import threading

from oslo_config import cfg

from telewatch import loops
from telewatch.pipeline import delivery

LOG = logging.getLogger(__name__)

OPTS = [
    cfg.StrOpt('pipeline_cfg_file', default='pipeline.yaml',
               help='The pipeline definition (sources, sinks, transformers, publishers). '
                    'A relative path is looked up in the working directory, then in the '
                    'configuration directories; last comes the copy installed with '
                    'telewatch.'),
    cfg.FloatOpt('flush_interval', default=5.0, min=0.1,
                 help='Seconds between flushes of every pipeline when no batch arrives, so '
                      'time-based transformers (aggregator retention_time) release on time.'),
    cfg.FloatOpt('series_ttl', default=3600.0, min=1.0,
                 help='Seconds after which a stateful transformer forgets a series it has '
                      'not seen (bounds memory when resources come and go).'),
    cfg.IntOpt('publish_retries', default=3, min=0,
               help='How often a publish that failed with a retryable error is tried again '
                    'before its samples are dropped and counted.'),
    cfg.FloatOpt('publish_retry_backoff', default=0.5, min=0.0,
                 help='Seconds before the first retry of a publish; doubled at each retry.'),
]

_ROUTE_CACHE_LIMIT = 50000


def register_opts(conf):
    conf.register_opts(OPTS, group='pipeline')


class Pipeline:
    """One (source, sink) pair with its own transformer instances."""

    def __init__(self, name, sink_name, transformers, publishers):
        self.name = name
        self.sink_name = sink_name
        self.transformers = transformers
        self.publishers = publishers
        self.inbox = []
        self.errors = collections.Counter()
        #: samples handed to the publishers (out of the transformers, if any)
        self.published = 0

    def run(self, samples):
        """Transform and publish; False when a publisher handed samples back."""
        samples = self._chain(0, samples)
        return self._publish(samples) if samples else True

    def flush(self):
        """Flush every transformer down the rest of the chain; False as ``run``."""
        accepted = True
        for index, transformer in enumerate(self.transformers):
            try:
                released = transformer.flush()
            except Exception:
                self.errors[type(transformer).__name__] += 1
                LOG.exception('pipeline %s: flush of %s failed', self.name, type(transformer))
                continue
            if released:
                released = self._chain(index + 1, released)
                if released:
                    accepted = self._publish(released) and accepted
        return accepted

    def _chain(self, start, samples):
        for transformer in self.transformers[start:]:
            samples = self._apply(transformer, samples)
            if not samples:
                break
        return samples

    def _apply(self, transformer, samples):
        handle = transformer.handle
        kept = []
        keep = kept.append
        index, count = 0, len(samples)
        while index < count:
            try:
                for index in range(index, count):
                    result = handle(samples[index])
                    if result is not None:
                        keep(result)
                break
            except Exception:
                # Drop only the sample that failed and go on with the rest of the batch.
                self.errors[type(transformer).__name__] += 1
                LOG.exception('pipeline %s: %s failed on %r', self.name,
                              type(transformer).__name__, samples[index])
                index += 1
        return kept

    def _publish(self, samples):
        self.published += len(samples)
        accepted = True
        for publisher in self.publishers:
            accepted = publisher.publish(samples) and accepted
        return accepted


class PipelineManager:
    """All pipelines of one pipeline.yaml; thread-safe ``process`` and ``flush``.

    ``publishers_for(sink_definition)`` chooses the publishers of each sink (by default the
    ones the file names; the replay CLI and the benchmarks substitute their own).
    """

    def __init__(self, definition, conf, publishers_for=None):
        self.definition = definition
        self._conf = conf
        self._lock = threading.Lock()
        self._timer = None
        self._stopping = threading.Event()
        self._route_cache = {}
        self.received = 0
        self.loop_errors = collections.Counter()
        runners = {}

        def runner(publisher):
            if id(publisher) not in runners:
                runners[id(publisher)] = delivery.PublisherRunner(
                    publisher, conf.pipeline.publish_retries, conf.pipeline.publish_retry_backoff)
            return runners[id(publisher)]

        choose = publishers_for or (lambda sink: sink.publishers)
        self.pipelines = []
        self._sources = []
        for name, source, sink in definition.pipelines:
            transformers = [spec.factory(spec.parameters, series_ttl=conf.pipeline.series_ttl)
                            for spec in sink.transformers]
            pipeline = Pipeline(name, sink.name, transformers,
                                [runner(p) for p in choose(sink)])
            self.pipelines.append(pipeline)
            self._sources.append((source.meters, pipeline))
        self.runners = list(runners.values())
        self.event_runners = [
            delivery.PublisherRunner(_EventsOf(runner.publisher), conf.pipeline.publish_retries,
                                     conf.pipeline.publish_retry_backoff)
            for runner in self.runners if hasattr(runner.publisher, 'publish_events')]

    def _route(self, name):
        if len(self._route_cache) >= _ROUTE_CACHE_LIMIT:
            self._route_cache.clear()
        appends = tuple(pipeline.inbox.append for meters, pipeline in self._sources
                        if meters(name))
        self._route_cache[name] = appends
        return appends

    def wants_event(self, event_type):
        """Whether some publisher takes events of this type."""
        return any(runner.publisher.handles(event_type) for runner in self.event_runners)

    def process(self, samples, flush=True, events=()):
        """Run a batch through every pipeline that accepts each sample, then flush; then
        hand ``events`` to the publishers that take them.

        Returns False when some publisher handed samples or events back (its policy could
        not absorb a retryable failure): the caller must not acknowledge the batch's input.
        """
        accepted = True
        with self._lock:
            routes = self._route_cache
            for sample in samples:
                appends = routes.get(sample.name)
                if appends is None:
                    appends = self._route(sample.name)
                for append in appends:
                    append(sample)
            self.received += len(samples)
            for pipeline in self.pipelines:
                inbox = pipeline.inbox
                if inbox:
                    # The route cache holds inbox.append: empty the list, never replace it.
                    batch = inbox[:]
                    inbox.clear()
                    accepted = pipeline.run(batch) and accepted
                if flush:
                    accepted = pipeline.flush() and accepted
            # After the samples: a resource they create in this batch can end in it.
            for runner in self.event_runners if events else ():
                taken = [event for event in events
                         if runner.publisher.handles(event.get('event_type'))]
                if taken:
                    accepted = runner.publish(taken) and accepted
        return accepted

    def flush(self):
        """Flush every pipeline and retry the publishers' queues; False as ``process``."""
        accepted = True
        with self._lock:
            for pipeline in self.pipelines:
                accepted = pipeline.flush() and accepted
            for runner in self.runners + self.event_runners:
                runner.drain()
        return accepted

    def start(self):
        """Start the publishers (consumers first) and the flush timer."""
        for runner in self.runners:
            runner.publisher.start()
        self._stopping.clear()
        self._timer = loops.start_thread('pipeline-flush', self._flush_periodically,
                                         self._stopping)

    def _flush_periodically(self):
        loops.run_every('pipeline-flush', self._conf.pipeline.flush_interval, self.flush,
                        self._stopping, self.loop_errors)

    def threads(self):
        """The flush timer, while started."""
        return [self._timer] if self._timer is not None else []

    def stop(self):
        """Stop the timer, flush what transformers hold, then stop the publishers."""
        self._stopping.set()
        if self._timer is not None:
            self._timer.join()
            self._timer = None
        self.flush()
        for runner in self.runners:
            try:
                runner.publisher.stop()
            except Exception:
                LOG.exception('stopping %r failed', runner.publisher)

    def counters(self):
        """What every pipeline and publisher did, for logs and status pages."""
        return {
            'received': self.received,
            'pipelines': {p.name: {'transformers': [dict(t.counters) for t in p.transformers],
                                   'errors': dict(p.errors)} for p in self.pipelines},
            'publishers': {repr(r.publisher): r.status() for r in self.runners},
            'event_publishers': {repr(r.publisher): r.status() for r in self.event_runners},
            'loop_errors': dict(self.loop_errors),
        }


class _EventsOf:
    """The events side of a publisher, as a PublisherRunner calls it (its own counters
    and queue, the publisher's delivery options)."""

    def __init__(self, publisher):
        self.publisher = publisher
        self.delivery = getattr(publisher, 'delivery', delivery.DEFAULT_DELIVERY)

    def handles(self, event_type):
        return isinstance(event_type, str) and self.publisher.handles_event(event_type)

    def publish(self, events):
        self.publisher.publish_events(events)

    def __repr__(self):
        return '%r events' % (self.publisher,)
