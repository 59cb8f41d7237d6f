"""The file storage's write journal: a write to many sacks is one flush, and what a writer
that stopped left in its journal is replayed by the next one to open the storage."""

import os
import subprocess
import sys
import uuid

import numpy
import pytest

from telewatch.archive import incoming
from telewatch.archive.storage import file as file_storage
from telewatch.archive.storage import journal

T0 = 1_700_000_000 * 10**9
SACKS = 8


@pytest.fixture
def storage(tmp_path):
    storage = file_storage.FileSeriesStorage(str(tmp_path / 'series'), sacks=SACKS)
    storage.upgrade()
    yield storage
    storage.close()


def spread(count):
    """``count`` metrics' measures over several sacks (3 each)."""
    stamps = T0 + numpy.arange(3) * 10**9
    return {str(uuid.uuid4()): (stamps, numpy.arange(3.0) + i) for i in range(count)}


def journals(storage):
    return sorted(os.listdir(os.path.join(storage.root, 'incoming', 'journal')))


def test_a_write_to_many_sacks_is_one_flush(storage, monkeypatch):
    measures = spread(20)
    assert len({incoming.sack_of(m, SACKS) for m in measures}) > 1
    flushed = []
    real = os.fdatasync
    monkeypatch.setattr(file_storage.os, 'fdatasync', lambda fd: flushed.append(fd) or real(fd))
    monkeypatch.setattr(journal.os, 'fdatasync', lambda fd: flushed.append(fd) or real(fd))
    storage.add_measures(measures)
    assert len(flushed) == 1
    assert storage.pending() == {m: 3 for m in measures}


def test_a_checkpoint_flushes_the_sack_logs_and_empties_the_journal(storage, monkeypatch):
    monkeypatch.setattr(journal, 'CHECKPOINT_BYTES', 1)
    flushed = []
    monkeypatch.setattr(storage, '_flush', lambda fds: flushed.extend(fds))
    measures = spread(20)
    storage.add_measures(measures)
    sacks = {incoming.sack_of(m, SACKS) for m in measures}
    assert len(flushed) == len(sacks)
    path = os.path.join(storage.root, 'incoming', 'journal', journals(storage)[0])
    assert os.path.getsize(path) == 0
    assert storage.pending() == {m: 3 for m in measures}


def test_a_clean_close_leaves_no_journal(storage):
    storage.add_measures(spread(10))
    assert len(journals(storage)) == 1
    storage.close()
    assert journals(storage) == []


WRITER = '''
import os, sys, uuid
import numpy
from telewatch.archive.storage import file as file_storage
storage = file_storage.FileSeriesStorage(sys.argv[1], sacks=%d)
storage.upgrade()
ids = [str(uuid.uuid4()) for _ in range(12)]
storage.add_measures({m: (numpy.array([%d + i]), numpy.array([float(i)]))
                      for i, m in enumerate(ids)})
# the sack logs lose what was not flushed (a power cut), the journal keeps it
for sack in range(%d):
    log = os.path.join(sys.argv[1], 'incoming', str(sack), 'log')
    if os.path.exists(log):
        os.truncate(log, 0)
print(' '.join(ids), flush=True)
os._exit(0)  # killed: no close, no checkpoint
''' % (SACKS, T0, SACKS)


def test_the_journal_of_a_writer_that_died_is_replayed_by_the_next(tmp_path):
    root = str(tmp_path / 'series')
    done = subprocess.run([sys.executable, '-c', WRITER, root], capture_output=True,
                          text=True, check=True, timeout=120)
    ids = done.stdout.split()
    storage = file_storage.FileSeriesStorage(root, sacks=SACKS)
    try:
        logs = [os.path.join(root, 'incoming', str(s), 'log') for s in range(SACKS)]
        assert not any(os.path.exists(p) and os.path.getsize(p) for p in logs)
        storage.upgrade()
        assert storage.pending() == {m: 1 for m in ids}
        assert journals(storage) == []
        storage.upgrade()  # a second look replays nothing twice
        assert storage.pending() == {m: 1 for m in ids}
    finally:
        storage.close()


def test_a_live_writers_journal_is_left_alone(storage, tmp_path):
    storage.add_measures(spread(10))
    other = file_storage.FileSeriesStorage(storage.root, sacks=SACKS)
    other.upgrade()
    other.close()
    assert len(journals(storage)) == 1
    assert sum(storage.pending().values()) == 30


def test_a_torn_last_entry_is_skipped_and_the_others_replayed(tmp_path):
    directory = tmp_path / 'journal'
    directory.mkdir()
    records = {0: incoming.encode({str(uuid.uuid4()): ([T0], [1.0])}),
               3: incoming.encode({str(uuid.uuid4()): ([T0], [2.0])})}
    whole = incoming.frame(journal.encode(records))
    (directory / 'a.log').write_bytes(whole + whole[:-5])
    appended = []
    assert journal.recover(str(directory), lambda s, r: appended.append((s, r)), 4) == 2
    assert appended == list(records.items())
    assert os.listdir(directory) == []
