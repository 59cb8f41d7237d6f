"""The example plugin: the example.uptime pollster, the csv:// publisher, and (once the
package is installed) their entry points and the sample configuration files."""

import csv
import importlib.metadata
import os
import pathlib
import socket
import time

import pytest
from oslo_config import cfg

from telewatch import sample as sample_mod
from telewatch.pollsters import base as pollster_base
from telewatch.publishers import base as publisher_base
from telewatch_example_plugin import pollster
from telewatch_example_plugin import publisher

HERE = pathlib.Path(__file__).resolve().parents[1]
HOST = socket.gethostname()


def _installed():
    try:
        importlib.metadata.distribution('telewatch-example-plugin')
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_install = pytest.mark.skipif(
    not _installed(), reason='entry points exist once the package is installed '
                             '(pip install .)')


@pytest.fixture
def uptime_file(tmp_path, monkeypatch):
    path = tmp_path / 'uptime'
    path.write_text('12345.67 40000.01\n')
    monkeypatch.setattr(pollster, 'UPTIME_FILE', str(path))
    return path


def _poll(resources):
    uptime = pollster.UptimePollster(cfg.ConfigOpts(), 'example.uptime')
    return uptime.get_samples(pollster_base.PollContext(uptime.conf), resources)


# -- example.uptime -----------------------------------------------------------------------

def test_uptime_of_this_host(uptime_file):
    samples = list(_poll(['localhost']))
    assert [(s.name, s.type, s.unit, s.volume, s.resource_id, s.resource_metadata)
            for s in samples] == [('example.uptime', 'gauge', 's', 12345.67, HOST,
                                   {'host': HOST})]
    assert pollster.UptimePollster.default_discovery is None


def test_two_names_of_this_host_give_one_sample(uptime_file):
    assert [s.resource_id for s in _poll(['localhost', HOST])] == [HOST]


def test_another_host_is_a_permanent_error_after_the_local_sample(uptime_file):
    samples = _poll(['elsewhere.example.org', 'localhost'])
    assert next(samples).resource_id == HOST
    with pytest.raises(pollster_base.PermanentPollError) as caught:
        next(samples)
    assert caught.value.resources == ['elsewhere.example.org']
    assert 'measures only the host it runs on' in str(caught.value)


def test_without_proc_uptime_the_monotonic_clock(tmp_path, monkeypatch):
    monkeypatch.setattr(pollster, 'UPTIME_FILE', str(tmp_path / 'missing'))
    before = time.monotonic()
    volume = next(_poll(['localhost'])).volume
    assert before <= volume <= time.monotonic()


@pytest.mark.skipif(not os.path.exists('/proc/uptime'), reason='no /proc/uptime here')
def test_real_uptime_is_positive():
    assert pollster.read_uptime() > 0


# -- csv:// -------------------------------------------------------------------------------

def _publisher(url):
    return publisher.CsvPublisher(publisher_base.PublisherURL(url), cfg.ConfigOpts())


def _sample(volume, resource_id='node-1'):
    return sample_mod.Sample.create(name='example.uptime', type='gauge', unit='s',
                                    volume=volume, resource_id=resource_id,
                                    timestamp='2024-01-01T00:00:00Z')


def _rows(path):
    with open(path, newline='', encoding='utf-8') as stream:
        return list(csv.reader(stream))


def test_csv_lines_are_appended_with_one_header(tmp_path):
    path = tmp_path / 'out' / 'samples.csv'
    for volume in (1.5, 2.0):
        csv_publisher = _publisher('csv://%s' % path)
        csv_publisher.start()
        csv_publisher.publish([_sample(volume, 'node-1,rack "a"')])
        csv_publisher.stop()
    assert _rows(path) == [
        ['name', 'volume', 'unit', 'resource_id', 'timestamp'],
        ['example.uptime', '1.5', 's', 'node-1,rack "a"', '2024-01-01T00:00:00+00:00'],
        ['example.uptime', '2.0', 's', 'node-1,rack "a"', '2024-01-01T00:00:00+00:00']]


def test_csv_without_header(tmp_path):
    path = tmp_path / 'samples.csv'
    csv_publisher = _publisher('csv://%s?header=false' % path)
    csv_publisher.publish([_sample(3)])  # before start: opens the file itself
    csv_publisher.stop()
    assert _rows(path) == [['example.uptime', '3.0', 's', 'node-1',
                            '2024-01-01T00:00:00+00:00']]


@pytest.mark.parametrize('url, message', [
    ('csv://', 'no file path'),
    ('csv:///tmp/x.csv?headers=1', "unknown option 'headers'"),
    ('csv:///tmp/x.csv?header=maybe', "option 'header'"),
])
def test_bad_urls_are_refused(url, message):
    with pytest.raises(ValueError, match=message):
        _publisher(url)


def test_a_file_that_cannot_be_opened_stops_start_up(tmp_path):
    csv_publisher = _publisher('csv://%s' % tmp_path)  # a directory
    with pytest.raises(publisher_base.PermanentPublishError, match='cannot open'):
        csv_publisher.start()
    csv_publisher.stop()
    csv_publisher.stop()


@pytest.mark.skipif(not os.path.exists('/dev/full'), reason='no /dev/full here')
def test_a_write_error_is_retryable():
    csv_publisher = _publisher('csv:///dev/full?header=false')
    csv_publisher.start()
    with pytest.raises(publisher_base.RetryablePublishError) as caught:
        csv_publisher.publish([_sample(1), _sample(2)])
    assert caught.value.retryable and caught.value.samples == 2
    csv_publisher.stop()


def test_example_url_starts_and_stops():
    csv_publisher = _publisher(publisher.CsvPublisher.EXAMPLE_URL)
    csv_publisher.start()
    csv_publisher.stop()
    csv_publisher.stop()


# -- once installed -----------------------------------------------------------------------

@needs_install
def test_entry_points_are_registered():
    from telewatch import plugins
    assert plugins.load_publisher('csv') is publisher.CsvPublisher
    central = importlib.metadata.entry_points(group='telewatch.poll.central')
    assert central['example.uptime'].load() is pollster.UptimePollster


@needs_install
def test_the_sample_pipeline_is_valid():
    from telewatch import service
    from telewatch.pipeline import config
    definition = config.load_pipeline(str(HERE / 'etc' / 'pipeline.yaml'),
                                      service.prepare_service([]))
    assert [name for name, _, _ in definition.pipelines] == ['uptime:uptime_csv']
