"""The measure search's queries (telewatch.api.measure_query): Gnocchi's operators on whole
series, and what is refused."""

import numpy
import pytest

from telewatch.api import measure_query

VALUES = numpy.array([0.0, 1.0, 12.0, 30.0, 45.0])
CASES = [
    ({'=': 12}, [12.0]),
    ({'≥': 30}, [30.0, 45.0]),
    ({'and': [{'>': 0}, {'<': [{'*': 2}, 30]}]}, [1.0, 12.0]),
    ({'∨': [{'eq': 0}, {'ge': 45}]}, [0.0, 45.0]),
    ({'not': {'>': 10}}, [0.0, 1.0]),
    ({'=': [{'%': 15}, 0]}, [0.0, 30.0, 45.0]),
    ({'>': [{'/': 1}, 40]}, [45.0]),  # the value divided by 1
    ({'=': [{'/': [1, {'-': [{'+': 0}, 0]}]}, numpy.inf]}, [0.0]),  # 1/0 is inf
]


@pytest.mark.parametrize('tree, kept', CASES)
def test_the_points_a_query_keeps(tree, kept):
    query = measure_query.compile_query(tree)
    assert VALUES[measure_query.select(query, VALUES)].tolist() == kept


@pytest.mark.parametrize('tree, path', [
    ({'and': {'=': 1}}, ['and']),
    ({'=': [1, 2, 3]}, ['=']),
    ({'like': 1}, ['like']),
    ({'or': [{'=': 1}, [1]]}, ['or', 1]),
    ({'=': 1, '>': 2}, []),
])
def test_what_is_refused_names_where(tree, path):
    with pytest.raises(measure_query.InvalidQuery) as caught:
        measure_query.compile_query(tree)
    assert caught.value.path == path
