"""The commit-after-acknowledgement consumer loop."""

import collections

import kafka.errors
import pytest
from kafka.structs import TopicPartition

from telewatch.kafka import consumer as consumer_mod

Record = collections.namedtuple('Record', 'offset')
A, B = TopicPartition('t', 0), TopicPartition('t', 1)


class FakeConsumer:
    def __init__(self, polls=(), assigned=(A, B), refuse=False):
        self.polls = list(polls)
        self.assigned = set(assigned)
        self.refuse = refuse
        self.seeks, self.commits = [], []

    def poll(self, timeout_ms, max_records):
        return self.polls.pop(0) if self.polls else {}

    def seek(self, tp, offset):
        self.seeks.append((tp, offset))

    def assignment(self):
        return self.assigned

    def commit(self, offsets):
        if self.refuse:
            raise kafka.errors.CommitFailedError()
        self.commits.append({tp: offset.offset for tp, offset in offsets.items()})


POLL = {A: [Record(3), Record(4)], B: [Record(9)]}


def test_a_step_hands_the_poll_over_and_commits_nothing_by_itself():
    fake = FakeConsumer([POLL])
    handled = []
    assert consumer_mod.Consumer(fake).step(handled.append, 10, 100) == 3
    assert handled == [POLL] and fake.commits == [] and fake.seeks == []
    assert consumer_mod.Consumer(fake).step(handled.append, 10, 100) == 0


def test_a_step_whose_handler_raises_rewinds_the_poll():
    fake = FakeConsumer([POLL])

    def fail(polled):
        raise RuntimeError('a bug')
    with pytest.raises(RuntimeError):
        consumer_mod.Consumer(fake).step(fail, 10, 100)
    assert sorted(fake.seeks) == [(A, 3), (B, 9)]


def test_commit_is_past_the_last_record_and_may_skip_partitions_no_longer_assigned():
    fake = FakeConsumer(assigned=[A])
    consumer = consumer_mod.Consumer(fake)
    offsets = consumer_mod.next_offsets(POLL)
    assert consumer.commit(offsets, assigned_only=True)
    assert consumer.commit(offsets)
    assert fake.commits == [{A: 5}, {A: 5, B: 10}]


def test_a_refused_commit_is_logged_not_raised(caplog):
    consumer = consumer_mod.Consumer(FakeConsumer(refuse=True))
    assert not consumer.commit(consumer_mod.next_offsets(POLL))
    assert 'cannot commit offsets' in caplog.text
