"""Gnocchi 4.7's own functional tests, every gabbit file of the installed package, against a
live telewatch-api (tests.functional.gnocchi_gabbits): the tests that fail are exactly those
doc/api.md lists as deliberate differences."""

import pytest

from tests.functional import gnocchi_gabbits

GABBITS = gnocchi_gabbits.gabbits_dir()


@pytest.fixture(scope='module')
def servers():
    return gnocchi_gabbits.Servers()


@pytest.fixture(scope='module')
def expected():
    return gnocchi_gabbits.differences()


@pytest.mark.parametrize('name', sorted(path.name for path in GABBITS.glob('*.yaml')))
def test_gabbit_file(name, servers, expected, tmp_path):
    with servers.serve(tmp_path) as port:
        outcomes = gnocchi_gabbits.run_file(GABBITS / name, port)
    gnocchi_gabbits.RESULTS[name] = outcomes
    gnocchi_gabbits.save()
    problems = gnocchi_gabbits.problems(outcomes, expected.get(name, {}))
    assert not problems, '%s: %d problems\n\n%s' % (
        name, len(problems), '\n\n'.join(problems))
