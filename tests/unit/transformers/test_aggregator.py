import pytest
import voluptuous as vol

from telewatch.sample import Sample
from telewatch.transformers.aggregator import AggregatorTransformer


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def make(volume, seconds=0, name='storage.objects', resource_id='r1', type='gauge',
         unit='object', user_id='u1', project_id='p1', metadata=None):
    return Sample.create(name, type, unit, volume, resource_id,
                         timestamp='2026-01-01T00:00:%02dZ' % seconds, user_id=user_id,
                         project_id=project_id,
                         resource_metadata={'version': seconds} if metadata is None
                         else metadata)


def transformer(parameters=None, clock=None):
    cls = AggregatorTransformer
    validated = cls.PARAMETERS(parameters or {})
    return cls(validated, clock=clock) if clock else cls(validated)


def aggregate(parameters, samples):
    aggregator = transformer(parameters)
    for sample in samples:
        assert aggregator.handle(sample) is None
    return sorted(aggregator.flush(), key=lambda s: (s.name, s.resource_id, str(s.user_id),
                                                     str(s.project_id)))


@pytest.mark.parametrize('sample_type, expected', [
    ('gauge', 20.0), ('delta', 60.0), ('cumulative', 30.0)])
def test_merge_by_type(sample_type, expected):
    released = aggregate({'size': 3}, [make(v, s, type=sample_type)
                                       for s, v in ((1, 10), (2, 20), (3, 30))])
    assert [(s.type, s.volume) for s in released] == [(sample_type, pytest.approx(expected))]


def test_cumulative_keeps_the_last_value_not_the_largest():
    released = aggregate({'size': 3}, [make(v, s, type='cumulative')
                                       for s, v in ((1, 50), (2, 70), (3, 20))])
    assert released[0].volume == 20.0


def test_size_trigger_counts_every_sample():
    aggregator = transformer({'size': 3})
    aggregator.handle(make(1, 1, resource_id='r1'))
    aggregator.handle(make(2, 2, resource_id='r2'))
    assert aggregator.flush() == []
    aggregator.handle(make(3, 3, resource_id='r1'))
    released = aggregator.flush()
    assert sorted((s.resource_id, s.volume) for s in released) == [('r1', 2.0), ('r2', 2.0)]
    assert aggregator.flush() == []
    aggregator.handle(make(9, 4, resource_id='r1'))
    assert aggregator.flush() == []


def test_released_sample_keeps_the_group_fields():
    first = make(1, 1, metadata={'a': 1})
    released = aggregate({'size': 2}, [first, make(3, 2, metadata={'a': 2})])
    (result,) = released
    assert (result.name, result.unit, result.resource_id, result.user_id,
            result.project_id, result.source) == ('storage.objects', 'object', 'r1', 'u1',
                                                  'p1', 'openstack')
    assert result.id != first.id
    assert result.resource_metadata == {'a': 2}


def test_grouping_key_includes_user_and_project_without_policy():
    samples = [make(10, 1, user_id='u1', project_id='p1'),
               make(20, 2, user_id='u2', project_id='p1'),
               make(30, 3, user_id='u1', project_id='p2'),
               make(40, 4, user_id='u1', project_id='p1')]
    released = aggregate({'size': 4}, samples)
    assert [(s.user_id, s.project_id, s.volume) for s in released] == [
        ('u1', 'p1', 25.0), ('u1', 'p2', 30.0), ('u2', 'p1', 20.0)]


def test_none_user_is_its_own_group():
    released = aggregate({'size': 2}, [make(10, 1, user_id=None), make(20, 2, user_id='u1')])
    assert sorted((str(s.user_id), s.volume) for s in released) == [('None', 10.0),
                                                                    ('u1', 20.0)]


def test_name_and_resource_are_always_in_the_key():
    released = aggregate({'size': 4, 'user_id': 'last', 'project_id': 'last'}, [
        make(10, 1, name='ab', resource_id='c'), make(20, 2, name='a', resource_id='bc'),
        make(30, 3, name='ab', resource_id='c'), make(40, 4, name='ab', resource_id='d')])
    assert [(s.name, s.resource_id, s.volume) for s in released] == [
        ('a', 'bc', 20.0), ('ab', 'c', 20.0), ('ab', 'd', 40.0)]


SAMPLES_FOR_POLICIES = [
    make(10, 1, user_id='u1', project_id='p1', metadata={'v': 1}),
    make(20, 2, user_id='u2', project_id='p2', metadata={'v': 2}),
    make(30, 3, user_id='u3', project_id='p3', metadata={'v': 3}),
]


@pytest.mark.parametrize('policy, expected', [
    ('first', ('u1', 'p1', {'v': 1})),
    ('last', ('u3', 'p3', {'v': 3})),
    ('drop', (None, None, {})),
])
def test_policies(policy, expected):
    released = aggregate({'size': 3, 'user_id': policy, 'project_id': policy,
                          'resource_metadata': policy}, SAMPLES_FOR_POLICIES)
    assert [(s.user_id, s.project_id, s.resource_metadata, s.volume) for s in released] == [
        expected + (20.0,)]


def test_policies_apply_independently():
    released = aggregate({'size': 3, 'user_id': 'first', 'project_id': 'drop'},
                         SAMPLES_FOR_POLICIES)
    assert [(s.user_id, s.project_id, s.resource_metadata) for s in released] == [
        ('u1', None, {'v': 3})]


