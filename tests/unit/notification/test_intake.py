"""Every message that reaches the agent is processed, rejected or dead-lettered, and counted
once: what a bad message or sample does to its batch."""

import json
import logging

import pytest

from telewatch import messages
from telewatch import sample as sample_mod
from telewatch.notification import decoders
from telewatch.notification import intake as intake_mod

SECRET = 'secret'


def make_samples(count, prefix='vm'):
    return [sample_mod.Sample.create('cpu', 'cumulative', 'ns', i, '%s-%d' % (prefix, i),
                                     timestamp='2026-11-01T00:00:00Z') for i in range(count)]


def envelope(samples, secret=SECRET, message_id='m-1'):
    return {'event_type': messages.SAMPLES_EVENT_TYPE, 'publisher_id': 'poller-1',
            'payload': messages.encode_batch(samples, secret),
            'metadata': {'message_id': message_id}}


def ceilometer(meters, message_id='c-1'):
    return {'event_type': messages.CEILOMETER_EVENT_TYPE, 'publisher_id': 'ceilometer-poller',
            'payload': {'samples': meters}, 'metadata': {'message_id': message_id}}


class Pipeline:
    """``process``: takes the samples, or hands them back, or raises (``raises`` decides
    from the samples)."""

    def __init__(self, accept=True, raises=lambda samples: False):
        self.accept = accept
        self.raises = raises
        self.taken = []
        self.calls = 0

    def __call__(self, samples):
        self.calls += 1
        if self.raises(samples):
            raise TypeError('a bug for this sample')
        if self.accept:
            self.taken.extend(s.id for s in samples)
        return self.accept


def make_intake(tmp_path, pipeline, attempts=3):
    return intake_mod.Intake(
        pipeline, {'sample': lambda message: decoders.decode_samples(message, SECRET)},
        intake_mod.DeadLetters(str(tmp_path / 'dead-letter')), attempts=attempts,
        retry_delay=0, sleep=lambda _: None)


POISON = [
    ({'event_type': messages.CEILOMETER_EVENT_TYPE, 'payload': {'samples': [1, 'x']}}, 'sample'),
    ({'event_type': messages.SAMPLES_EVENT_TYPE, 'payload': 'not an envelope'}, 'format'),
    ({'event_type': messages.SAMPLES_EVENT_TYPE, 'payload': None}, 'format'),
    ({'event_type': 'something.else', 'payload': {}}, 'format'),
    ({'event_type': messages.CEILOMETER_EVENT_TYPE, 'payload': [1, 2]}, 'payload'),
    ({'event_type': messages.CEILOMETER_EVENT_TYPE, 'payload': {'samples': [{'a': float('nan')}]}},
     'signature'),
    (envelope(make_samples(2), 'another secret'), 'signature'),
]


@pytest.mark.parametrize('poison, reason', POISON)
def test_a_poison_message_is_rejected_once_and_the_batch_goes_on(tmp_path, poison, reason,
                                                                 caplog):
    pipeline = Pipeline()
    intake = make_intake(tmp_path, pipeline)
    good = make_samples(4)
    batch = [envelope(good[:2], message_id='a'), poison, envelope(good[2:], message_id='b')]
    with caplog.at_level(logging.WARNING):
        assert intake.handle('sample', batch) == set()
    assert pipeline.taken == [s.id for s in good]
    assert intake.counters() == {'rejected': {reason: 1}, 'rejected_samples': {},
                                 'dead_lettered': {}}
    assert caplog.text.count('rejected a message (%s)' % reason) == 1


def test_any_exception_of_a_decoder_rejects_only_its_message(tmp_path):
    def decode(message):
        if message == 'poison':
            raise TypeError("'int' object is not iterable")
        return make_samples(1, message), []
    pipeline = Pipeline()
    intake = intake_mod.Intake(pipeline, {'info': decode}, None)
    assert intake.handle('info', ['a', 'poison', 'b']) == set()
    assert len(pipeline.taken) == 2 and intake.rejected == {'malformed': 1}


def test_a_message_of_a_priority_nobody_handles_is_rejected(tmp_path):
    intake = make_intake(tmp_path, Pipeline())
    assert intake.handle('audit', [envelope(make_samples(1))]) == set()
    assert intake.handle(None, [envelope(make_samples(1))]) == set()
    assert intake.handle(['unhashable'], [envelope(make_samples(1))]) == set()
    assert intake.rejected == {'format': 3}


def test_a_ceilometer_message_loses_only_its_bad_meters(tmp_path):
    good = [dict(meter, message_signature=sample_mod.ceilometer_signature(meter, SECRET))
            for meter in (s.to_ceilometer_dict() for s in make_samples(3))]
    forged = dict(good[1], counter_volume=99.0)
    pipeline = Pipeline()
    intake = make_intake(tmp_path, pipeline)
    assert intake.handle('sample', [ceilometer([good[0], forged, 7, good[2]])]) == set()
    assert len(pipeline.taken) == 2
    assert intake.counters() == {'rejected': {}, 'dead_lettered': {},
                                 'rejected_samples': {'signature': 1, 'sample': 1}}


