"""The string filter and the JSON query checks against golden cases
(tests/cases/resource_queries/*.json), and the sort keys."""

import datetime
import json
import pathlib

import pytest

from telewatch.archive.index import query

CASES = pathlib.Path(__file__).resolve().parents[3] / 'cases' / 'resource_queries'
STRING_FILTERS = json.loads((CASES / 'string_filters.json').read_text())
JSON_QUERIES = json.loads((CASES / 'json_queries.json').read_text())


def canonical(value):
    """JSON text that tells 1 from 1.0 and True from 1 (== would not)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False,
                      default=lambda v: v.isoformat())


def by_name(cases):
    return pytest.mark.parametrize('case', cases, ids=[c['name'] for c in cases])


@by_name(STRING_FILTERS['cases'])
def test_string_filter(case):
    if 'error' in case:
        with pytest.raises(query.InvalidQuery) as raised:
            query.parse_filter_string(case['text'])
        assert case['error'] in str(raised.value)
    else:
        assert canonical(query.parse_filter_string(case['text'])) == canonical(case['expected'])


@by_name(JSON_QUERIES['cases'])
def test_json_query(case):
    def check():
        return query.validate_query(case['query'], JSON_QUERIES['definition'],
                                    JSON_QUERIES['creator'], JSON_QUERIES['resource_type'])

    if 'error' in case:
        with pytest.raises(query.InvalidQuery) as raised:
            check()
        assert case['error'] in str(raised.value)
        assert raised.value.to_dict()['detail']['reason'] == str(raised.value)
    else:
        assert canonical(check()) == canonical(case['expected'])


def test_the_reference_example_checks_against_its_type():
    parsed = query.parse_filter_string('not (flavor_id!="1" and memory>=24)')
    assert query.validate_query(parsed, JSON_QUERIES['definition']) == {
        'not': {'and': [{'ne': {'flavor_id': '1'}}, {'ge': {'memory': 24.0}}]}}


def test_errors_are_typed_and_carry_their_fields():
    with pytest.raises(query.UnknownAttribute) as raised:
        query.validate_query({'=': {'flavor_id': 'x'}}, {}, resource_type='generic')
    assert (raised.value.resource_type, raised.value.attribute) == ('generic', 'flavor_id')
    assert raised.value.path == "data['=']['flavor_id']"
    with pytest.raises(query.InvalidValue) as raised:
        query.validate_query({'in': {'started_at': ['2024-01-01', 'soon']}}, {})
    assert (raised.value.attribute, raised.value.value) == ('started_at', 'soon')


def test_a_generic_attribute_wins_over_a_custom_one_of_the_same_name():
    definition = {'lifespan': {'type': 'string'}}
    assert query.validate_query({'=': {'lifespan': 60}}, definition) == {
        'eq': {'lifespan': 60.0}}


def test_the_creator_makes_the_id():
    one = query.validate_query({'=': {'id': 'vm-1'}}, {}, creator='u:p')
    other = query.validate_query({'=': {'id': 'vm-1'}}, {}, creator='v:p')
    assert one != other


def test_deep_nesting_is_refused_not_crashed():
    node = {'=': {'id': 'x'}}
    for _ in range(query.MAX_DEPTH + 1):
        node = {'not': node}
    with pytest.raises(query.InvalidQuery, match='nested more than'):
        query.validate_query(node, {})
    parsed = query.parse_filter_string('not ' * 5000 + 'a=1')
    with pytest.raises(query.InvalidQuery, match='nested more than'):
        query.validate_query(parsed, {'a': {'type': 'number'}})
    assert query.parse_filter_string('(' * 5000 + 'a=1' + ')' * 5000) == {'=': {'a': 1.0}}


KNOWN = query.attribute_kinds({'memory': {'type': 'number'}})


@pytest.mark.parametrize('key, expected', [
    ('id', ('id', False, False)),
    ('id:asc', ('id', False, False)),
    ('id:', ('id', False, False)),
    ('ended_at:desc', ('ended_at', True, True)),
    ('ended_at:desc-nullslast', ('ended_at', True, False)),
    ('ended_at:asc-nullsfirst', ('ended_at', False, True)),
    ('memory-nullsfirst', ('memory', False, True)),
    (' lifespan:desc ', ('lifespan', True, True)),
])
def test_sort_keys(key, expected):
    assert query.parse_sort([key], KNOWN) == [expected]


@pytest.mark.parametrize('key, reason', [
    ('invalid:asc', 'Sort key supplied is invalid: invalid:asc'),
    ('id:invalid', "Unknown sort direction, must be 'desc' or 'asc'"),
    ('id:asc-nullsmiddle', 'Sort key supplied is invalid'),
    ('', 'Sort key supplied is invalid'),
    (None, 'Sort key supplied is invalid: None'),
])
def test_bad_sort_keys(key, reason):
    with pytest.raises(query.InvalidPagination) as raised:
        query.parse_sort([key], KNOWN)
    assert reason in raised.value.reason
    assert str(raised.value).startswith('Invalid pagination: `')


def test_datetime_values_are_naive_utc():
    checked = query.validate_query({'>': {'started_at': '2024-06-01T12:00:00-02:00'}}, {})
    assert checked == {'gt': {'started_at': datetime.datetime(2024, 6, 1, 14, 0)}}
