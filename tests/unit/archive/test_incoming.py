import uuid

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import incoming


def measures(count):
    return {str(uuid.uuid4()): (numpy.arange(n, dtype=numpy.int64) * 10**9,
                                numpy.arange(n) * 0.5) for n in range(1, count + 1)}


def test_a_record_decodes_to_what_was_encoded():
    written = measures(5)
    decoded = incoming.decode(incoming.encode(written))
    assert list(decoded) == list(written)
    for metric_id, (stamps, values) in written.items():
        assert decoded[metric_id][0].tolist() == stamps.tolist()
        assert decoded[metric_id][1].tolist() == values.tolist()


@pytest.mark.parametrize('cut', [3, 12, 30, -1])
def test_a_truncated_record_is_invalid(cut):
    record = incoming.encode(measures(2))
    with pytest.raises(errors.InvalidIncoming):
        incoming.decode(record[:cut])


def test_metrics_fall_in_stable_sacks():
    metric_id = 'c8f0a4e2-6b55-4d44-9a3a-5a3fd84e5b0e'
    assert incoming.sack_of(metric_id, 32) == uuid.UUID(metric_id).int % 32
    split = incoming.split_by_sack(measures(20), 4)
    for sack, record in split.items():
        assert {incoming.sack_of(m, 4) for m in incoming.decode(record)} == {sack}


def test_a_log_reads_every_whole_frame_and_skips_torn_and_corrupt_ones():
    records = [incoming.encode(measures(n)) for n in (1, 2, 3)]
    frames = [incoming.frame(r) for r in records]
    log = b''.join(frames)
    assert incoming.unframe(log) == (records, 0)
    assert incoming.unframe(log[:-1]) == (records[:2], len(frames[2]) - 1)
    corrupt = bytearray(log)
    corrupt[len(frames[0]) + 12] ^= 0xFF
    assert incoming.unframe(bytes(corrupt)) == (records[:1] + records[2:], len(frames[1]))


def test_frames_written_behind_a_torn_one_are_not_lost():
    """A writer killed half way through a frame, then whole frames appended behind it."""
    records = [incoming.encode(measures(n)) for n in (4, 5, 6)]
    frames = [incoming.frame(r) for r in records]
    for cut in (1, 7, 8, 9, 30, len(frames[1]) - 1):
        log = frames[0] + frames[1][:cut] + frames[2]
        assert incoming.unframe(log) == ([records[0], records[2]], cut), cut


def test_a_record_magic_inside_a_torn_frame_is_not_taken_for_a_frame():
    record = incoming.encode(measures(3))
    fake = incoming.MAGIC + b'\0' * 40  # a magic with no valid frame header before it
    log = incoming.frame(record)[:20] + fake + incoming.frame(record)
    assert incoming.unframe(log) == ([record], 20 + len(fake))
