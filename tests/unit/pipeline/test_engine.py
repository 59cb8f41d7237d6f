"""The running pipeline: routing, chains, flush, publisher failures and counters."""

import logging
import threading
import time

from telewatch import config_file
from telewatch import delivery as delivery_mod
from telewatch import sample as sample_mod
from telewatch.pipeline import config
from telewatch.pipeline import engine
from telewatch.publishers import base as publisher_base


class RecordingPublisher:
    def __init__(self, failures=()):
        self.received = []
        self.failures = list(failures)
        self.started = self.stopped = 0

    def start(self):
        self.started += 1

    def stop(self):
        self.stopped += 1

    def publish(self, samples):
        if self.failures:
            raise self.failures.pop(0)
        self.received.extend(samples)


def make(name='cpu', volume=1.0, resource='r1', second=0, type='cumulative', unit='ns'):
    return sample_mod.Sample.create(name=name, type=type, unit=unit, volume=volume,
                                    resource_id=resource,
                                    timestamp='2026-11-01T00:00:%02dZ' % second)


def manager(conf, text, publishers=None):
    definition = config.parse_pipeline(config_file.parse_yaml(text, 'p.yaml'), conf)
    publishers = publishers if publishers is not None else {}

    def choose(sink):
        return [publishers.setdefault(sink.name, RecordingPublisher())]
    return engine.PipelineManager(definition, conf, publishers_for=choose), publishers


TWO_SOURCES = """
sources:
  - {name: all, meters: ["*"], sinks: [raw]}
  - {name: cpu, meters: [cpu], sinks: [rates]}
sinks:
  - {name: raw, publishers: [log]}
  - name: rates
    transformers: [{name: rate_of_change, parameters: {target: {name: cpu.rate}}}]
    publishers: [log]
"""


def test_each_accepting_pipeline_gets_the_sample(conf):
    pipelines, published = manager(conf, TWO_SOURCES)
    pipelines.process([make(volume=0), make('memory', 5, type='gauge'),
                       make(volume=10, second=10)])
    assert [s.name for s in published['raw'].received] == ['cpu', 'memory', 'cpu']
    assert [(s.name, s.volume) for s in published['rates'].received] == [('cpu.rate', 1.0)]
    assert pipelines.received == 3


def test_transformer_state_is_per_pipeline(conf):
    pipelines, published = manager(conf, """
sources:
  - {name: a, meters: [cpu], sinks: [rates]}
  - {name: b, meters: [cpu], sinks: [rates]}
sinks:
  - name: rates
    transformers: [{name: rate_of_change}]
    publishers: [log]
""")
    pipelines.process([make(volume=0), make(volume=20, second=10)])
    # Both pipelines (a:rates, b:rates) rate the same two samples.
    assert [s.volume for s in published['rates'].received] == [2.0, 2.0]


def test_a_failing_transformer_drops_only_the_sample_it_failed_on(conf, monkeypatch):
    pipelines, published = manager(conf, TWO_SOURCES)
    rate = pipelines.pipelines[1].transformers[0]
    handle = rate.handle

    def flaky(sample):
        if sample.volume == 5:
            raise RuntimeError('plugin bug')
        return handle(sample)
    monkeypatch.setattr(rate, 'handle', flaky)
    pipelines.process([make(volume=0), make(volume=5, second=5), make(volume=20, second=10)])
    assert [s.volume for s in published['rates'].received] == [2.0]
    assert pipelines.counters()['pipelines']['cpu:rates']['errors'] == {
        'RateOfChangeTransformer': 1}


def test_retryable_failures_are_retried_then_published(conf):
    failing = RecordingPublisher([publisher_base.RetryablePublishError('down')] * 2)
    conf.set_override('publish_retry_backoff', 0, group='pipeline')
    pipelines, _ = manager(conf, TWO_SOURCES, {'raw': failing})
    pipelines.process([make(), make('memory', type='gauge')])
    assert len(failing.received) == 2
    runner = pipelines.runners[0]
    assert dict(runner.counters) == {'retried': 4, 'published': 2}


def test_exhausted_retries_make_process_say_not_accepted(conf):
    failing = RecordingPublisher([publisher_base.RetryablePublishError('down')] * 4)
    conf.set_override('publish_retry_backoff', 0, group='pipeline')
    conf.set_override('publish_retries', 3, group='pipeline')
    pipelines, _ = manager(conf, TWO_SOURCES, {'raw': failing})
    assert pipelines.process([make()]) is False
    assert pipelines.runners[0].counters == {'retried': 3, 'handed_back': 1}
    assert pipelines.process([make('memory', type='gauge')]) is True


def test_flush_releases_down_the_rest_of_the_chain(conf):
    pipelines, published = manager(conf, """
sources: [{name: s, meters: ["*"], sinks: [k]}]
sinks:
  - name: k
    transformers:
      - {name: accumulator, parameters: {size: 2}}
      - {name: unit_conversion, parameters: {target: {scale: 2}}}
    publishers: [log]
""")
    pipelines.process([make(volume=1)])
    assert published['k'].received == []
    pipelines.process([make(volume=2)])
    assert [s.volume for s in published['k'].received] == [2.0, 4.0]


