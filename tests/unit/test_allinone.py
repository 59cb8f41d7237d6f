"""The all-in-one's own parts: the in-process sender (accepted, handed back then accepted,
dropped and counted), the libvirt probe, and the interval applied to every source."""

import logging
import socket
import threading

import pytest

from telewatch import allinone
from telewatch import config_file
from telewatch import sample as sample_mod
from telewatch.pipeline import config
from telewatch.pipeline import engine
from telewatch.polling import config as polling_config
from telewatch.polling import manager as manager_mod
from telewatch.pollsters import base as pollster_base
from telewatch.publishers import base as publisher_base


class ScriptedManager:
    """A PipelineManager whose ``process`` answers from a script (True once it runs out)."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.batches = []

    def process(self, samples):
        self.batches.append(list(samples))
        return self.answers.pop(0) if self.answers else True


def make(name='hardware.memory.used', volume=1.0):
    return sample_mod.Sample.create(name=name, type='gauge', unit='KB', volume=volume,
                                    resource_id='node', timestamp='2026-11-01T00:00:00Z')


def sender_for(manager, sleeps, retries=3):
    return allinone.PipelineSender(manager, retries=retries, backoff=1.0, sleep=sleeps.append)


def test_an_accepted_batch_is_handed_over_once():
    manager, sleeps = ScriptedManager(), []
    sender = sender_for(manager, sleeps)
    batch = [make(), make(volume=2)]
    sender.send(batch)
    assert manager.batches == [batch]
    assert sender.counters == {'polled': 2, 'accepted': 2}
    assert sleeps == []


def test_a_handed_back_batch_is_processed_again_after_a_backoff(caplog):
    manager, sleeps = ScriptedManager([False, False, True]), []
    sender = sender_for(manager, sleeps)
    batch = [make(), make(volume=2), make(volume=3)]
    with caplog.at_level(logging.WARNING, logger='telewatch.allinone'):
        sender.send(batch)
    assert manager.batches == [batch] * 3
    assert sleeps == [1.0, 2.0]
    assert sender.counters == {'polled': 3, 'retried': 6, 'accepted': 3}
    assert 'processing it again in 1.0 s (retry 1 of 3)' in caplog.text


def test_a_batch_handed_back_every_time_is_dropped_and_counted(caplog):
    manager, sleeps = ScriptedManager([False] * 4), []
    sender = sender_for(manager, sleeps)
    with caplog.at_level(logging.ERROR, logger='telewatch.allinone'):
        sender.send([make(), make(volume=2)])
    assert len(manager.batches) == 4
    assert sleeps == [1.0, 2.0, 4.0]
    assert sender.counters == {'polled': 2, 'retried': 6, 'dropped': 2}
    assert 'handed back a batch of 2 samples 4 times: dropped' in caplog.text
    sender.send([make()])  # the next batch is not affected
    assert sender.counters == {'polled': 3, 'retried': 6, 'dropped': 2, 'accepted': 1}


def test_with_a_real_pipeline_a_failing_publisher_is_given_another_chance(conf):
    conf.set_override('publish_retries', 0, group='pipeline')

    class Flaky:
        def __init__(self):
            self.received = []
            self.failures = [publisher_base.RetryablePublishError('disk full')]

        def publish(self, samples):
            if self.failures:
                raise self.failures.pop(0)
            self.received.extend(samples)

    flaky = Flaky()
    definition = config.parse_pipeline(config_file.parse_yaml(
        'sources: [{name: all, meters: ["*"], sinks: [out]}]\n'
        'sinks: [{name: out, publishers: [log]}]\n', 'p.yaml'), conf)
    pipeline = engine.PipelineManager(definition, conf, publishers_for=lambda sink: [flaky])
    sleeps = []
    sender = sender_for(pipeline, sleeps)
    sender.send([make()])
    assert [s.name for s in flaky.received] == ['hardware.memory.used']
    assert sleeps == [1.0]
    assert sender.counters == {'polled': 1, 'retried': 1, 'accepted': 1}


def test_senders_from_several_threads_are_all_counted():
    sender = sender_for(ScriptedManager(), [])
    threads = [threading.Thread(target=lambda: [sender.send([make()]) for _ in range(200)])
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sender.counters == {'polled': 800, 'accepted': 800}


def test_close_is_safe_twice():
    sender = sender_for(ScriptedManager(), [])
    sender.close()
    sender.close()


class FakeLibvirt:
    def __init__(self, open_read_only):
        self.openReadOnly = open_read_only


def test_probe_answers_none_when_the_connection_opens(monkeypatch):
    closed = []

    class Connection:
        def close(self):
            closed.append(True)

    monkeypatch.setattr(allinone.libvirt_inspector, 'import_libvirt',
                        lambda: FakeLibvirt(lambda uri: Connection()))
    assert allinone.probe_libvirt('qemu:///system') is None
    assert closed == [True]


def test_probe_says_why_the_connection_fails(monkeypatch):
    def refuse(uri):
        raise RuntimeError('Failed to connect socket to %s' % uri)
    monkeypatch.setattr(allinone.libvirt_inspector, 'import_libvirt',
                        lambda: FakeLibvirt(refuse))
    assert allinone.probe_libvirt('qemu:///system') == \
        'Failed to connect socket to qemu:///system'


def test_probe_gives_up_on_a_libvirt_that_does_not_answer(monkeypatch):
    release = threading.Event()
    monkeypatch.setattr(allinone.libvirt_inspector, 'import_libvirt',
                        lambda: FakeLibvirt(lambda uri: release.wait(10)))
    try:
        assert allinone.probe_libvirt('qemu:///system', timeout=0.1) == \
            'no answer within 0.1 s'
    finally:
        release.set()


def test_probe_without_libvirt_python(monkeypatch):
    def unavailable():
        raise pollster_base.PluginUnavailable('libvirt-python is not installed')
    monkeypatch.setattr(allinone.libvirt_inspector, 'import_libvirt', unavailable)
    assert allinone.probe_libvirt('qemu:///system') == 'libvirt-python is not installed'


def test_interval_applies_to_every_source(conf, tmp_path):
    polling = tmp_path / 'polling.yaml'
    polling.write_text('sources:\n'
                       '  - {name: a, interval: 300, meters: [m1]}\n'
                       '  - {name: b, interval: 600, meters: [m2, m3]}\n')
    sources = polling_config.load_polling(str(polling), {'m1', 'm2', 'm3'}, set())
    pollsters = {name: object() for name in ('m1', 'm2', 'm3')}
    manager = manager_mod.PollingManager(conf, sources, pollsters, {})
    allinone._override_interval(manager, 7)
    assert {interval: len(tasks) for interval, tasks in manager.groups().items()} == {7: 3}


def test_a_port_in_use_is_a_listen_error_naming_host_and_port():
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(allinone.ListenError) as raised:
            allinone._listen(lambda environ, start_response: [], '127.0.0.1', port)
    assert str(raised.value).startswith(
        'the API cannot listen on 127.0.0.1:%d: Address already in use (' % port)
