"""pipeline.yaml validation: every invalid file under tests/cases/invalid_pipelines gives
exactly the errors in its .errors file; valid files load into the right pipelines."""

import io
import os
import pathlib

import pytest
import yaml

from telewatch import config_file
from telewatch.cmd import pipeline as cli
from telewatch.pipeline import config

REPO = pathlib.Path(__file__).resolve().parents[3]
INVALID = REPO / 'tests' / 'cases' / 'invalid_pipelines'
INVALID_FILES = sorted(INVALID.glob('*.yaml'))


def test_there_are_enough_invalid_cases():
    assert len(INVALID_FILES) >= 15


@pytest.mark.parametrize('path', INVALID_FILES, ids=lambda path: path.stem)
def test_invalid_pipeline_reports_exact_errors(path, monkeypatch):
    monkeypatch.chdir(INVALID)
    stdout, stderr = io.StringIO(), io.StringIO()
    code = cli.main(['validate', path.name], stdout=stdout, stderr=stderr)
    assert code == 1
    assert stdout.getvalue() == ''
    assert stderr.getvalue() == path.with_suffix('.errors').read_text()


def test_shipped_pipeline_is_valid(conf):
    definition = config.load_pipeline(str(REPO / 'etc' / 'pipeline.yaml'), conf)
    names = [name for name, _, _ in definition.pipelines]
    assert names == ['meter_source:meter_sink', 'cpu_source:cpu_sink',
                     'cpu_source:cpu_delta_sink', 'disk_source:disk_sink',
                     'network_source:network_sink', 'host_source:host_sink']
    # One publisher instance per distinct URL, shared by the sinks.
    assert len(definition.publishers()) == 1


def test_the_host_rates_case_runs_the_shipped_host_sink():
    def parts(path):
        document = yaml.safe_load(path.read_text())
        source, = (s for s in document['sources'] if s['name'] == 'host_source')
        sink, = (s for s in document['sinks'] if s['name'] == 'host_sink')
        return source, sink['transformers']
    assert parts(REPO / 'tests' / 'cases' / 'host_rates' / 'pipeline.yaml') == parts(
        REPO / 'etc' / 'pipeline.yaml')


def test_validate_prints_ok(capsys):
    assert cli.main(['validate', str(REPO / 'etc' / 'pipeline.yaml')]) == 0
    assert capsys.readouterr().out == 'OK\n'


def _parse(text, conf):
    return config.parse_pipeline(config_file.parse_yaml(text, 'p.yaml'), conf)


def test_source_and_sink_with_one_name_make_one_pipeline_name(conf):
    definition = _parse("""
sources: [{name: same, meters: ["*"], sinks: [same, other]}]
sinks:
  - {name: same, publishers: ["log://"]}
  - {name: other, publishers: ["log://"], transformers: null}
""", conf)
    assert [name for name, _, _ in definition.pipelines] == ['same', 'same:other']


def test_transformer_parameters_may_be_absent_or_null(conf):
    definition = _parse("""
sources: [{name: s, meters: [cpu], sinks: [k]}]
sinks:
  - name: k
    transformers: [{name: delta}, {name: accumulator, parameters: null}]
    publishers: [log]
""", conf)
    specs = definition.sinks['k'].transformers
    assert [spec.name for spec in specs] == ['delta', 'accumulator']
    assert specs[1].parameters == {'size': 1}


def test_unreadable_file_is_a_config_error(conf, tmp_path):
    with pytest.raises(config_file.ConfigErrors) as caught:
        config.load_pipeline(str(tmp_path / 'missing.yaml'), conf)
    assert str(caught.value).startswith('%s: cannot read the file' % (tmp_path / 'missing.yaml'))


def test_errors_are_collected_not_stopped_at_the_first(conf):
    with pytest.raises(config_file.ConfigErrors) as caught:
        _parse("""
sources:
  - {name: a, meters: [], sinks: [k]}
  - {name: b, meters: ["x", "!y"], sinks: [nowhere]}
sinks:
  - {name: k, publishers: ["nope://"]}
""", conf)
    assert [(error.line, cli.config_file.format_path(error.path)) for error in
            caught.value.errors] == [(3, 'sources[0].meters'), (4, 'sources[1].meters'),
                                     (4, 'sources[1].sinks[0]'), (6, 'sinks[0].publishers[0]')]


def test_find_relative_to_cwd(conf, monkeypatch):
    monkeypatch.chdir(REPO)
    assert os.path.exists(cli.DEFAULT_PIPELINE)


def test_pipeline_file_is_found_in_the_configuration_directory(tmp_path, monkeypatch):
    from telewatch import service
    (tmp_path / 'telewatch.conf').write_text('[pipeline]\npipeline_cfg_file = mine.yaml\n')
    (tmp_path / 'mine.yaml').write_text('sources: []\n')
    monkeypatch.chdir(REPO)
    conf = service.prepare_service(['--config-file', str(tmp_path / 'telewatch.conf')])
    assert config.find_pipeline_file(conf) == str(tmp_path / 'mine.yaml')


def test_pipeline_file_given_as_a_path_that_exists(conf, monkeypatch):
    monkeypatch.chdir(REPO)
    conf.set_override('pipeline_cfg_file', 'etc/pipeline.yaml', group='pipeline')
    assert config.find_pipeline_file(conf) == 'etc/pipeline.yaml'


def test_missing_pipeline_file_is_a_config_error(conf, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    conf.set_override('pipeline_cfg_file', 'absent.yaml', group='pipeline')
    with pytest.raises(config_file.ConfigErrors) as caught:
        config.find_pipeline_file(conf)
    assert str(caught.value).startswith('absent.yaml: not found (nor in the configuration '
                                        'directories, nor ')