def test_process_without_flush_holds_until_flush(conf):
    pipelines, published = manager(conf, """
sources: [{name: s, meters: ["*"], sinks: [k]}]
sinks:
  - {name: k, transformers: [{name: accumulator}], publishers: [log]}
""")
    pipelines.process([make()], flush=False)
    assert published['k'].received == []
    pipelines.flush()
    assert len(published['k'].received) == 1


def test_timer_flushes_without_traffic_and_stop_flushes_and_stops_publishers(conf):
    conf.set_override('flush_interval', 0.1, group='pipeline')
    pipelines, published = manager(conf, """
sources: [{name: s, meters: ["*"], sinks: [k]}]
sinks:
  - {name: k, transformers: [{name: accumulator}], publishers: [log]}
""")
    flushed = threading.Event()
    original = pipelines.flush

    def flush():
        original()
        flushed.set()
    pipelines.flush = flush
    pipelines.start()
    pipelines.process([make()], flush=False)
    assert flushed.wait(5)
    pipelines.stop()
    publisher = published['k']
    assert (len(publisher.received), publisher.started, publisher.stopped) == (1, 1, 1)


def test_route_cache_is_per_meter_name(conf):
    pipelines, _ = manager(conf, TWO_SOURCES)
    pipelines.process([make(), make(), make('memory', type='gauge')])
    assert sorted(pipelines._route_cache) == ['cpu', 'memory']
    assert len(pipelines._route_cache['cpu']) == 2


def test_the_flush_timer_outlives_a_failed_flush(conf, monkeypatch, caplog):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    conf.set_override('flush_interval', 0.1, group='pipeline')
    pipelines, _ = manager(conf, TWO_SOURCES)
    flush, flushes = pipelines.flush, []

    def flush_failing_once():
        flushes.append(True)
        if len(flushes) == 1:
            raise RuntimeError('a bug')
        return flush()
    monkeypatch.setattr(pipelines, 'flush', flush_failing_once)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        pipelines.start()
        try:
            deadline = time.monotonic() + 10
            while len(flushes) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert [t.ended for t in pipelines.threads()] == [False]
        finally:
            pipelines.stop()
    assert len(flushes) >= 3  # the failed one, the next, and stop's
    assert pipelines.counters()['loop_errors'] == {'pipeline-flush': 1}
    assert 'pipeline-flush: unexpected error (1 so far)' in caplog.text


class LifecyclePublisher(RecordingPublisher):
    """A publisher that takes the events of types starting with ``compute.``, recording
    what it receives in order: ('samples', names) or ('events', types)."""

    def __init__(self, failures=(), event_failures=()):
        super().__init__(failures)
        self.event_failures = list(event_failures)
        self.order = []

    def publish(self, samples):
        super().publish(samples)
        self.order.append(('samples', [s.name for s in samples]))

    def handles_event(self, event_type):
        return event_type.startswith('compute.')

    def publish_events(self, events):
        if self.event_failures:
            raise self.event_failures.pop(0)
        self.order.append(('events', [e['event_type'] for e in events]))


def test_events_go_once_to_each_publisher_that_takes_them_after_the_samples(conf):
    lifecycle = LifecyclePublisher()
    pipelines, publishers = manager(conf, TWO_SOURCES, {'raw': lifecycle, 'rates': lifecycle})
    assert pipelines.wants_event('compute.instance.delete.start')
    assert not pipelines.wants_event('image.delete')
    events = [{'event_type': 'compute.instance.delete.start'}, {'event_type': 'image.x'},
              {'event_type': None}]
    assert pipelines.process([make()], events=events) is True
    assert lifecycle.order == [('samples', ['cpu']),
                               ('events', ['compute.instance.delete.start'])]
    assert len(pipelines.event_runners) == 1  # one runner per publisher, as for samples
    status = pipelines.counters()['event_publishers']
    assert [s['published'] for s in status.values()] == [1]
    # A batch of events alone: the pipelines only flush.
    assert pipelines.process([], events=events[:1]) is True
    assert lifecycle.order[-1] == ('events', ['compute.instance.delete.start'])


def test_events_a_publisher_cannot_take_now_are_handed_back_or_dropped(conf):
    conf.set_override('publish_retry_backoff', 0, group='pipeline')
    conf.set_override('publish_retries', 1, group='pipeline')
    down = publisher_base.RetryablePublishError('down')
    lifecycle = LifecyclePublisher(event_failures=[down, down, publisher_base.
                                                   PermanentPublishError('no', 2)])
    pipelines, _ = manager(conf, TWO_SOURCES, {'raw': lifecycle})
    events = [{'event_type': 'compute.a'}, {'event_type': 'compute.b'}]
    assert pipelines.process([], events=events) is False  # not acknowledged: comes again
    # A permanent failure: each event is tried alone, and only what fails alone is dropped.
    assert pipelines.process([], events=events) is True
    assert lifecycle.order == [('events', ['compute.a']), ('events', ['compute.b'])]
    assert pipelines.event_runners[0].counters['handed_back'] == 2
