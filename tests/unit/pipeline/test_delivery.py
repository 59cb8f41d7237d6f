"""Delivery to one publisher under each failure policy: what is published, retried,
queued, dropped, or handed back so that the input is not acknowledged."""

import pytest

from telewatch import sample as sample_mod
from telewatch.pipeline import delivery
from telewatch.publishers import base as publisher_base

RETRYABLE = publisher_base.RetryablePublishError('down')


class Publisher:
    def __init__(self, policy='retry', max_queue_length=10, failures=()):
        self.delivery = {'policy': policy, 'max_queue_length': max_queue_length}
        self.failures = list(failures)
        self.received = []

    def publish(self, samples):
        if self.failures:
            raise self.failures.pop(0)
        self.received.extend(s.volume for s in samples)


def samples(*volumes):
    return [sample_mod.Sample.create('m', 'gauge', 'u', v, 'r') for v in volumes]


def runner(publisher, retries=2):
    return delivery.PublisherRunner(publisher, retries=retries, backoff=0, sleep=lambda _: None)


def test_retry_succeeds_within_its_attempts():
    publisher = Publisher(failures=[RETRYABLE, RETRYABLE])
    run = runner(publisher)
    assert run.publish(samples(1, 2)) is True
    assert publisher.received == [1, 2]
    assert run.counters == {'retried': 4, 'published': 2}


def test_retry_hands_back_what_it_cannot_publish():
    run = runner(Publisher(failures=[RETRYABLE] * 3))
    assert run.publish(samples(1, 2)) is False
    assert run.counters == {'retried': 4, 'handed_back': 2}


def test_queue_holds_then_sends_first_at_the_next_publish():
    publisher = Publisher('queue', failures=[RETRYABLE])
    run = runner(publisher)
    assert run.publish(samples(1, 2)) is True
    assert (run.queued, publisher.received) == (2, [])
    assert run.publish(samples(3)) is True
    assert publisher.received == [1, 2, 3]
    assert run.counters == {'queued': 2, 'published': 3}


def test_queue_is_drained_on_flush():
    publisher = Publisher('queue', failures=[RETRYABLE])
    run = runner(publisher)
    run.publish(samples(1))
    assert run.drain() is True and publisher.received == [1]


def test_a_full_queue_hands_back_instead_of_dropping():
    publisher = Publisher('queue', max_queue_length=3, failures=[RETRYABLE] * 5)
    run = runner(publisher)
    assert run.publish(samples(1, 2)) is True
    assert run.publish(samples(3, 4)) is False
    assert (run.queued, run.counters['handed_back']) == (2, 2)
    assert run.status() == {'queued': 2, 'handed_back': 2, 'queue_length': 2,
                            'policy': 'queue'}


def test_drop_counts_and_accepts():
    run = runner(Publisher('drop', failures=[RETRYABLE]))
    assert run.publish(samples(1, 2)) is True
    assert run.counters == {'dropped': 2}


@pytest.mark.parametrize('policy', ['retry', 'queue', 'drop'])
@pytest.mark.parametrize('error', [publisher_base.PermanentPublishError('bad'),
                                   RuntimeError('plugin bug')])
def test_permanent_failures_are_dropped_under_every_policy(policy, error):
    run = runner(Publisher(policy, failures=[error]))
    assert run.publish(samples(1)) is True
    assert run.counters == {'dropped': 1}


def test_partial_failure_counts_only_the_failed_samples():
    error = publisher_base.PermanentPublishError('2 bad', samples=2)
    run = runner(Publisher(failures=[error]))
    run.publish(samples(1, 2, 3, 4, 5))
    assert run.counters == {'published': 3, 'dropped': 2}


def test_an_object_without_delivery_options_gets_the_default_policy():
    class Bare:
        def publish(self, samples):
            pass
    assert runner(Bare()).policy == 'retry'


class RefusesSome:
    """Refuses, for good, every batch holding one of ``bad`` (as PostgreSQL refuses a batch
    with one NUL); ``then`` errors replace the refusal, once each, from the first call."""

    def __init__(self, bad, policy='retry', then=()):
        self.delivery = {'policy': policy, 'max_queue_length': 100}
        self.bad = set(bad)
        self.then = list(then)
        self.received, self.calls = [], 0

    def publish(self, samples):
        self.calls += 1
        if self.then:
            raise self.then.pop(0)
        if self.bad & {s.volume for s in samples}:
            raise publisher_base.PermanentPublishError('A string literal cannot contain NUL',
                                                       samples=len(samples))
        self.received.extend(s.volume for s in samples)


@pytest.mark.parametrize('policy', ['retry', 'queue', 'drop'])
def test_a_permanent_failure_drops_only_the_samples_that_fail_alone(policy, caplog):
    publisher = RefusesSome({17, 40}, policy)
    run = runner(publisher)
    assert run.publish(samples(*range(50))) is True
    assert publisher.received == [v for v in range(50) if v not in (17, 40)]
    assert run.counters == {'published': 48, 'dropped': 2}
    assert publisher.calls < 25  # bisection, not one call per sample
    assert caplog.text.count('dropped 2 of 50 samples, each of which failed alone') == 1


def test_a_batch_that_fails_whatever_it_holds_is_dropped_whole():
    publisher = RefusesSome(set(range(8)))
    run = runner(publisher)
    assert run.publish(samples(*range(8))) is True
    assert run.counters == {'dropped': 8}
    assert publisher.calls == 15


def test_a_retryable_failure_while_isolating_hands_back_what_is_left():
    publisher = RefusesSome({0}, then=[publisher_base.PermanentPublishError('x'),
                                       publisher_base.RetryablePublishError('down')])
    run = runner(publisher, retries=0)
    # 4 samples: the whole fails for good, its first half [0, 1] is retryable: [0, 1] and
    # [2, 3] wait; the policy (retry, no retries left) hands them back.
    assert run.publish(samples(0, 1, 2, 3)) is False
    assert run.counters == {'handed_back': 4}


def test_queued_samples_are_isolated_too_when_drained():
    publisher = RefusesSome({2}, 'queue', then=[RETRYABLE])
    run = runner(publisher, retries=0)
    assert run.publish(samples(1, 2, 3)) is True and run.queued == 3
    assert run.drain() is True
    assert publisher.received == [1, 3]
    assert run.counters == {'queued': 3, 'published': 2, 'dropped': 1}
