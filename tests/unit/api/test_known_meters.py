"""The meter names subscriptions are checked against: installed pollsters, meter
definitions (constant names only) and the archive's metrics, refreshed after a while."""

import pathlib
import uuid

import pytest

from telewatch import service
from telewatch.api import known_meters
from telewatch.archive import policy as policy_mod
from telewatch.archive.index import indexer as indexer_mod

REPO = pathlib.Path(__file__).resolve().parents[3]
DEFINITIONS = '''
metric:
  - name: image.size
    event_type: image.upload
    type: gauge
    unit: B
    volume: $.payload.size
    resource_id: $.payload.id
  - name: $.payload.meter_name
    event_type: custom.*
    type: gauge
    unit: ''
    volume: 1
    resource_id: $.payload.id
'''


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


@pytest.fixture
def conf(tmp_path):
    conf = service.prepare_service([])
    meters = tmp_path / 'meters.yaml'
    meters.write_text(DEFINITIONS)
    conf.set_override('meters_cfg_file', str(meters), group='notification')
    return conf


@pytest.fixture
def indexer(tmp_path):
    indexer = indexer_mod.Indexer('sqlite:///%s' % (tmp_path / 'index.sqlite'))
    indexer.upgrade()
    indexer.create_archive_policy(policy_mod.builtin_policies()['low'])
    yield indexer
    indexer.close()


def add_metric(indexer, name):
    indexer.create_metrics([indexer_mod.Metric(str(uuid.uuid4()), 'low', None, None, name,
                                               '')])


def test_pollsters_definitions_and_archive_metrics_are_known(conf, indexer):
    add_metric(indexer, 'custom.made')
    names = known_meters.KnownMeters(conf, indexer).names()
    assert {'cpu', 'hardware.cpu.util', 'image.size', 'custom.made'} <= names
    assert not any(name.startswith('$') for name in names)


def test_the_shipped_meter_definitions_give_their_names(conf):
    conf.set_override('meters_cfg_file', str(REPO / 'etc' / 'meters.yaml'),
                      group='notification')
    names, problem = known_meters.definition_names(conf)
    assert problem is None
    assert {'instance', 'memory', 'vcpus', 'image.size'} <= names


def test_missing_or_invalid_definitions_only_leave_their_names_out(conf, tmp_path):
    conf.set_override('meters_cfg_file', str(tmp_path / 'nowhere.yaml'), group='notification')
    names, problem = known_meters.definition_names(conf)
    assert names == set() and 'nowhere.yaml' in problem
    (tmp_path / 'bad.yaml').write_text('metric: [{name: x}]\n')
    conf.set_override('meters_cfg_file', str(tmp_path / 'bad.yaml'), group='notification')
    names, problem = known_meters.definition_names(conf)
    assert names == set() and "missing required key 'event_type'" in problem


def test_a_problem_is_logged_once_while_it_lasts(conf, indexer, tmp_path, caplog):
    conf.set_override('meters_cfg_file', str(tmp_path / 'nowhere.yaml'), group='notification')
    clock = Clock()
    known = known_meters.KnownMeters(conf, indexer, clock)
    for _ in range(3):
        assert 'cpu' in known.names()
        clock.now += known_meters.CACHE_SECONDS
    assert len([r for r in caplog.records if 'nowhere.yaml' in r.getMessage()]) == 1


def test_names_are_cached_then_looked_up_again(conf, indexer):
    clock = Clock()
    known = known_meters.KnownMeters(conf, indexer, clock)
    assert 'late.meter' not in known.names()
    add_metric(indexer, 'late.meter')
    clock.now += known_meters.CACHE_SECONDS - 1
    assert 'late.meter' not in known.names()
    clock.now += 1
    assert 'late.meter' in known.names()
