"""AgentService: a loop or thread of an agent that ends without stop() ends the worker, so
that cotyledon starts a new one."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from telewatch import loops
from telewatch import service


class ThreadedAgent:
    def __init__(self, conf):
        self.stopping = threading.Event()
        self.ends_at_once = conf == 'broken'
        self.thread = None

    def start(self):
        target = (lambda: None) if self.ends_at_once else self.stopping.wait
        self.thread = loops.start_thread('worker-loop', target, self.stopping)

    def threads(self):
        return [self.thread]

    def stop(self):
        self.stopping.set()


def make_service(agent, conf):
    worker = service.AgentService(0, agent, conf)
    worker.name = 'telewatch-test'
    worker.watch_interval = 0.01
    return worker


def test_a_loop_that_ends_unasked_raises_out_of_run():
    worker = make_service(ThreadedAgent, 'broken')
    with pytest.raises(loops.ThreadEnded):
        worker.run()


def test_terminate_ends_run_quietly():
    worker = make_service(ThreadedAgent, 'fine')
    running = threading.Thread(target=worker.run)
    running.start()
    time.sleep(0.05)
    assert running.is_alive()
    worker.terminate()
    running.join(timeout=5)
    assert not running.is_alive()


AGENT_SCRIPT = textwrap.dedent('''
    import logging
    import threading

    from telewatch import loops
    from telewatch import service


    class Agent:
        def __init__(self, conf):
            self.stopping = threading.Event()
            self.thread = None

        def start(self):
            print('started', flush=True)
            # A worker loop whose thread ends without being asked to.
            self.thread = loops.start_thread('doomed', lambda: None, self.stopping)

        def threads(self):
            return [self.thread]

        def stop(self):
            self.stopping.set()


    logging.basicConfig(level=logging.INFO)
    service.AgentService.watch_interval = 0.05
    service.run_agents('telewatch-test', Agent, None)
''')


def test_cotyledon_exits_the_worker_non_zero_and_starts_another(tmp_path):
    script = tmp_path / 'agent.py'
    script.write_text(AGENT_SCRIPT)
    manager = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines = []
    # A worker that hangs silently must not hang the test: readline ends when it is killed.
    watchdog = threading.Timer(30, os.killpg, (manager.pid, signal.SIGKILL))
    watchdog.start()
    try:
        while lines.count('started\n') < 2 and (not lines or lines[-1]):
            lines.append(manager.stdout.readline())
    finally:
        watchdog.cancel()
        os.killpg(manager.pid, signal.SIGTERM)
        output = ''.join(lines) + manager.communicate(timeout=30)[0]
    assert output.count('started\n') >= 2, output
    assert 'doomed ended unexpectedly' in output
    assert 'exited with status 2' in output
