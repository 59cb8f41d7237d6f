"""The delivery module: backoff, retries, policies and counters."""

import pytest

from telewatch import delivery


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = delivery.Backoff(0.5, 3.0)
    assert [backoff.next() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    backoff.reset()
    assert backoff.next() == 0.5
    unbounded = delivery.Backoff(1.0, maximum=None)
    assert [unbounded.next() for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]


def test_backoff_at_least_an_interval_never_retries_sooner():
    assert delivery.Backoff.at_least(10).next() == 10
    slow = delivery.Backoff.at_least(300)
    assert [slow.next(), slow.next()] == [300, 300]
    assert delivery.Backoff.at_least(0).next() == delivery.MIN_DELAY


class Flaky:
    """Raises each of ``failures`` in turn, then returns 'done'."""

    def __init__(self, *failures):
        self.failures = list(failures)
        self.calls = 0

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return 'done'


def test_retry_waits_a_doubling_backoff_between_attempts():
    sleeps, retries = [], []
    call = Flaky(OSError('a'), OSError('b'))
    result = delivery.retry(call, OSError, 3, delivery.Backoff(1.0, None), sleeps.append,
                            on_retry=lambda exc, n, delay: retries.append((str(exc), n, delay)))
    assert (result, call.calls, sleeps) == ('done', 3, [1.0, 2.0])
    assert retries == [('a', 1, 1.0), ('b', 2, 2.0)]


def test_retry_raises_the_last_error_once_its_retries_are_spent():
    sleeps = []
    call = Flaky(OSError('a'), OSError('b'), OSError('c'))
    with pytest.raises(OSError, match='b'):
        delivery.retry(call, OSError, 1, delivery.Backoff(1.0), sleeps.append)
    assert (call.calls, sleeps) == (2, [1.0])


def test_retry_lets_other_errors_through_at_once():
    call = Flaky(ValueError('bug'))
    with pytest.raises(ValueError):
        delivery.retry(call, OSError, 3, delivery.Backoff(), lambda delay: None)
    assert call.calls == 1


def test_retry_without_a_bound_goes_on_until_it_succeeds():
    sleeps = []
    call = Flaky(*[OSError()] * 10)
    assert delivery.retry(call, OSError, None, delivery.Backoff(1.0, 4.0),
                          sleeps.append) == 'done'
    assert sleeps == [1.0, 2.0, 4.0] + [4.0] * 7


@pytest.mark.parametrize('name, immediate, again', [
    ('retry', 2, [True, True, False]),
    ('queue', 0, [True, True, True]),
    ('drop', 0, [False, False, False]),
])
def test_policies_say_how_often_to_try_again(name, immediate, again):
    policy = delivery.Policy(name, max_queue_length=3, retries=2)
    assert policy.immediate_retries == immediate
    assert [policy.tries_again(failures) for failures in (1, 2, 3)] == again
    assert policy.has_room(1, 2) and not policy.has_room(2, 2)


def test_an_unknown_policy_is_refused():
    with pytest.raises(ValueError, match='one of retry, queue, drop'):
        delivery.Policy('hold')


def test_counters_add_and_take():
    counters = delivery.Counters()
    assert counters.add('sent', 2) == 2
    counters.add('sent', 3)
    counters.add('lost', 0)
    assert counters == {'sent': 5, 'lost': 0}
    assert counters.take() == {'sent': 5}
    assert counters.take() == {}


def test_retry_can_start_from_the_failure_of_the_callers_own_first_attempt():
    sleeps, retries = [], []
    call = Flaky(OSError('b'))
    result = delivery.retry(call, OSError, 2, delivery.Backoff(1.0, None), sleeps.append,
                            on_retry=lambda exc, n, delay: retries.append((str(exc), n)),
                            failed=OSError('a'))
    assert (result, call.calls, sleeps) == ('done', 2, [1.0, 2.0])
    assert retries == [('a', 1), ('b', 2)]
    with pytest.raises(OSError, match='a'):
        delivery.retry(Flaky(), OSError, 0, delivery.Backoff(), sleeps.append,
                       failed=OSError('a'))
