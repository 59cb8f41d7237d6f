"""The ``file`` storage on a disk that fills up (see faults.FaultyDisk): a write that is not
wholly on disk is refused (InsufficientStorage) and leaves nothing behind it; everything
acknowledged is still there, and processed, once space is back."""

import errno
import os
import uuid

import numpy
import pytest

from telewatch.archive import errors
from telewatch.archive import incoming
from telewatch.archive import policy as policy_mod
from telewatch.archive.storage import file as file_storage
from telewatch import fileio
from tests.unit.archive.storage import faults

POLICY = policy_mod.ArchivePolicy('test', 0, ['mean', 'count'],
                                  [{'granularity': 60, 'points': 1440}])
T0 = 1_700_000_000 * 10**9


@pytest.fixture
def storage(tmp_path):
    storage = file_storage.FileSeriesStorage(str(tmp_path / 'series'), sacks=1)
    storage.upgrade()
    yield storage
    storage.close()


@pytest.fixture
def disk(monkeypatch, tmp_path):
    return faults.FaultyDisk(monkeypatch, tmp_path)


def write(metric_id, start, count):
    stamps = T0 + (start + numpy.arange(count)) * 10**9
    return {metric_id: (stamps, numpy.full(count, 1.0))}


def counted(storage, metric_id):
    """Measures of the metric in its series (each at its own second, value 1)."""
    stored = storage.get(metric_id)
    return 0 if stored is None else int(stored.state.series(60, 'count')[1].sum())


def policies(wanted):
    return {m: POLICY for m in wanted}


def log_size(storage):
    return os.path.getsize(os.path.join(storage._sack_dir(0), 'log'))


def test_write_all_completes_short_writes_and_raises_when_nothing_more_fits(
        monkeypatch, tmp_path):
    disk = faults.FaultyDisk(monkeypatch, tmp_path)
    path = tmp_path / 'f'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    real_write = os.write
    monkeypatch.setattr(os, 'write', lambda fd, data: real_write(fd, bytes(data)[:3]))
    fileio.write_all(fd, b'0123456789')
    assert path.read_bytes() == b'0123456789'
    monkeypatch.setattr(os, 'write', disk._write)
    disk.room = 4
    with pytest.raises(OSError) as caught:
        fileio.write_all(fd, b'abcdefgh')
    os.close(fd)
    assert caught.value.errno == errno.ENOSPC and disk.short_writes == 1


def test_a_write_written_only_in_part_fails_and_is_cut_back(storage, disk):
    metric_id = str(uuid.uuid4())
    storage.add_measures(write(metric_id, 0, 10))
    before = log_size(storage)
    disk.room = 100  # a short count, then ENOSPC: what tmpfs does
    with pytest.raises(errors.InsufficientStorage):
        storage.add_measures(write(metric_id, 10, 50))
    assert disk.short_writes == 1
    assert log_size(storage) == before
    disk.room = None
    storage.add_measures(write(metric_id, 60, 5))  # lands right behind the good frames
    assert storage.pending() == {metric_id: 15}
    storage.process(policies)
    assert counted(storage, metric_id) == 15


def test_a_torn_frame_that_could_not_be_cut_back_hides_nothing(storage, disk):
    metric_id = str(uuid.uuid4())
    storage.add_measures(write(metric_id, 0, 10))
    disk.room, disk.fail_truncate = 100, True
    with pytest.raises(errors.InsufficientStorage):
        storage.add_measures(write(metric_id, 10, 50))
    disk.room, disk.fail_truncate = None, False
    storage.add_measures(write(metric_id, 60, 5))
    assert storage.pending() == {metric_id: 15}
    assert storage.process(policies).measures == 15
    assert counted(storage, metric_id) == 15


def test_a_series_is_replaced_only_by_a_whole_one(storage, disk, tmp_path):
    metric_id = str(uuid.uuid4())
    storage.add_measures(write(metric_id, 0, 100))
    storage.process(policies)
    storage.add_measures(write(metric_id, 100, 100))
    disk.room = 50  # the new series does not fit
    report = storage.process(policies)
    assert list(report.failed) == [0]
    assert isinstance(report.failed[0], errors.InsufficientStorage)
    assert counted(storage, metric_id) == 100  # the old series, whole
    assert not [n for _, _, files in os.walk(tmp_path) for n in files if '.tmp.' in n]
    assert storage.pending() == {metric_id: 100}
    disk.room = None
    assert storage.process(policies).failed == {}
    assert counted(storage, metric_id) == 200


