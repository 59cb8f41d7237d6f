import os

import pytest
import yaml

from telewatch.pubsub import matching
from telewatch.pubsub import subscription as subscription_mod

CASES = os.path.join(os.path.dirname(__file__), '..', '..', 'cases', 'pubsub', 'matching.yaml')


def _load():
    with open(CASES) as stream:
        document = yaml.safe_load(stream)
    subscriptions = [subscription_mod.Subscription(
        name, name, 'owner', fields['meters'], 'udp://127.0.0.1:9999',
        resources=fields.get('resources'), projects=fields['projects'])
        for name, fields in document['subscriptions'].items()]
    return subscriptions, document['cases']


SUBSCRIPTIONS, CASES_DATA = _load()


@pytest.mark.parametrize('case', CASES_DATA, ids=lambda case: '-'.join(map(str, case['sample'])))
def test_the_index_finds_exactly_the_subscriptions_that_want_a_sample(case):
    index = matching.SubscriptionIndex(SUBSCRIPTIONS)
    name, project_id, resource_id = case['sample']
    for _ in range(2):  # the second time from the index's cache
        found = [s.name for s in index.match(name, project_id, resource_id)]
        assert sorted(found) == sorted(case['wanted'])


@pytest.mark.parametrize('case', CASES_DATA, ids=lambda case: '-'.join(map(str, case['sample'])))
def test_the_index_agrees_with_a_scan_of_every_subscription(case):
    name, project_id, resource_id = case['sample']
    scanned = [s.name for s in SUBSCRIPTIONS if s.accepts_meter(name)
               and s.accepts_project(project_id)
               and (s.resources is None or resource_id in s.resources)]
    assert sorted(scanned) == sorted(case['wanted'])


def test_the_name_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(matching, 'MAX_CACHED_NAMES', 3)
    index = matching.SubscriptionIndex(SUBSCRIPTIONS)
    for number in range(10):
        index.match('meter.%d' % number, 'project-a', 'vm')
    assert len(index._by_name) <= 3
    assert [s.name for s in index.match('cpu', 'project-a', 'vm')] == ['a-cpu', 'admin-ac']


def test_the_throttle_lets_one_sample_per_resource_and_meter_through_per_interval():
    throttle = matching.Throttle(60)
    assert throttle.allows('vm-1', 'cpu', 1000.0)
    assert not throttle.allows('vm-1', 'cpu', 1030.0)
    assert throttle.allows('vm-2', 'cpu', 1030.0)
    assert throttle.allows('vm-1', 'memory.usage', 1030.0)
    assert not throttle.allows('vm-1', 'cpu', 990.0)  # older than the last one let through
    assert throttle.allows('vm-1', 'cpu', 1060.0)
    assert not throttle.allows('vm-1', 'cpu', 1119.9)
