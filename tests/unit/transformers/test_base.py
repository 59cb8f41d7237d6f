import pytest
import voluptuous as vol

from telewatch import expression
from telewatch import sample as sample_mod
from telewatch.transformers import base


class Clock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def make_sample(**overrides):
    fields = dict(name='cpu', type='cumulative', unit='ns', volume=10.0, resource_id='r1',
                  timestamp='2026-01-01T00:00:10Z', resource_metadata={'cpu_number': 2})
    fields.update(overrides)
    return sample_mod.Sample.create(**fields)


# SeriesState

def test_series_state_swap_returns_the_previous_value():
    state = base.SeriesState(10, clock=Clock())
    assert state.swap('a', 1) is None
    assert state.swap('a', 2) == 1
    assert state.get('a') == 2
    assert len(state) == 1


def test_series_not_touched_for_a_ttl_is_forgotten():
    clock = Clock()
    state = base.SeriesState(10, clock=clock)
    state['a'] = 1
    clock.now = 9.9
    assert state.expire() == 0
    assert state.get('a') == 1
    clock.now = 10
    assert state.expire() == 0  # 'a' moves to the older generation
    assert len(state) == 1
    clock.now = 19.9
    assert state.expire() == 0
    clock.now = 20
    assert state.expire() == 1
    assert state.get('a') is None
    assert state.get('a', 'default') == 'default'
    assert len(state) == 0


@pytest.mark.parametrize('touch', [
    lambda state: state.get('a'),
    lambda state: state.swap('a', 5),
    lambda state: state.__setitem__('a', 5),
], ids=['get', 'swap', 'setitem'])
def test_touched_series_survives_expiry(touch):
    clock = Clock()
    state = base.SeriesState(10, clock=clock)
    state['a'] = 1
    state['b'] = 1
    clock.now = 10
    state.expire()
    touch(state)
    clock.now = 20
    assert state.expire() == 1
    assert state.get('a') is not None
    assert state.get('b') is None
    assert len(state) == 1


def test_value_written_after_rotation_replaces_the_old_generation():
    clock = Clock()
    state = base.SeriesState(10, clock=clock)
    state['a'] = 1
    clock.now = 10
    state.expire()
    state['a'] = 2
    assert len(state) == 1
    assert list(state.items()) == [('a', 2)]
    assert state.pop('a') == 2
    assert state.get('a') is None
    assert len(state) == 0


def test_series_state_pop_and_items():
    clock = Clock()
    state = base.SeriesState(10, clock=clock)
    state['old'] = 1
    clock.now = 10
    state.expire()
    state['new'] = 2
    assert sorted(state.items()) == [('new', 2), ('old', 1)]
    assert state.pop('old') == 1
    assert state.pop('old', 'gone') == 'gone'
    assert state.pop('new') == 2
    assert len(state) == 0


# NameUnitMapper

DISK = r'(disk\.device|disk)\.(read|write)\.(bytes|requests)'


def mapper(source=None, target=None):
    return base.NameUnitMapper({'source': source or {}, 'target': target or {}})


def disk_mapper(**target):
    return mapper({'map_from': {'name': base.Regex(DISK), 'unit': base.Regex('(B|request)')}},
                  dict(target, map_to={'name': r'\1.\2.\3.rate', 'unit': r'\1/s'}))


@pytest.mark.parametrize('name, unit, expected', [
    ('disk.read.bytes', 'B', ('disk.read.bytes.rate', 'B/s')),
    ('disk.device.write.requests', 'request', ('disk.device.write.requests.rate', 'request/s')),
    ('disk.write.requests', 'request', ('disk.write.requests.rate', 'request/s')),
])
def test_mapper_applies_the_regexes(name, unit, expected):
    assert disk_mapper()(name, unit) == expected


def test_non_matching_map_from_keeps_input_and_ignores_target():
    mapped = disk_mapper(name='ignored', unit='ignored')
    assert mapped('cpu', 'ns') == ('cpu', 'ns')
    assert mapped('disk.read.bytes', 'ns') == ('disk.read.bytes.rate', 'ns')


def test_mapper_uses_target_without_map_from():
    assert mapper(target={'name': 'cpu_util', 'unit': '%'})('cpu', 'ns') == ('cpu_util', '%')
    assert mapper(target={'unit': '%'})('cpu', 'ns') == ('cpu', '%')
    assert mapper()('cpu', 'ns') == ('cpu', 'ns')


def test_mapper_mixes_a_name_mapping_with_a_fixed_unit():
    mapped = mapper({'map_from': {'name': base.Regex(r'network\.(incoming|outgoing)')}},
                    {'unit': 'B/s', 'map_to': {'name': r'net.\1'}})
    assert mapped('network.incoming.bytes', 'B') == ('net.incoming.bytes', 'B/s')


# Schemas and expressions over samples

def test_scale_accepts_numbers_and_expressions():
    assert base.Scale(100) == 100.0
    assert isinstance(base.Scale(100), float)
    scale = base.Scale('volume * resource_metadata.cpu_number')
    assert scale.evaluate(make_sample()) == 20.0


@pytest.mark.parametrize('value', [True, 'nosuchfield * 2', 'volume +', [1]])
def test_scale_rejects_bad_values(value):
    with pytest.raises(vol.Invalid):
        base.Scale(value)


def test_sample_names_resolve_to_fields():
    compiled = expression.compile_expression(
        "name + ':' + resource_id + ':' + type", base.resolve_sample_name)
    assert compiled.evaluate(make_sample()) == 'cpu:r1:cumulative'
    with pytest.raises(expression.ExpressionError):
        expression.compile_expression('counter_volume', base.resolve_sample_name)


def test_regex_validator():
    assert base.Regex('a+').match('aaa')
    with pytest.raises(vol.Invalid):
        base.Regex('(')
    with pytest.raises(vol.Invalid):
        base.Regex(5)


@pytest.mark.parametrize('parameters', [
    {'source': {'map_from': {'name': 'x'}}, 'target': {}},
    {'source': {}, 'target': {'map_to': {'unit': 'x'}}},
    {'source': {'map_from': {'name': 'x'}}, 'target': {'map_to': {'unit': 'y'}}},
])
def test_mappings_go_in_pairs(parameters):
    with pytest.raises(vol.Invalid):
        base.check_mappings(parameters)


def test_default_transformer_passes_samples_and_flushes_nothing():
    transformer = base.Transformer({})
    sample = make_sample()
    assert transformer.handle(sample) is sample
    assert transformer.flush() == []
    assert not transformer.counters
