import pytest

from telewatch import config_file


def test_lines_are_known_for_nested_paths():
    document = config_file.parse_yaml('a:\n  b:\n    - x\n    - y: 1\n', 'f.yaml')
    assert document.line_of(('a', 'b', 1, 'y')) == 4
    assert document.line_of(('a', 'b', 0)) == 3
    assert document.line_of(('a', 'missing')) == 1


def test_errors_print_file_line_path_and_message():
    document = config_file.parse_yaml('sources:\n  - name: x\n', 'f.yaml')
    document.error(('sources', 0, 'name'), 'bad')
    document.error((), 'whole file')
    with pytest.raises(config_file.ConfigErrors) as caught:
        document.raise_if_errors()
    assert str(caught.value) == 'f.yaml:1: whole file\nf.yaml:2: sources[0].name: bad'


@pytest.mark.parametrize('text, message', [
    ('a: [1\n', "f.yaml:2: invalid YAML: while parsing a flow sequence; expected ',' or ']', "
                "but got '<stream end>'"),
    ('a: 1\na: 2\n', 'f.yaml:2: a: duplicate key'),
    ('a: !!python/object:os.system x\n', 'f.yaml:1: invalid YAML: could not determine a '
                                         'constructor for the tag '
                                         "'tag:yaml.org,2002:python/object:os.system'"),
])
def test_bad_yaml(text, message):
    with pytest.raises(config_file.ConfigErrors) as caught:
        config_file.parse_yaml(text, 'f.yaml')
    assert str(caught.value) == message


def test_format_path():
    assert config_file.format_path(('sinks', 1, 'publishers', 0)) == 'sinks[1].publishers[0]'