def test_claiming_a_sack_on_a_full_disk_leaves_its_log_as_it_was(storage, disk):
    metric_id = str(uuid.uuid4())
    storage.add_measures(write(metric_id, 0, 10))
    disk.room = 0  # not even the round counter fits
    report = storage.process(policies)
    assert isinstance(report.failed[0], errors.InsufficientStorage)
    assert os.listdir(storage._sack_dir(0)).count('log') == 1
    disk.room = None
    storage.process(policies)
    assert counted(storage, metric_id) == 10


def test_write_atomically_leaves_the_old_file_on_a_short_write(disk, tmp_path):
    path = tmp_path / 'counter'
    fileio.write_atomically(str(path), b'12345')
    disk.room = 2
    with pytest.raises(OSError):
        fileio.write_atomically(str(path), b'67890')
    assert path.read_bytes() == b'12345'
    assert os.listdir(tmp_path) == ['counter']


def test_a_processor_status_is_written_over_blocks_reserved_once(storage):
    storage.report_processor('host-1', {'state': 'ok', 'error': 'x' * 300})
    path = os.path.join(storage.root, 'processors', 'host-1')
    blocks = os.stat(path).st_blocks
    storage.report_processor('host-1', {'state': 'insufficient_storage'})
    assert os.stat(path).st_blocks == blocks and os.path.getsize(path) == 4096
    assert storage.processors() == {'host-1': {'state': 'insufficient_storage'}}
    storage.forget_processor('host-1')
    assert storage.processors() == {}


def test_a_damaged_series_is_a_corrupt_series_to_readers(storage):
    metric_id = str(uuid.uuid4())
    storage.add_measures(write(metric_id, 0, 100))
    storage.process(policies)
    path = storage._series_path(metric_id)
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(errors.CorruptSeries) as caught:
        storage.get(metric_id)
    assert caught.value.metric_id == metric_id and caught.value.damaged


def test_a_processor_moves_a_damaged_series_aside_and_goes_on(storage):
    damaged, sound = str(uuid.uuid4()), str(uuid.uuid4())
    storage.add_measures(dict(write(damaged, 0, 100), **write(sound, 0, 100)))
    storage.process(policies)
    with open(storage._series_path(damaged), 'r+b') as f:
        f.truncate(40)
    storage.add_measures(dict(write(damaged, 100, 7), **write(sound, 100, 7)))
    report = storage.process(policies)
    assert [c.metric_id for c in report.quarantined] == [damaged]
    assert report.failed == {} and report.measures == 14
    assert (counted(storage, damaged), counted(storage, sound)) == (7, 107)
    assert storage.health()['corrupt_series'] == 1
    [moved] = os.listdir(os.path.join(storage.root, 'corrupt'))
    assert moved.startswith(damaged)


def test_a_series_of_another_version_is_not_moved_aside(storage):
    metric_id = str(uuid.uuid4())
    storage.add_measures(write(metric_id, 0, 10))
    storage.process(policies)
    path = storage._series_path(metric_id)
    with open(path, 'r+b') as f:
        f.seek(20 + 4)  # the series header, then the state's magic: its version byte
        f.write(b'\x63')
    storage.add_measures(write(metric_id, 10, 10))
    report = storage.process(policies)
    assert isinstance(report.failed[0], errors.CorruptSeries)
    assert not report.failed[0].damaged and report.quarantined == []
    assert os.path.exists(path) and storage.pending() == {metric_id: 10}


def test_a_frame_cut_by_a_killed_writer_does_not_hide_the_next_ones(storage):
    metric_id = str(uuid.uuid4())
    frame = incoming.frame(incoming.encode(write(metric_id, 0, 20)))
    log = os.path.join(storage._sack_dir(0), 'log')
    with open(log, 'ab') as f:
        f.write(frame[:len(frame) // 2])  # SIGKILLed mid-write: never acknowledged
    storage.add_measures(write(metric_id, 20, 3))
    assert storage.pending() == {metric_id: 3}
    storage.process(policies)
    assert counted(storage, metric_id) == 3
