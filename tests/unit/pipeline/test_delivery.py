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
