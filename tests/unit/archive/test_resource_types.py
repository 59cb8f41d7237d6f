import pytest

from telewatch.archive import errors
from telewatch.archive import resource_types

DEFINITION = resource_types.normalise_definition({
    'host': {'type': 'string', 'max_length': 8},
    'flavor_id': {'type': 'uuid', 'required': False},
    'vcpus': {'type': 'number', 'min': 1, 'required': False},
    'pinned': {'type': 'bool', 'required': False},
    'launched': {'type': 'datetime', 'required': False},
})


def test_definitions_get_gnocchis_defaults():
    assert DEFINITION['host'] == {'type': 'string', 'required': True, 'min_length': 0,
                                  'max_length': 8}
    assert DEFINITION['vcpus'] == {'type': 'number', 'required': False, 'min': 1,
                                   'max': None}


def test_every_bad_definition_is_named():
    with pytest.raises(errors.InvalidResourceType) as caught:
        resource_types.normalise_definition({
            'id': {'type': 'string'}, 'a': {'type': 'blob'},
            'b': {'type': 'uuid', 'max_length': 3}, 'c': {'type': 'number', 'min': 'x'}})
    assert [field for field, _ in caught.value.errors] == [
        'attributes.id', 'attributes.a.type', 'attributes.b.max_length', 'attributes.c.min']


def test_values_are_checked_and_normalised():
    assert resource_types.check_attributes(DEFINITION, {
        'host': 'node-1', 'flavor_id': '5A7DD9F76E574C2AB0A93C0F6CD8D0E1', 'vcpus': 2,
        'pinned': False, 'launched': '2024-01-01T10:00:00+02:00'}) == {
        'host': 'node-1', 'flavor_id': '5a7dd9f7-6e57-4c2a-b0a9-3c0f6cd8d0e1', 'vcpus': 2,
        'pinned': False, 'launched': '2024-01-01T08:00:00'}


def test_every_bad_value_is_named():
    with pytest.raises(errors.InvalidAttributes) as caught:
        resource_types.check_attributes(DEFINITION, {
            'flavor_id': 'nope', 'vcpus': 0, 'pinned': 'yes', 'colour': 'red'})
    assert sorted(field for field, _ in caught.value.errors) == [
        'colour', 'flavor_id', 'host', 'pinned', 'vcpus']
    assert resource_types.check_attributes(DEFINITION, {'vcpus': None}, partial=True) == {
        'vcpus': None}
