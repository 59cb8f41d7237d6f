import pathlib

import pytest

from telewatch import service

REPO = pathlib.Path(__file__).resolve().parents[2]
CASES = REPO / 'tests' / 'cases'


@pytest.fixture
def conf():
    """A ConfigOpts with every telewatch option registered and no file read."""
    return service.prepare_service([])
