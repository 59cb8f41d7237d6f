import pytest

from telewatch.archive import resource_ids


@pytest.mark.parametrize('original, creator, expected', [
    # Gnocchi's own tests (gabbi) give these.
    ('1.2.3.4', 'foobar', 'a9c729cc-d1b0-5e6b-b5ba-8b5a7f45f1fc'),
    ('foobar', 'foobar', '2fbfbb20-8d56-5e1e-afb9-b3007da11fdf'),
    ('5A7DD9F7-6E57-4C2A-B0A9-3C0F6CD8D0E1', 'x', '5a7dd9f7-6e57-4c2a-b0a9-3c0f6cd8d0e1'),
    ('5a7dd9f76e574c2ab0a93c0f6cd8d0e1', None, '5a7dd9f7-6e57-4c2a-b0a9-3c0f6cd8d0e1'),
])
def test_ids_are_gnocchis(original, creator, expected):
    assert resource_ids.resource_uuid(original, creator) == expected


def test_the_creator_is_part_of_a_derived_id():
    assert (resource_ids.resource_uuid('host-1', None)
            != resource_ids.resource_uuid('host-1', 'admin'))


@pytest.mark.parametrize('bad', ['a/b', '', 'x' * 290, None])
def test_unusable_ids_are_refused(bad):
    with pytest.raises(ValueError):
        resource_ids.resource_uuid(bad, 'c')
