"""The Batcher: batches of batch_size, a window of batches in flight, flush waits for all."""

import concurrent.futures

import pytest

from telewatch import bus
from telewatch.polling import sender as sender_mod


class HeldSender(bus.Sender):
    """Keeps every submitted batch's future undone until the test completes it."""

    def __init__(self):
        super().__init__(secret='')
        self.submitted = []

    def send(self, samples):
        raise AssertionError('the Batcher submits')

    def submit(self, samples):
        future = concurrent.futures.Future()
        self.submitted.append((list(samples), future))
        return future


def complete(sender, index, error=None):
    future = sender.submitted[index][1]
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def test_batches_of_batch_size_and_the_rest_at_flush():
    class Immediate(bus.Sender):
        batches = []

        def send(self, samples):
            self.batches.append(list(samples))

    sender = Immediate('')
    batcher = sender_mod.Batcher(sender, 3)
    batcher.add(range(7))
    assert sender.batches == [[0, 1, 2], [3, 4, 5]]
    batcher.flush()
    assert sender.batches[-1] == [6]
    assert batcher.sent == 7


def test_up_to_in_flight_batches_travel_at_once():
    sender = HeldSender()
    batcher = sender_mod.Batcher(sender, 2, in_flight=3)
    complete_on_wait = []
    original = batcher._wait_oldest

    def wait_oldest():
        # The Batcher waits only once the window is full: record when, then let it go.
        complete_on_wait.append(len(sender.submitted))
        complete(sender, len(complete_on_wait) - 1)
        original()

    batcher._wait_oldest = wait_oldest
    batcher.add(range(6))
    assert len(sender.submitted) == 3 and complete_on_wait == []  # three in flight
    batcher.add(range(2))
    assert complete_on_wait == [3]  # the fourth waited for the first
    assert batcher.sent == 2
    batcher.flush()
    assert batcher.sent == 8
    assert all(future.done() for _, future in sender.submitted)


def test_flush_raises_the_failure_of_a_batch():
    sender = HeldSender()
    batcher = sender_mod.Batcher(sender, 1, in_flight=4)
    batcher.add(['a', 'b'])
    complete(sender, 0)
    complete(sender, 1, RuntimeError('broker said no'))
    with pytest.raises(RuntimeError, match='broker said no'):
        batcher.flush()
    assert batcher.sent == 1


def test_the_default_submit_delivers_at_once_and_carries_the_error():
    class Failing(bus.Sender):
        def send(self, samples):
            raise ValueError('cannot encode')

    future = Failing('').submit([1])
    assert future.done()
    with pytest.raises(ValueError):
        future.result()
