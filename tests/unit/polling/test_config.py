"""polling.yaml validation: each file under tests/cases/invalid_polling gives exactly the
errors of its .errors file."""

import pathlib

import pytest

from telewatch import config_file
from telewatch.polling import config

CASES = pathlib.Path(__file__).resolve().parents[2] / 'cases' / 'invalid_polling'
PROVIDED = {'cpu', 'vcpus', 'disk.read.bytes', 'hardware.cpu.util', 'hardware.memory.used'}
DISCOVERIES = {'local_instances', 'local_node'}


@pytest.mark.parametrize('path', sorted(CASES.glob('*.yaml')), ids=lambda path: path.stem)
def test_invalid_polling_file_reports_exact_errors(path, monkeypatch):
    monkeypatch.chdir(CASES)
    with pytest.raises(config_file.ConfigErrors) as caught:
        config.load_polling(path.name, PROVIDED, DISCOVERIES)
    assert str(caught.value) + '\n' == path.with_suffix('.errors').read_text()


def test_valid_file(tmp_path):
    path = tmp_path / 'polling.yaml'
    path.write_text("""
sources:
  - name: instances
    interval: 60
    meters: [cpu, "disk.*"]
    discovery: ["local_instances", "local_node://param"]
  - name: static
    interval: 0.5
    meters: ["*", "!cpu"]
    resources: [vm-1, vm-2]
""")
    first, second = config.load_polling(str(path), PROVIDED, DISCOVERIES)
    assert (first.name, first.interval, first.resources) == ('instances', 60, [])
    assert first.discovery == [('local_instances', None), ('local_node', 'param')]
    assert first.meters('disk.read.bytes') and not first.meters('vcpus')
    assert (second.interval, second.resources) == (0.5, ['vm-1', 'vm-2'])
    assert second.meters('vcpus') and not second.meters('cpu')


@pytest.mark.parametrize('text, parsed', [
    ('local_node', ('local_node', None)),
    ('endpoint:compute', ('endpoint', 'compute')),
    ('endpoint://compute', ('endpoint', 'compute')),
    ('two words', None),
])
def test_parse_discovery(text, parsed):
    assert config.parse_discovery(text) == parsed


def test_shipped_polling_file_is_valid():
    from telewatch.polling import loader
    shipped = pathlib.Path(__file__).resolve().parents[3] / 'etc' / 'polling.yaml'
    sources = config.load_polling(str(shipped), loader.provided_meters(),
                                  loader.discovery_names())
    assert [source.name for source in sources] == ['instances', 'node']


@pytest.mark.parametrize('name', ['null', '[a]', '{a: 1}', '""'])
def test_a_source_name_that_is_not_a_string_is_an_error(tmp_path, name):
    # As in pipeline.yaml (the same check): before, null was taken as a source named None
    # and a list or a mapping raised TypeError.
    path = tmp_path / 'polling.yaml'
    path.write_text('sources:\n  - {name: %s, interval: 60, meters: [cpu]}\n' % name)
    with pytest.raises(config_file.ConfigErrors) as caught:
        config.load_polling(str(path), PROVIDED, DISCOVERIES)
    assert str(caught.value) == '%s:2: sources[0].name: expected a non-empty string' % path
