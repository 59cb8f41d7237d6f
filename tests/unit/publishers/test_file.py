"""Unit tests of the file publisher: URL, options, line encoding and error types."""

import functools
import json
import os

import pytest

from telewatch.publishers import base
from telewatch.publishers import file as file_publisher
from tests.unit.publishers import common

EXPECTED_LINE = common.SAMPLE_JSON


_publisher = functools.partial(common.make_publisher, file_publisher.FilePublisher)
_sample = common.make_sample


@pytest.mark.parametrize('url, path', [
    ('file:///var/log/telewatch/samples.jsonl', '/var/log/telewatch/samples.jsonl'),
    ('file://samples/out.jsonl', '/var/lib/telewatch/samples/out.jsonl'),
    ('file://out.jsonl', '/var/lib/telewatch/out.jsonl'),
    ('file:///tmp/my%20dir/x.jsonl', '/tmp/my dir/x.jsonl'),
])
def test_path_is_host_and_path_joined_under_the_data_dir(url, path):
    assert _publisher(url).path == path


@pytest.mark.parametrize('url, path', [
    ('file://samples.jsonl', '/home/me/data/samples.jsonl'),
    ('file://sub/x.jsonl', '/home/me/data/sub/x.jsonl'),
    ('file:///var/log/x.jsonl', '/var/log/x.jsonl'),
])
def test_relative_path_follows_the_configured_data_dir(url, path):
    conf = common.make_conf()
    conf.set_override('data_dir', '/home/me/data')
    assert file_publisher.FilePublisher(base.PublisherURL(url), conf).path == path


def test_relative_path_is_written_under_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf = common.make_conf()
    conf.set_override('data_dir', str(tmp_path / 'data'))
    publisher = file_publisher.FilePublisher(base.PublisherURL('file://samples.jsonl'), conf)
    publisher.start()
    publisher.publish([_sample()])
    publisher.stop()
    assert os.listdir(tmp_path) == ['data']
    assert (tmp_path / 'data' / 'samples.jsonl').read_text() == EXPECTED_LINE + '\n'


@pytest.mark.parametrize('url', ['file://', 'file', 'file://?max_bytes=10'])
def test_empty_path_is_refused(url):
    with pytest.raises(ValueError, match='no file path'):
        _publisher(url)


def test_default_options():
    assert _publisher('file:///tmp/x').options == {'max_bytes': 0, 'backup_count': 5}


def test_options_are_coerced():
    publisher = _publisher('file:///tmp/x?max_bytes=1000&backup_count=2')
    assert publisher.options == {'max_bytes': 1000, 'backup_count': 2}


@pytest.mark.parametrize('query, message', [
    ('max_bytes=ten', "option 'max_bytes': expected int"),
    ('max_bytes=1.5', "option 'max_bytes': expected int"),
    ('backup_count=-1', "option 'backup_count': value must be at least 0"),
    ('rotate=yes', "unknown option 'rotate'"),
    ('max_bytes=100&backup_count=0',
     'option backup_count: must be at least 1 when max_bytes is set'),
])
def test_bad_options_are_refused(query, message):
    with pytest.raises(ValueError) as raised:
        _publisher('file:///tmp/x?' + query)
    assert str(raised.value) == message


def test_writes_one_compact_json_line_per_sample(tmp_path):
    path = tmp_path / 'new' / 'dir' / 'samples.jsonl'
    publisher = _publisher('file://' + str(path))
    publisher.start()
    publisher.publish([_sample(), _sample(volume=2, id='id-2')])
    publisher.publish([_sample(name='mem', unit='MB', volume=512, id='id-3')])
    publisher.stop()
    lines = path.read_text().split('\n')
    assert lines[0] == EXPECTED_LINE
    assert len(lines) == 4 and lines[3] == ''  # every line ends with a newline
    assert json.loads(lines[1])['volume'] == 2.0
    assert json.loads(lines[1])['id'] == 'id-2'
    assert json.loads(lines[2])['name'] == 'mem'


def test_appends_to_an_existing_file(tmp_path):
    path = tmp_path / 'samples.jsonl'
    path.write_text('earlier\n')
    publisher = _publisher('file://' + str(path))
    publisher.start()
    publisher.publish([_sample()])
    publisher.stop()
    assert path.read_text() == 'earlier\n' + EXPECTED_LINE + '\n'


def test_publish_before_start_opens_the_file(tmp_path):
    path = tmp_path / 'samples.jsonl'
    publisher = _publisher('file://' + str(path))
    publisher.publish([_sample()])
    publisher.stop()
    assert path.read_text() == EXPECTED_LINE + '\n'


@pytest.mark.parametrize('bad', [
    {'resource_metadata': {'handle': object()}},
    {'resource_metadata': {'peak': float('inf')}},
    {'resource_metadata': {'ratio': float('nan')}},
])
def test_sample_that_is_not_json_is_permanent_and_others_are_written(tmp_path, bad):
    path = tmp_path / 'samples.jsonl'
    publisher = _publisher('file://' + str(path))
    publisher.start()
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.publish([_sample(id='bad', **bad), _sample()])
    publisher.stop()
    assert raised.value.samples == 1
    assert '1 of 2 samples cannot be encoded as JSON; first: cpu of vm-1 (id bad)' \
        in str(raised.value)
    assert path.read_text() == EXPECTED_LINE + '\n'


def test_unopenable_path_is_permanent_and_named(tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    publisher = _publisher('file://%s/sub/samples.jsonl' % blocker)
    with pytest.raises(base.PermanentPublishError) as raised:
        publisher.start()
    assert str(raised.value).startswith('cannot open %s/sub/samples.jsonl: ' % blocker)


def test_reopening_at_publish_is_retryable(tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    publisher = _publisher('file://%s/sub/samples.jsonl' % blocker)
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample()])
    assert raised.value.samples == 1
    assert str(raised.value).startswith('cannot open %s/sub/samples.jsonl: ' % blocker)


@pytest.mark.skipif(not os.path.exists('/dev/full'), reason='needs /dev/full')
def test_full_disk_is_retryable():
    # /dev/full accepts the open and fails every write with ENOSPC, as a full disk does.
    publisher = _publisher('file:///dev/full')
    publisher.start()
    with pytest.raises(base.RetryablePublishError) as raised:
        publisher.publish([_sample(), _sample()])
    # The failed stream is dropped, not flushed again: the next publish reopens the file.
    assert publisher._handler is None
    publisher.stop()
    assert raised.value.samples == 2
    assert 'cannot write to /dev/full (0 of 2 samples written)' in str(raised.value)
    assert 'No space left on device' in str(raised.value)


def test_stop_is_safe_without_start_and_twice(tmp_path):
    publisher = _publisher('file://%s/samples.jsonl' % tmp_path)
    publisher.stop()
    publisher.start()
    publisher.stop()
    publisher.stop()
    assert os.listdir(tmp_path) == ['samples.jsonl']
