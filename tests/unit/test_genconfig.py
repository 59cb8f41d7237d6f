"""The sample configuration is generated from the code; it must not go stale."""

import pathlib

from oslo_config import generator

REPO = pathlib.Path(__file__).resolve().parents[2]


def test_sample_config_is_up_to_date(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    output = tmp_path / 'telewatch.conf.sample'
    generator.main(['--config-file', 'etc/telewatch/telewatch-config-generator.conf',
                    '--output-file', str(output)])
    shipped = REPO / 'etc' / 'telewatch' / 'telewatch.conf.sample'
    assert output.read_text() == shipped.read_text(), (
        'etc/telewatch/telewatch.conf.sample is stale: run `tox -e genconfig`')
