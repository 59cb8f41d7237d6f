"""The all-in-one watches its threads: one that ends unexpectedly (the processor's, the
API's, the pipeline's timer, a polling group's) stops the process with a non-zero status,
for its supervisor to start it again, instead of serving on with nothing aggregated."""

import io
import signal
import threading

import pytest

from telewatch.cmd import all_in_one
from telewatch import loops
from telewatch.archive import processor as processor_mod
from tests.unit import conftest


@pytest.fixture
def signal_handlers():
    """main() leaves SIGINT and SIGTERM to their default action: put pytest's back."""
    saved = {signum: signal.getsignal(signum) for signum in all_in_one.STOP_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_a_processor_thread_that_ends_is_found(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(processor_mod.ArchiveProcessor, '_run', lambda self: None)
    conf = all_in_one._prepare(['--data-dir', str(tmp_path), '--no-polling', '--port', '0',
                                '--cloudwatch-port', '0',
                                '--pipeline-file', str(conftest.REPO / 'etc' / 'pipeline.yaml')])
    chain = all_in_one._start(conf)
    try:
        assert all_in_one.wait_for_stop(chain, interval=0.01) is None
    finally:
        chain.stop()
    # oslo.log, set up again by _prepare, writes to stderr past caplog.
    assert 'thread archive-processor ended unexpectedly' in capsys.readouterr().err
    assert loops.ended(chain.threads()) == []  # asked to stop now


class ChainWithADeadThread:
    def __init__(self):
        self.stopped = False
        self.thread = loops.start_thread('api', lambda: None, threading.Event())
        self.thread.join()

    def threads(self):
        return [self.thread]

    def describe(self):
        return ['a chain']

    def stop(self):
        self.stopped = True


def test_main_exits_non_zero_once_a_thread_ended(tmp_path, monkeypatch, signal_handlers):
    chain = ChainWithADeadThread()
    monkeypatch.setattr(all_in_one, '_start', lambda conf: chain)
    monkeypatch.setattr(all_in_one, 'WATCH_INTERVAL', 0.01)
    stdout, stderr = io.StringIO(), io.StringIO()
    status = all_in_one.main(['--data-dir', str(tmp_path), '--no-polling'], stdout, stderr)
    assert status == all_in_one.THREAD_ENDED != 0
    assert chain.stopped
    assert 'a thread ended unexpectedly' in stderr.getvalue()