def test_a_nul_in_a_signed_batch_rejects_that_sample_and_keeps_the_49_others(tmp_path):
    samples = make_samples(50)
    samples[10] = samples[10]._replace(resource_id='vm\x00evil')
    pipeline = Pipeline()
    intake = make_intake(tmp_path, pipeline)
    assert intake.handle('sample', [envelope(samples)]) == set()
    assert len(pipeline.taken) == 49 and samples[10].id not in pipeline.taken
    assert intake.counters()['rejected_samples'] == {'sample': 1}
    assert intake.rejected == {}


def test_handed_back_messages_come_again_but_rejections_are_counted_once(tmp_path):
    pipeline = Pipeline(accept=False)
    intake = make_intake(tmp_path, pipeline)
    samples = make_samples(3)
    samples[1] = samples[1]._replace(resource_id='\x00')
    batch = [POISON[0][0], envelope(samples), envelope(make_samples(1))]
    # RabbitMQ: the rejected message is acknowledged at once, the others come again; the
    # sample refused out of a message is counted when that message is acknowledged.
    assert intake.handle('sample', batch) == {1, 2}
    assert intake.handle('sample', batch[1:]) == {0, 1}
    assert intake.counters() == {'rejected': {'sample': 1}, 'rejected_samples': {},
                                 'dead_lettered': {}}
    pipeline.accept = True
    assert intake.handle('sample', batch[1:]) == set()
    assert intake.counters()['rejected_samples'] == {'sample': 1}
    # Kafka: a rewound poll reads every record again, each known by its position.
    pipeline.accept = False
    kafka = make_intake(tmp_path, pipeline)
    keys = ['k@1', 'k@2', 'k@3']
    for _ in range(3):
        assert kafka.handle('sample', batch, keys) == {1, 2}
    pipeline.accept = True
    for _ in range(2):  # taken; then read again, as when another part of the poll failed
        assert kafka.handle('sample', batch, keys) == set()
    # Counted once the offsets are committed (settled), and only then.
    assert kafka.counters() == {'rejected': {}, 'rejected_samples': {}, 'dead_lettered': {}}
    kafka.settle(keys)
    kafka.settle(keys)
    assert kafka.counters() == {'rejected': {'sample': 1}, 'rejected_samples': {'sample': 1},
                                'dead_lettered': {}}


def test_a_message_is_counted_only_once_its_transport_lets_it_go(tmp_path, caplog):
    """An agent killed between a rejection and its commit (or acknowledgement) counted and
    logged nothing of it: the agent that reads it again counts it, once in all."""
    batch = [POISON[0][0], envelope(make_samples(1))]
    killed = make_intake(tmp_path, Pipeline())
    with caplog.at_level(logging.WARNING):
        assert killed.handle('sample', batch, ['k@1', 'k@2']) == set()
    assert killed.counters()['rejected'] == {} and 'rejected a message' not in caplog.text
    again = make_intake(tmp_path, Pipeline())  # the next agent reads the records again
    with caplog.at_level(logging.WARNING):
        assert again.handle('sample', batch, ['k@1', 'k@2']) == set()
        again.settle(['k@2'])
        assert again.counters()['rejected'] == {}  # k@1's offset is not committed yet
        again.settle(['k@1', 'k@2'])
    assert again.counters()['rejected'] == {'sample': 1}
    assert caplog.text.count('rejected a message (sample)') == 1


def test_a_message_the_pipeline_keeps_failing_on_is_dead_lettered(tmp_path, caplog):
    good, bad = make_samples(3), make_samples(1, 'poison')
    pipeline = Pipeline(raises=lambda samples: 'poison-0' in {s.resource_id for s in samples})
    intake = make_intake(tmp_path, pipeline, attempts=3)
    batch = [envelope(good[:1]), envelope(bad, message_id='the-poison'), envelope(good[1:])]
    with caplog.at_level(logging.WARNING):
        assert intake.handle('sample', batch) == set()
    assert sorted(pipeline.taken) == sorted(s.id for s in good)
    assert pipeline.calls == 1 + 1 + 3 + 1  # the batch, then each alone; the poison 3 times
    assert intake.dead_lettered == {'processing': 1}
    [line] = (tmp_path / 'dead-letter' / 'notification.jsonl').read_text().splitlines()
    entry = json.loads(line)
    assert entry['reason'] == 'processing'
    assert entry['error'] == 'TypeError: a bug for this sample'
    assert entry['message']['metadata']['message_id'] == 'the-poison'
    assert entry['message']['payload'] == batch[1]['payload']
    assert caplog.text.count('dead-lettered a message (processing)') == 1


