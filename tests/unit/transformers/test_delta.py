import pytest
import voluptuous as vol

from telewatch.sample import Sample
from telewatch.transformers.delta import DeltaTransformer


def make(volume, seconds, name='cpu', resource_id='r1', type='cumulative', unit='ns'):
    return Sample.create(name, type, unit, volume, resource_id,
                         timestamp='2026-01-01T00:00:%02dZ' % seconds,
                         resource_metadata={'host': 'h%d' % seconds})


def transformer(parameters=None):
    cls = DeltaTransformer
    return cls(cls.PARAMETERS(parameters or {}))


def test_first_sample_primes():
    delta = transformer()
    assert delta.handle(make(10, 0)) is None
    assert delta.counters['primed'] == 1


def test_change_between_consecutive_samples():
    delta = transformer()
    delta.handle(make(10, 0))
    second = make(25, 10)
    result = delta.handle(second)
    assert (result.name, result.type, result.unit, result.volume) == ('cpu', 'delta', 'ns',
                                                                      15.0)
    assert result.timestamp == second.timestamp
    assert result.resource_metadata == {'host': 'h10'}
    assert delta.handle(make(5, 20)).volume == -20.0
    assert delta.handle(make(5, 20)).volume == 0.0


@pytest.mark.parametrize('sample_type', ['gauge', 'cumulative', 'delta'])
def test_output_type_is_delta(sample_type):
    delta = transformer()
    delta.handle(make(1, 0, type=sample_type))
    assert delta.handle(make(2, 1, type=sample_type)).type == 'delta'


def test_growth_only_drops_negative_changes_and_moves_on():
    delta = transformer({'growth_only': True})
    delta.handle(make(10, 0))
    assert delta.handle(make(4, 10)) is None
    assert delta.counters['negative_change'] == 1
    assert delta.handle(make(7, 20)).volume == 3.0
    assert delta.handle(make(7, 30)).volume == 0.0


def test_out_of_order_sample_is_dropped_and_counted():
    delta = transformer()
    delta.handle(make(10, 10))
    assert delta.handle(make(100, 5)) is None
    assert delta.counters['out_of_order'] == 1
    assert delta.handle(make(12, 15)).volume == 2.0


def test_series_are_keyed_by_name_and_resource():
    delta = transformer()
    delta.handle(make(10, 0, name='ab', resource_id='c'))
    assert delta.handle(make(100, 1, name='a', resource_id='bc')) is None
    assert delta.handle(make(15, 2, name='ab', resource_id='c')).volume == 5.0
    assert delta.handle(make(130, 3, name='a', resource_id='bc')).volume == 30.0


def test_target_name_and_mapping():
    named = transformer({'target': {'name': 'cpu.delta'}})
    named.handle(make(1, 0))
    assert named.handle(make(3, 1)).name == 'cpu.delta'
    mapped = transformer({'source': {'map_from': {'name': r'disk\.(\w+)\.bytes'}},
                          'target': {'name': 'ignored', 'map_to': {'name': r'disk.\1.delta'}}})
    mapped.handle(make(1, 0, name='disk.read.bytes'))
    mapped.handle(make(1, 0, name='memory'))
    assert mapped.handle(make(3, 1, name='disk.read.bytes')).name == 'disk.read.delta'
    assert mapped.handle(make(3, 1, name='memory')).name == 'memory'


def test_flush_emits_nothing():
    delta = transformer()
    delta.handle(make(1, 0))
    assert delta.flush() == []


@pytest.mark.parametrize('parameters', [
    {'growth_only': 'yes'},
    {'target': {'unit': 'B'}},
    {'target': {'type': 'gauge'}},
    {'target': {'map_to': {'name': 'x'}}},
    {'source': {'map_from': {'name': '('}}, 'target': {'map_to': {'name': 'x'}}},
    {'size': 1},
])
def test_invalid_parameters_are_rejected(parameters):
    with pytest.raises(vol.Invalid):
        DeltaTransformer.PARAMETERS(parameters)


def test_example_parameters_are_valid():
    delta = transformer(DeltaTransformer.EXAMPLE)
    delta.handle(make(5, 0))
    assert delta.handle(make(1, 1)) is None
    assert delta.handle(make(4, 2)).name == 'cpu.delta'
