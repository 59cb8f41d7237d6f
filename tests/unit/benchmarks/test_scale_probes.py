"""What benchmarks/scale.py measures with: a tracer sees a round's point only once it is
aggregated, and the count of stored points finds a missing one (on a real embedded store)."""

import time
import uuid

import numpy
import pytest

from benchmarks import scale_probes as probes
from telewatch import service
from telewatch.archive import policy as policy_mod
from telewatch.archive import store as store_mod


@pytest.fixture
def store(tmp_path):
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path))
    store = store_mod.ArchiveStore.from_conf(conf)
    store.upgrade(policies=policy_mod.all_in_one_policies())
    yield store
    store.close()


def instance(store, meters):
    rid = str(uuid.uuid4())
    metrics = {name: store.new_metric('telewatch', name, rid, policy)
               for name, policy in meters.items()}
    store.index.create_resource('generic', rid, rid, 'telewatch', 'u', 'p', {},
                                metrics=metrics)
    return rid, {name: metric.id for name, metric in metrics.items()}


def test_a_round_is_seen_once_aggregated(store, monkeypatch):
    rid, ids = instance(store, {'memory.usage': 'ceilometer-low',
                                'cpu_util': 'ceilometer-low'})
    tracer = probes.LagTracer(store, [rid])
    stamp = time.time() // 60 * 60 - 120
    tracer.expect(0, stamp)  # no cpu_util in the first round (a rate needs two)
    tracer.expect(1, stamp + 60)
    assert tracer.pending() == 3
    store.add_measures({ids['memory.usage']: (numpy.array([int(stamp * 1e9)]),
                                              numpy.array([5.0]))})
    tracer.poll()
    assert tracer.pending() == 3 and not tracer.lags  # written, not aggregated yet
    store.process()
    tracer.poll()
    assert tracer.pending() == 2
    assert tracer.lags[0][0] == pytest.approx(time.time() - stamp, abs=5)


def test_a_missing_point_is_counted(store):
    stamp = time.time() // 60 * 60 - 180
    rid, ids = instance(store, {'memory.usage': 'ceilometer-low',
                                'cpu': 'ceilometer-low-rate', 'cpu_util': 'ceilometer-low'})
    stamps = (numpy.array([stamp, stamp + 60, stamp + 120]) * 1e9).astype('int64')
    store.add_measures({ids['memory.usage']: (stamps, numpy.ones(3)),
                        ids['cpu']: (stamps[:2], numpy.ones(2))})  # a round of cpu lost
    store.process()
    # cpu_util is derived, not counted; memory.usage and cpu: 3 buckets each.
    assert probes.count_stored(store, [rid], 3, int(stamp * 1e9)) == (6, 5, 3)


def test_percentiles_are_nearest_rank():
    assert probes.percentiles(range(1, 101)) == {'p50': 50, 'p90': 90, 'p99': 99}
    assert probes.percentiles([]) == {'p50': None, 'p90': None, 'p99': None}
