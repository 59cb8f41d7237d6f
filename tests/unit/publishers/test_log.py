"""Unit tests of the log publisher: the line it writes, and its level option."""

import functools
import logging

import pytest

from telewatch.publishers import log
from tests.unit.publishers import common

LOGGER = 'telewatch.publishers.log'
EXPECTED_LINE = 'sample cpu 1.5 ns resource=vm-1 ' + common.SAMPLE_JSON


_publisher = functools.partial(common.make_publisher, log.LogPublisher)
_sample = common.make_sample


def _records(caplog):
    return [(record.name, record.levelno, record.getMessage()) for record in caplog.records]


def test_one_info_line_per_sample(caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    publisher = _publisher('log')
    publisher.start()
    publisher.publish([_sample(), _sample(name='mem', unit='MB', volume=512, id='i2')])
    publisher.stop()
    records = _records(caplog)
    assert records[0] == (LOGGER, logging.INFO, EXPECTED_LINE)
    assert records[1][:2] == (LOGGER, logging.INFO)
    assert records[1][2].startswith('sample mem 512.0 MB resource=vm-1 {"name":"mem",')
    assert len(records) == 2


@pytest.mark.parametrize('level, levelno', [
    ('debug', logging.DEBUG), ('INFO', logging.INFO), ('Warning', logging.WARNING)])
def test_level_option(caplog, level, levelno):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    publisher = _publisher('log://?level=' + level)
    assert publisher.level == levelno
    publisher.publish([_sample()])
    assert _records(caplog) == [(LOGGER, levelno, EXPECTED_LINE)]


def test_level_below_the_loggers_writes_nothing(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    _publisher('log://?level=debug').publish([_sample()])
    assert _records(caplog) == []


@pytest.mark.parametrize('url, message', [
    ('log://?level=error', "option 'level': expected debug, info or warning"),
    ('log://?level=', "option 'level': expected debug, info or warning"),
    ('log://?verbose=1', "unknown option 'verbose'"),
])
def test_bad_options_are_refused(url, message):
    with pytest.raises(ValueError) as raised:
        _publisher(url)
    assert str(raised.value) == message


def test_value_json_cannot_hold_is_logged_as_its_repr(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    _publisher('log://').publish([_sample(resource_metadata={'tags': {'a'}})])
    assert _records(caplog)[0][2].endswith(
        '"resource_metadata":{"tags":"{\'a\'}"},"source":"openstack",'
        '"id":"00000000-0000-4000-8000-000000000001","monotonic_time":null}')


def test_stop_is_safe_without_start_and_twice():
    publisher = _publisher(log.LogPublisher.EXAMPLE_URL)
    publisher.stop()
    publisher.stop()
