import pytest
import voluptuous as vol

from telewatch.sample import Sample
from telewatch.transformers.unit_conversion import UnitConversionTransformer


def make(volume, name='memory.usage', unit='B', type='gauge', metadata=None):
    return Sample.create(name, type, unit, volume, 'r1', timestamp='2026-01-01T00:00:10Z',
                         user_id='u1', project_id='p1', resource_metadata=metadata,
                         monotonic_time=42.0)


def transformer(parameters):
    cls = UnitConversionTransformer
    return cls(cls.PARAMETERS(parameters))


def test_numeric_scale_multiplies_the_volume():
    convert = transformer({'source': {'unit': 'B'},
                           'target': {'name': 'memory.usage.mb', 'unit': 'MB',
                                      'scale': 1 / 1048576}})
    original = make(3 * 1048576)
    result = convert.handle(original)
    assert result.volume == pytest.approx(3.0)
    assert (result.name, result.unit, result.type) == ('memory.usage.mb', 'MB', 'gauge')
    assert result.id != original.id
    assert (result.resource_id, result.user_id, result.project_id, result.timestamp,
            result.monotonic_time) == ('r1', 'u1', 'p1', original.timestamp, 42.0)


def test_other_units_pass_through_unchanged():
    convert = transformer({'source': {'unit': 'B'}, 'target': {'unit': 'MB', 'scale': 0.5}})
    other = make(10, unit='ns')
    assert convert.handle(other) is other


def test_without_source_unit_every_sample_is_converted():
    convert = transformer({'target': {'scale': 2}})
    assert convert.handle(make(10, unit='ns')).volume == 20.0
    assert convert.handle(make(10, unit='B')).volume == 20.0


def test_string_scale_replaces_the_volume():
    convert = transformer({'source': {'unit': 'C'},
                           'target': {'name': 'temperature.f', 'unit': 'F',
                                      'scale': 'volume * 9 / 5 + 32'}})
    assert convert.handle(make(100, unit='C')).volume == pytest.approx(212.0)
    assert convert.handle(make(-40, unit='C')).volume == pytest.approx(-40.0)
    assert convert.handle(make(37, unit='C')).volume == pytest.approx(98.6)


def test_string_scale_may_read_metadata():
    convert = transformer({'target': {'scale': 'volume / (resource_metadata.vcpus or 1)'}})
    assert convert.handle(make(8, metadata={'vcpus': 4})).volume == pytest.approx(2.0)
    assert convert.handle(make(8)).volume == pytest.approx(8.0)


def test_constant_string_scale_becomes_the_volume():
    convert = transformer({'target': {'scale': '7'}})
    assert convert.handle(make(100)).volume == 7.0


def test_scale_that_cannot_be_evaluated_is_dropped_and_counted():
    convert = transformer({'target': {'scale': 'volume / resource_metadata.vcpus'}})
    assert convert.handle(make(8, metadata={'vcpus': 0})) is None
    assert convert.handle(make(8)) is None
    assert convert.counters['scale_error'] == 2


def test_no_scale_keeps_the_volume():
    convert = transformer({'target': {'name': 'renamed'}})
    result = convert.handle(make(12.5))
    assert (result.name, result.unit, result.volume) == ('renamed', 'B', 12.5)


def test_max_caps_after_scaling():
    convert = transformer({'target': {'scale': 10, 'max': 50}})
    assert convert.handle(make(4)).volume == 40.0
    assert convert.handle(make(6)).volume == 50.0


def test_target_type():
    convert = transformer({'target': {'type': 'cumulative'}})
    result = convert.handle(make(1, type='gauge'))
    assert result.type == 'cumulative'
    assert transformer({}).handle(make(1, type='delta')).type == 'delta'


def test_map_from_map_to():
    convert = transformer({'source': {'map_from': {'name': r'disk\.(read|write)\.bytes',
                                                   'unit': '^B$'}},
                           'target': {'scale': 1 / 1024, 'name': 'ignored',
                                      'map_to': {'name': r'disk.\1.kilobytes', 'unit': 'KB'}}})
    result = convert.handle(make(2048, name='disk.write.bytes'))
    assert (result.name, result.unit, result.volume) == ('disk.write.kilobytes', 'KB', 2.0)
    kept = convert.handle(make(2048, name='cpu', unit='ns'))
    assert (kept.name, kept.unit, kept.volume) == ('cpu', 'ns', 2.0)


@pytest.mark.parametrize('parameters', [
    {'source': {'map_from': {'unit': 'B'}}},
    {'source': {'unit': 5}},
    {'source': {'map_from': {'name': '[a'}}, 'target': {'map_to': {'name': 'x'}}},
    {'target': {'type': 'rate'}},
    {'target': {'scale': 'resource_id.upper()'}},
    {'target': {'scale': 'bogus'}},
    {'target': {'expr': 'volume'}},
    {'other': {}},
])
def test_invalid_parameters_are_rejected(parameters):
    with pytest.raises(vol.Invalid):
        UnitConversionTransformer.PARAMETERS(parameters)


def test_example_parameters_are_valid():
    convert = transformer(UnitConversionTransformer.EXAMPLE)
    assert convert.handle(make(1048576)).volume == pytest.approx(1.0)
