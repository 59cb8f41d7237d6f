import datetime

import pytest
import voluptuous as vol

from telewatch.sample import Sample
from telewatch.transformers.rate_of_change import RateOfChangeTransformer

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
CPU_UTIL = {'target': {'name': 'cpu_util', 'unit': '%', 'type': 'gauge', 'max': 100,
                       'scale': '100.0 / (10**9 * (resource_metadata.cpu_number or 1))'}}
DISK = {'source': {'map_from': {'name': r'(disk\.device|disk)\.(read|write)\.(bytes|requests)',
                                'unit': '(B|request)'}},
        'target': {'type': 'gauge', 'map_to': {'name': r'\1.\2.\3.rate', 'unit': r'\1/s'}}}
NETWORK = {'source': {'map_from': {'name': r'network\.(incoming|outgoing)\.(bytes|packets)',
                                   'unit': '(B|packet)'}},
           'target': {'type': 'gauge', 'map_to': {'name': r'network.\1.\2.rate',
                                                  'unit': r'\1/s'}}}


def make(volume, seconds, name='cpu', resource_id='r1', type='cumulative', unit='ns',
         monotonic_time=None, metadata=None):
    timestamp = (START + datetime.timedelta(seconds=seconds)).strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    return Sample.create(name, type, unit, volume, resource_id, timestamp=timestamp,
                         user_id='u1', project_id='p1', resource_metadata=metadata,
                         monotonic_time=monotonic_time)


def transformer(parameters=None):
    cls = RateOfChangeTransformer
    return cls(cls.PARAMETERS(parameters or {}))


def rates(parameters, samples):
    rate = transformer(parameters)
    return [rate.handle(sample) for sample in samples], rate


def test_first_sample_primes():
    rate = transformer()
    assert rate.handle(make(10, 0)) is None
    assert rate.counters['primed'] == 1


def test_cumulative_rate_per_second():
    first = make(10, 0)
    second = make(20, 10, metadata={'host': 'h'})
    out, rate = rates({}, [first, second])
    result = out[1]
    assert result.volume == pytest.approx(1.0)
    assert (result.name, result.type, result.unit) == ('cpu', 'cumulative', 'ns')
    assert result.timestamp == second.timestamp
    assert result.resource_metadata == {'host': 'h'}
    assert (result.user_id, result.project_id, result.resource_id) == ('u1', 'p1', 'r1')
    assert result.id not in (first.id, second.id)
    assert rate.counters['primed'] == 1


def test_numeric_scale_multiplies_the_rate():
    out, _ = rates({'target': {'scale': 100}}, [make(10, 0), make(20, 10)])
    assert out[1].volume == pytest.approx(100.0)


def test_consecutive_rates_use_the_latest_sample():
    out, _ = rates({}, [make(10, 0), make(20, 10), make(50, 20), make(50, 25)])
    assert [s.volume for s in out[1:]] == pytest.approx([1.0, 3.0, 0.0])


def test_cumulative_counter_reset_uses_the_new_volume():
    out, _ = rates({}, [make(100, 0), make(30, 10)])
    assert out[1].volume == pytest.approx(3.0)


@pytest.mark.parametrize('sample_type', ['gauge', 'delta'])
def test_gauge_and_delta_keep_negative_rates(sample_type):
    out, _ = rates({}, [make(100, 0, type=sample_type), make(30, 10, type=sample_type)])
    assert out[1].volume == pytest.approx(-7.0)


def test_out_of_order_sample_is_dropped_and_counted():
    rate = transformer()
    rate.handle(make(10, 10))
    assert rate.handle(make(5, 5)) is None
    assert rate.counters['out_of_order'] == 1
    # The cache kept the sample at 10 s: 10 -> 40 over 20 s.
    assert rate.handle(make(40, 30)).volume == pytest.approx(1.5)


def test_sample_older_by_both_clocks_is_dropped():
    rate = transformer()
    rate.handle(make(10, 10, monotonic_time=50.0))
    assert rate.handle(make(20, 5, monotonic_time=45.0)) is None
    assert rate.counters['out_of_order'] == 1
    assert rate.handle(make(30, 20, monotonic_time=60.0)).volume == pytest.approx(2.0)


def test_zero_time_delta_gives_zero():
    out, _ = rates({}, [make(10, 10), make(50, 10)])
    assert out[1].volume == 0.0


def test_monotonic_time_wins_when_both_samples_have_it():
    out, _ = rates({}, [make(10, 0, monotonic_time=100.0), make(20, 10, monotonic_time=105.0)])
    assert out[1].volume == pytest.approx(2.0)


def test_timestamps_used_when_one_sample_lacks_monotonic_time():
    out, _ = rates({}, [make(10, 0), make(20, 10, monotonic_time=105.0)])
    assert out[1].volume == pytest.approx(1.0)


def test_monotonic_clock_restart_falls_back_to_timestamps():
    out, _ = rates({}, [make(10, 0, monotonic_time=5000.0), make(20, 10, monotonic_time=3.0)])
    assert out[1].volume == pytest.approx(1.0)


