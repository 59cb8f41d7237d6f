"""The notification agent's periodic loops (status, reload, membership) outlive a bug."""

import logging
import threading
import time
import types

import pytest

from telewatch import delivery as delivery_mod
from telewatch import loops
from telewatch.notification import agent as agent_mod
from tests.unit import conftest


def failing_once(function):
    def wrapper(*args, **kwargs):
        wrapper.calls += 1
        if wrapper.calls == 1:
            raise RuntimeError('a bug')
        return function(*args, **kwargs)
    wrapper.calls = 0
    return wrapper


@pytest.fixture
def agent(conf, monkeypatch, tmp_path):
    monkeypatch.setattr(delivery_mod, 'MIN_DELAY', 0.01)
    pipeline = tmp_path / 'pipeline.yaml'
    pipeline.write_text('sources: [{name: all, meters: ["*"], sinks: [out]}]\n'
                        'sinks: [{name: out, publishers: [log]}]\n')
    conf.set_override('pipeline_cfg_file', str(pipeline), group='pipeline')
    conf.set_override('meters_cfg_file', str(conftest.REPO / 'etc' / 'meters.yaml'),
                      group='notification')
    agent = agent_mod.NotificationAgent(conf, transport=object())
    # Intervals shorter than the options allow (whole seconds), for a quick test.
    agent.conf = types.SimpleNamespace(
        notification=types.SimpleNamespace(status_interval=0.02, status_file='',
                                           pipeline_reload_interval=0.02),
        coordination=types.SimpleNamespace(check_watchers=0.02))
    return agent


def run_until(agent, loop, condition, caplog):
    thread = loops.start_thread(loop.__name__, loop, agent._stopping)
    with caplog.at_level(logging.ERROR, logger='telewatch.loops'):
        deadline = time.monotonic() + 10
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.005)
        ended = thread.ended
        agent._stopping.set()
        thread.join(timeout=10)
    assert condition() and not ended


def test_the_status_loop_outlives_a_failed_report(agent, monkeypatch, caplog):
    monkeypatch.setattr(agent, 'report', failing_once(agent.report))
    run_until(agent, agent._report_periodically, lambda: agent.report.calls >= 2, caplog)
    assert agent.status()['loop_errors'] == {'status': 1}
    assert 'status: unexpected error (1 so far)' in caplog.text


def test_the_reload_loop_outlives_a_failed_reload(agent, monkeypatch, caplog):
    agent._current.stamp = None  # the files look changed at every check
    reloaded = threading.Event()
    monkeypatch.setattr(agent, 'reload', failing_once(reloaded.set))
    run_until(agent, agent._watch_files, reloaded.is_set, caplog)
    assert agent.loop_errors == {'reload': 1}
    assert 'reload: unexpected error (1 so far)' in caplog.text


def test_the_membership_loop_outlives_a_failed_listener_restart(agent, monkeypatch, caplog):
    agent._coordinator = types.SimpleNamespace(owned=lambda: [0])
    monkeypatch.setattr(agent, '_stop_listener', failing_once(lambda: None))
    monkeypatch.setattr(agent, '_start_listener', lambda: None)
    run_until(agent, agent._watch_membership, lambda: agent.partitions == [0], caplog)
    assert agent._stop_listener.calls == 2
    assert agent.loop_errors == {'membership': 1}
    assert 'membership: unexpected error (1 so far)' in caplog.text