def test_resource_metadata_defaults_to_last():
    released = aggregate({'size': 3, 'user_id': 'last', 'project_id': 'last'},
                         SAMPLES_FOR_POLICIES)
    assert released[0].resource_metadata == {'v': 3}


@pytest.mark.parametrize('policy, second', [('first', 1), ('last', 3)])
def test_timestamp_policy(policy, second):
    released = aggregate({'size': 3, 'timestamp': policy},
                         [make(1, 1), make(1, 2), make(1, 3)])
    assert released[0].timestamp == make(0, second).timestamp


def test_timestamp_defaults_to_first():
    released = aggregate({'size': 2}, [make(1, 5), make(1, 9)])
    assert released[0].timestamp == make(0, 5).timestamp


def test_retention_time_releases_with_an_injected_clock():
    clock = Clock()
    aggregator = transformer({'size': 100, 'retention_time': 60}, clock=clock)
    assert aggregator.flush() == []
    clock.now = 1010
    aggregator.handle(make(4, 1))
    clock.now = 1050
    aggregator.handle(make(8, 2))
    clock.now = 1069.9
    assert aggregator.flush() == []
    clock.now = 1070
    assert [s.volume for s in aggregator.flush()] == [6.0]
    # The clock starts again at the next sample, not at the release.
    clock.now = 1200
    aggregator.handle(make(1, 3))
    assert aggregator.flush() == []
    clock.now = 1259
    assert aggregator.flush() == []
    clock.now = 1260
    assert [s.volume for s in aggregator.flush()] == [1.0]


def test_size_or_retention_whichever_comes_first():
    clock = Clock()
    aggregator = transformer({'size': 2, 'retention_time': 60}, clock=clock)
    aggregator.handle(make(1, 1))
    aggregator.handle(make(3, 2))
    assert [s.volume for s in aggregator.flush()] == [2.0]


def test_size_zero_with_retention_is_time_only():
    clock = Clock()
    aggregator = transformer({'size': 0, 'retention_time': 10}, clock=clock)
    for second in range(20):
        aggregator.handle(make(second, second))
    assert aggregator.flush() == []
    clock.now += 10
    assert [s.volume for s in aggregator.flush()] == [pytest.approx(9.5)]


@pytest.mark.parametrize('parameters', [{'size': 0}, {'size': 0, 'retention_time': 0},
                                        {'size': 0, 'retention_time': None}])
def test_size_zero_without_retention_is_size_one(parameters):
    assert AggregatorTransformer.PARAMETERS(parameters)['size'] == 1
    aggregator = transformer(parameters)
    aggregator.handle(make(5, 1))
    assert [s.volume for s in aggregator.flush()] == [5.0]


def test_defaults():
    parameters = AggregatorTransformer.PARAMETERS({})
    assert parameters['size'] == 1
    assert parameters['resource_metadata'] == 'last'
    assert parameters['timestamp'] == 'first'
    assert 'user_id' not in parameters and 'project_id' not in parameters


def test_scale_and_max_apply_to_each_input():
    released = aggregate({'size': 3, 'target': {'scale': 10, 'max': 250, 'name': 'x',
                                                'unit': 'y'}},
                         [make(10, 1, type='delta'), make(20, 2, type='delta'),
                          make(30, 3, type='delta')])
    assert [(s.name, s.unit, s.volume) for s in released] == [('x', 'y', 550.0)]


def test_expression_scale_and_errors():
    aggregator = transformer({'size': 2, 'target': {
        'scale': 'volume / resource_metadata.parts'}})
    assert aggregator.handle(make(10, 1, metadata={'parts': 0})) is None
    assert aggregator.counters['scale_error'] == 1
    aggregator.handle(make(10, 2, metadata={'parts': 5}))
    assert aggregator.flush() == []
    aggregator.handle(make(30, 3, metadata={'parts': 5}))
    assert [s.volume for s in aggregator.flush()] == [4.0]


def test_target_type_decides_the_merge():
    released = aggregate({'size': 2, 'target': {'type': 'delta'}},
                         [make(10, 1, type='gauge'), make(20, 2, type='gauge')])
    assert [(s.type, s.volume) for s in released] == [('delta', 30.0)]


def test_map_from_map_to():
    released = aggregate({'size': 2, 'source': {'map_from': {'name': r'storage\.(\w+)'}},
                          'target': {'map_to': {'name': r'swift.\1'}}},
                         [make(1, 1), make(1, 2, name='cpu')])
    assert sorted(s.name for s in released) == ['cpu', 'swift.objects']


@pytest.mark.parametrize('parameters', [
    {'user_id': 'newest'},
    {'project_id': 'middle'},
    {'resource_metadata': 'merge'},
    {'timestamp': 'drop'},
    {'size': -1},
    {'size': 'ten'},
    {'retention_time': -5},
    {'retention_time': 'soon'},
    {'target': {'type': 'avg'}},
    {'target': {'scale': 'nosuch * 2'}},
    {'target': {'map_to': {'name': 'x'}}},
    {'source': {'map_from': {'name': '*'}}, 'target': {'map_to': {'name': 'x'}}},
    {'policy': 'first'},
])
def test_invalid_parameters_are_rejected(parameters):
    with pytest.raises(vol.Invalid):
        AggregatorTransformer.PARAMETERS(parameters)


def test_example_parameters_are_valid():
    aggregator = transformer(AggregatorTransformer.EXAMPLE, clock=Clock())
    aggregator.handle(make(1, 1))
    assert aggregator.flush() == []