def test_cpu_util_with_cpu_number():
    out, _ = rates(CPU_UTIL, [make(10e9, 0, metadata={'cpu_number': 2}),
                              make(20e9, 10, metadata={'cpu_number': 2})])
    result = out[1]
    assert result.volume == pytest.approx(50.0)
    assert (result.name, result.unit, result.type) == ('cpu_util', '%', 'gauge')


def test_cpu_util_without_cpu_number():
    out, _ = rates(CPU_UTIL, [make(10e9, 0), make(15e9, 10)])
    assert out[1].volume == pytest.approx(50.0)


def test_cpu_util_is_capped_by_max():
    out, _ = rates(CPU_UTIL, [make(10e9, 0), make(40e9, 10)])
    assert out[1].volume == 100.0


def test_max_caps_a_plain_rate():
    out, _ = rates({'target': {'max': 0.5}}, [make(10, 0), make(20, 10), make(22, 20)])
    assert [s.volume for s in out[1:]] == pytest.approx([0.5, 0.2])


def test_scale_that_cannot_be_evaluated_is_counted():
    rate = transformer({'target': {'scale': '1 / resource_metadata.cpu_number'}})
    rate.handle(make(10, 0, metadata={'cpu_number': 0}))
    assert rate.handle(make(20, 10, metadata={'cpu_number': 0})) is None
    assert rate.counters['scale_error'] == 1


@pytest.mark.parametrize('name, unit, expected', [
    ('disk.read.bytes', 'B', ('disk.read.bytes.rate', 'B/s')),
    ('disk.write.requests', 'request', ('disk.write.requests.rate', 'request/s')),
    ('disk.device.read.bytes', 'B', ('disk.device.read.bytes.rate', 'B/s')),
    ('disk.device.write.requests', 'request', ('disk.device.write.requests.rate',
                                               'request/s')),
])
def test_disk_mapping(name, unit, expected):
    out, _ = rates(DISK, [make(0, 0, name=name, unit=unit), make(4096, 4, name=name, unit=unit)])
    assert (out[1].name, out[1].unit) == expected
    assert out[1].type == 'gauge'
    assert out[1].volume == pytest.approx(1024.0)


def test_network_mapping():
    name = 'network.outgoing.packets'
    out, _ = rates(NETWORK, [make(0, 0, name=name, unit='packet'),
                             make(50, 10, name=name, unit='packet')])
    assert (out[1].name, out[1].unit, out[1].volume) == (
        'network.outgoing.packets.rate', 'packet/s', pytest.approx(5.0))


def test_non_matching_map_from_keeps_name_and_unit():
    out, _ = rates(DISK, [make(0, 0, name='memory', unit='ns'),
                          make(10, 10, name='memory', unit='ns')])
    assert (out[1].name, out[1].unit) == ('memory', 'ns')


def test_series_are_keyed_by_name_and_resource():
    rate = transformer()
    assert rate.handle(make(10, 0, name='ab', resource_id='c')) is None
    assert rate.handle(make(500, 5, name='a', resource_id='bc')) is None
    assert rate.counters['primed'] == 2
    assert rate.handle(make(20, 10, name='ab', resource_id='c')).volume == pytest.approx(1.0)
    assert rate.handle(make(600, 15, name='a', resource_id='bc')).volume == pytest.approx(10.0)


def test_resources_and_meters_are_separate_series():
    rate = transformer()
    for sample in (make(10, 0, resource_id='r1'), make(1000, 0, resource_id='r2'),
                   make(7, 0, name='other')):
        assert rate.handle(sample) is None
    assert rate.handle(make(1010, 10, resource_id='r2')).volume == pytest.approx(1.0)
    assert rate.handle(make(30, 10, resource_id='r1')).volume == pytest.approx(2.0)


def test_flush_emits_nothing_and_counts_expired_series():
    rate = transformer()
    rate.handle(make(10, 0))
    assert rate.flush() == []
    assert rate.counters['expired_series'] == 0


@pytest.mark.parametrize('parameters', [
    {'source': {'map_from': {'name': 'disk'}}},
    {'target': {'map_to': {'name': 'disk'}}},
    {'source': {'map_from': {'name': '(disk'}}, 'target': {'map_to': {'name': 'x'}}},
    {'target': {'nmae': 'x'}},
    {'unknown': 1},
    {'source': {'unit': 'B'}},
    {'target': {'type': 'counter'}},
    {'target': {'scale': 'nosuchname * 2'}},
    {'target': {'scale': '__import__("os")'}},
    {'target': {'scale': True}},
    {'target': {'max': 'lots'}},
])
def test_invalid_parameters_are_rejected(parameters):
    with pytest.raises(vol.Invalid):
        RateOfChangeTransformer.PARAMETERS(parameters)


def test_example_parameters_are_valid():
    assert transformer(RateOfChangeTransformer.EXAMPLE).handle(make(1, 0)) is None