class Publisher(Pipeline):
    """Hands back every batch holding a sample of ``poison`` resource ids (or all, in an
    outage), takes the others."""

    def __init__(self, poison='poison'):
        super().__init__()
        self.poison = poison

    def __call__(self, samples):
        self.calls += 1
        if self.poison is None or any(s.resource_id.startswith(self.poison)
                                      for s in samples):
            return False
        self.taken.extend(s.id for s in samples)
        return True


def test_a_message_a_publisher_keeps_handing_back_alone_is_dead_lettered(tmp_path):
    good = make_samples(4)
    publisher = Publisher()
    intake = make_intake(tmp_path, publisher, attempts=3)
    batch = [envelope(good[:1]), envelope(make_samples(1, 'poison'), message_id='the-poison'),
             envelope(good[1:])]
    # RabbitMQ: the others are taken at once, the poison comes again, alone or not.
    assert intake.handle('sample', batch) == {1}
    assert sorted(publisher.taken) == sorted(s.id for s in good)
    assert intake.handle('sample', [batch[1], envelope(make_samples(1, 'x'))]) == {0}
    assert intake.handle('sample', [batch[1]]) == {0}  # alone: nothing to compare with
    assert intake.dead_lettered == {}
    assert intake.handle('sample', [envelope(make_samples(1, 'y')), batch[1]]) == set()
    assert intake.dead_lettered == {'handed back': 1}
    [line] = (tmp_path / 'dead-letter' / 'notification.jsonl').read_text().splitlines()
    assert json.loads(line)['message']['metadata']['message_id'] == 'the-poison'
    assert json.loads(line)['error'].startswith('HandedBack: a publisher handed its')


def test_in_an_outage_nothing_is_held_against_a_message(tmp_path):
    publisher = Publisher(poison=None)
    intake = make_intake(tmp_path, publisher, attempts=1)
    batch = [envelope(make_samples(1, 'vm%d' % n), message_id='m%d' % n) for n in range(20)]
    for _ in range(3):
        assert intake.handle('sample', batch, ['k@%d' % n for n in range(20)]) == set(
            range(20))
    assert publisher.calls == 3 * (1 + 2)  # the batch, then two alone: an outage
    assert intake.dead_lettered == {}


def test_a_kafka_record_taken_is_not_redone_when_its_poll_is_read_again(tmp_path):
    publisher = Publisher()
    intake = make_intake(tmp_path, publisher, attempts=2)
    good = make_samples(3)
    batch = [envelope(good[:1]), envelope(make_samples(1, 'poison')), envelope(good[1:2])]
    keys = ['t:0@1', 't:0@2', 't:0@3']
    assert intake.handle('sample', batch, keys) == {1}
    # The rewound poll, with a record written since: the poison is struck again.
    batch.append(envelope(good[2:]))
    keys.append('t:0@4')
    assert intake.handle('sample', batch, keys) == set()
    intake.settle(keys)
    assert sorted(publisher.taken) == sorted(s.id for s in good)  # once each
    assert intake.dead_lettered == {'handed back': 1}


def test_a_dead_letter_that_cannot_be_written_is_delivered_again(tmp_path):
    (tmp_path / 'dead-letter').write_text('a file where the directory should be')
    pipeline = Pipeline(raises=lambda samples: True)
    intake = make_intake(tmp_path, pipeline, attempts=2)
    assert intake.handle('sample', [envelope(make_samples(1))]) == {0}
    assert intake.dead_lettered == {}


def test_a_dead_lettered_kafka_record_read_again_is_skipped(tmp_path):
    pipeline = Pipeline(raises=lambda samples: samples[0].resource_id == 'poison-0')
    intake = make_intake(tmp_path, pipeline, attempts=1)
    batch = [envelope(make_samples(1, 'poison'))]
    assert intake.handle('sample', batch, ['t:0@5']) == set()
    calls = pipeline.calls
    assert intake.handle('sample', batch, ['t:0@5']) == set()
    intake.settle(['t:0@5'])
    assert pipeline.calls == calls and intake.dead_lettered == {'processing': 1}


def test_the_log_line_says_where_the_message_came_from_and_stays_short(tmp_path, caplog):
    intake = make_intake(tmp_path, Pipeline())
    huge = {'event_type': messages.SAMPLES_EVENT_TYPE, 'publisher_id': 'compute-7',
            'payload': 'x' * (20 * 2 ** 20), 'metadata': {'message_id': 'id-42'}}
    with caplog.at_level(logging.WARNING):
        intake.handle('sample', [huge])
    [record] = [r for r in caplog.records if 'rejected a message' in r.getMessage()]
    text = record.getMessage()
    assert 'publisher compute-7, event type telewatch.samples, message id id-42' in text
    assert len(text) < 1000
