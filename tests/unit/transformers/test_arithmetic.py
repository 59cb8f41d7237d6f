import pytest
import voluptuous as vol

from telewatch.sample import Sample
from telewatch.transformers.arithmetic import ArithmeticTransformer

MEMORY_UTIL = {'target': {'name': 'memory_util', 'unit': '%', 'type': 'gauge',
                          'expr': '100 * $(memory.usage) / $(memory)'}}


def make(name, volume, seconds=10, resource_id='r1', unit='MB', type='gauge',
         metadata=None):
    return Sample.create(name, type, unit, volume, resource_id,
                         timestamp='2026-01-01T00:00:%02dZ' % seconds, user_id='u-' + name,
                         project_id='p1', resource_metadata=metadata)


def transformer(target):
    cls = ArithmeticTransformer
    return cls(cls.PARAMETERS({'target': target}))


def run(transformer_, samples):
    for sample in samples:
        assert transformer_.handle(sample) is None
    return transformer_.flush()


def test_memory_util_on_complete_resources():
    arithmetic = transformer(MEMORY_UTIL['target'])
    released = run(arithmetic, [make('memory', 2048, 10, resource_id='r1'),
                                make('memory.usage', 512, 11, resource_id='r1'),
                                make('memory', 1000, 12, resource_id='r2'),
                                make('memory.usage', 750, 13, resource_id='r2')])
    assert sorted((s.resource_id, s.volume) for s in released) == [
        ('r1', pytest.approx(25.0)), ('r2', pytest.approx(75.0))]
    assert {(s.name, s.unit, s.type) for s in released} == {('memory_util', '%', 'gauge')}
    assert arithmetic.flush() == []


def test_latest_sample_of_each_meter_is_used():
    released = run(transformer(MEMORY_UTIL['target']), [
        make('memory', 2048, 1), make('memory.usage', 512, 2), make('memory.usage', 1024, 3)])
    assert [s.volume for s in released] == [pytest.approx(50.0)]


def test_incomplete_resource_waits_until_complete():
    arithmetic = transformer(MEMORY_UTIL['target'])
    assert run(arithmetic, [make('memory', 2048, 10)]) == []
    assert arithmetic.flush() == []
    assert arithmetic.counters['evaluation_error'] == 0
    released = run(arithmetic, [make('memory.usage', 1024, 20)])
    assert [s.volume for s in released] == [pytest.approx(50.0)]


def test_other_meters_are_ignored():
    arithmetic = transformer(MEMORY_UTIL['target'])
    assert run(arithmetic, [make('cpu', 5), make('memory.resident', 5)]) == []
    assert arithmetic.counters['evaluation_error'] == 0


def test_zero_division_is_counted_and_gives_nothing():
    arithmetic = transformer(MEMORY_UTIL['target'])
    assert run(arithmetic, [make('memory', 0), make('memory.usage', 10)]) == []
    assert arithmetic.counters['evaluation_error'] == 1
    # The resource was forgotten whatever the outcome.
    assert run(arithmetic, [make('memory.usage', 10)]) == []
    assert arithmetic.counters['evaluation_error'] == 1


def test_nan_is_counted_and_gives_nothing():
    arithmetic = transformer({'expr': '$(a) * float($(b).resource_metadata.ratio)'})
    assert run(arithmetic, [make('a', 2), make('b', 1, metadata={'ratio': 'nan'})]) == []
    assert arithmetic.counters['nan'] == 1
    assert arithmetic.counters['evaluation_error'] == 0


def test_field_of_a_meter_sample():
    arithmetic = transformer({'name': 'cpu.per_vcpu',
                              'expr': '$(cpu) / ($(cpu).resource_metadata.cpu_number or 1)'})
    released = run(arithmetic, [make('cpu', 40, metadata={'cpu_number': 4}),
                                make('cpu', 40, resource_id='r2')])
    assert sorted((s.resource_id, s.volume) for s in released) == [('r1', 10.0),
                                                                   ('r2', 40.0)]


def test_missing_field_is_an_evaluation_error():
    arithmetic = transformer({'expr': '$(cpu) / $(cpu).resource_metadata.cpu_number'})
    assert run(arithmetic, [make('cpu', 40)]) == []
    assert arithmetic.counters['evaluation_error'] == 1


def test_output_takes_the_reference_meter_unless_target_says():
    arithmetic = transformer({'expr': '$(disk.read.bytes) + $(disk.write.bytes)'})
    reference = make('disk.read.bytes', 100, 10, unit='B', type='cumulative',
                     metadata={'device': 'vda'})
    released = run(arithmetic, [reference, make('disk.write.bytes', 50, 11, unit='KB')])
    (result,) = released
    assert (result.name, result.unit, result.type, result.volume) == (
        'disk.read.bytes', 'B', 'cumulative', 150.0)
    assert (result.user_id, result.project_id, result.resource_id,
            result.resource_metadata) == ('u-disk.read.bytes', 'p1', 'r1', {'device': 'vda'})
    assert result.id != reference.id

    typed = transformer({'expr': '$(a) * 2', 'type': 'delta', 'unit': 'x'})
    (result,) = run(typed, [make('a', 3)])
    assert (result.name, result.unit, result.type, result.volume) == ('a', 'x', 'delta', 6.0)


def test_timestamp_is_the_latest_seen():
    arithmetic = transformer(MEMORY_UTIL['target'])
    latest = make('cpu', 1, 30, resource_id='elsewhere')
    released = run(arithmetic, [make('memory', 100, 10), make('memory.usage', 50, 20),
                                latest, make('memory', 100, 5, resource_id='r2')])
    assert [s.timestamp for s in released] == [latest.timestamp]


def test_meter_names_with_dashes_and_repeats():
    arithmetic = transformer({'expr': '$(net-rx) * $(net-rx) + $(net-tx)'})
    assert [s.volume for s in run(arithmetic, [make('net-rx', 3), make('net-tx', 1)])] == [
        10.0]


def test_boolean_result_becomes_a_number():
    arithmetic = transformer({'expr': '$(a) > $(b)'})
    assert [s.volume for s in run(arithmetic, [make('a', 3), make('b', 1)])] == [1.0]


@pytest.mark.parametrize('target', [
    {'expr': '100 * 2'},
    {'expr': 'volume * 2'},
    {'expr': '$(a) + unknown'},
    {'expr': '$(a) + volume'},
    {'expr': '$(a).nosuchfield'},
    {'expr': '$(a) +'},
    {'expr': "__import__('os') and $(a)"},
    {'expr': 5},
    {'name': 'x'},
    {'expr': '$(a)', 'type': 'rate'},
    {'expr': '$(a)', 'scale': 2},
])
def test_invalid_parameters_are_rejected(target):
    with pytest.raises(vol.Invalid):
        ArithmeticTransformer.PARAMETERS({'target': target})


def test_invalid_expression_error_shows_the_configured_text():
    with pytest.raises(vol.Invalid) as raised:
        ArithmeticTransformer.PARAMETERS({'target': {'expr': '$(a) / 0 +'}})
    assert '$(a) / 0 +' in str(raised.value)


def test_target_is_required():
    with pytest.raises(vol.Invalid):
        ArithmeticTransformer.PARAMETERS({})


def test_example_parameters_are_valid():
    arithmetic = transformer(ArithmeticTransformer.EXAMPLE['target'])
    assert [s.volume for s in run(arithmetic, [make('memory', 4), make('memory.usage', 1)])] \
        == [25.0]
