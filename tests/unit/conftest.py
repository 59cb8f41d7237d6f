import pathlib

import pytest

from telewatch import service

REPO = pathlib.Path(__file__).resolve().parents[2]
CASES = REPO / 'tests' / 'cases'


@pytest.fixture
def conf(tmp_path):
    """A ConfigOpts with every telewatch option registered and no file read; ``data_dir``
    is a directory of the test's own (never the host's /var/lib/telewatch)."""
    conf = service.prepare_service([])
    conf.set_override('data_dir', str(tmp_path / 'data'))
    return conf
