"""YAML configuration files: loading with line numbers, errors collected with their paths,
and the checks every file's checker shares (Checker).

Every loader of an operator's file (pipeline.yaml, polling.yaml, meters.yaml,
archive_resources.yaml) reports all it finds wrong at once, each error as
``FILE:LINE: yaml.path[2].key: what is wrong``.
"""

import os
import sys

import yaml

from telewatch import meter_filter


def find_file(conf, name, beside=None):
    """A configuration file named by an option: as given (absolute, or relative to the
    working directory), else in the configuration directories, else in the directory
    ``beside`` (that of the file naming it: the pipeline file for its publishers' files),
    else the copy installed with telewatch (share/telewatch/etc). Raises ConfigErrors when
    there is none."""
    installed = os.path.join(sys.prefix, 'share', 'telewatch', 'etc', os.path.basename(name))
    relative = not os.path.isabs(name)
    for candidate in (name, conf.find_file(name) if relative else None,
                      os.path.join(beside, name) if beside and relative else None,
                      installed):
        if candidate and os.path.isfile(candidate):
            return candidate
    raise ConfigErrors([ConfigError(
        name, (), 'not found (nor in the configuration directories, nor %s)' % installed)])


def format_path(path):
    """('sources', 2, 'meters') -> 'sources[2].meters'."""
    text = ''
    for part in path:
        if isinstance(part, int):
            text += '[%d]' % part
        else:
            text += ('.' if text else '') + str(part)
    return text


class ConfigError:
    """One thing wrong in one file, at one YAML path."""

    def __init__(self, filename, path, message, line=None):
        self.filename = filename
        self.path = tuple(path)
        self.message = message
        self.line = line

    def __str__(self):
        where = self.filename if self.line is None else '%s:%d' % (self.filename, self.line)
        path = format_path(self.path)
        return '%s: %s: %s' % (where, path, self.message) if path else '%s: %s' % (
            where, self.message)

    def __repr__(self):
        return '<ConfigError %s>' % self


class ConfigErrors(Exception):
    """Everything wrong with a configuration file; start-up stops on it."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__('\n'.join(str(error) for error in self.errors))


class ConfigDocument:
    """A parsed YAML file that knows the line of each path and collects errors against it."""

    def __init__(self, filename, data, lines):
        self.filename = filename
        self.data = data
        self._lines = lines
        self.errors = []

    def line_of(self, path):
        path = tuple(path)
        while path:
            if path in self._lines:
                return self._lines[path]
            path = path[:-1]
        return self._lines.get((), None)

    def error(self, path, message):
        self.errors.append(ConfigError(self.filename, path, message, self.line_of(path)))

    def meter_filter(self, path, patterns):
        """The MeterFilter of a meter list, or None (with its errors collected) if it is
        invalid or absent."""
        if patterns is None:
            return None
        problems = meter_filter.check(patterns)
        for problem in problems:
            self.error(path, problem)
        return None if problems else meter_filter.MeterFilter(patterns)

    def raise_if_errors(self):
        """Raise ConfigErrors with every error collected, in the order of the file."""
        if self.errors:
            raise ConfigErrors(sorted(self.errors, key=lambda error: error.line or 0))


class Checker:
    """Base of the checker of one kind of file: the checks of keys, lists and names that
    every file shares, each collecting its errors into ``doc`` (a ConfigDocument) and going
    on. A subclass checks what its file means and builds its objects."""

    def __init__(self, document):
        self.doc = document

    def mapping(self, path, value, required=(), optional=(), expected=None):
        """Whether ``value`` is a mapping (else the error ``expected``, by default naming the
        keys); its unknown keys, then its missing required keys, are errors too."""
        allowed = tuple(required) + tuple(optional)
        if not isinstance(value, dict):
            self.doc.error(path, expected or 'expected a mapping with the keys %s'
                           % ', '.join(allowed))
            return False
        self.unknown_keys(path, value, allowed)
        for key in required:
            if key not in value:
                self.doc.error(path, 'missing required key %r' % key)
        return True

    def unknown_keys(self, path, mapping, allowed):
        """An error at each key of ``mapping`` that is not in ``allowed``."""
        for key in mapping:
            if key not in allowed:
                self.doc.error(path + (key,), 'unknown key (expected one of: %s)'
                               % ', '.join(allowed))

    def document_list(self, key, what, expected=None):
        """The non-empty list under ``key``, the one key of the document (else errors, and
        [])."""
        data = self.doc.data
        if not isinstance(data, dict):
            self.doc.error((), expected or 'expected a mapping with the key %s' % key)
            return []
        for name in data:
            if name != key:
                self.doc.error((name,), 'unknown key (expected: %s)' % key)
        return self.non_empty_list((key,), data.get(key), what)

    def non_empty_list(self, path, value, what):
        """``value`` if it is a non-empty list, else [] and an error naming ``what``."""
        if not isinstance(value, list) or not value:
            self.doc.error(path, 'expected a non-empty list of %s' % what)
            return []
        return value

    def name(self, path, entry, seen, kind):
        """The ``name`` of the mapping ``entry`` at ``path`` if it is a non-empty string not
        in ``seen`` (then added to it); else None, with an error unless it is absent (the
        missing key is the mapping's error)."""
        name = entry.get('name')
        if not isinstance(name, str) or not name:
            if 'name' in entry:
                self.doc.error(path + ('name',), 'expected a non-empty string')
            return None
        if name in seen:
            self.doc.error(path + ('name',), 'duplicate %s name %r' % (kind, name))
            return None
        seen.add(name)
        return name


def parse_yaml(text, filename):
    """A ConfigDocument from YAML text; a syntax error or duplicate key raises ConfigErrors."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = '; '.join(part for part in (exc.context, exc.problem) if part)
        raise ConfigErrors([ConfigError(filename, (), 'invalid YAML: %s' % problem, line)])
    except yaml.YAMLError as exc:
        raise ConfigErrors([ConfigError(filename, (), 'invalid YAML: %s' % exc)])
    finally:
        loader.dispose()
    lines, duplicates = {}, []
    if node is not None:
        _index_lines(node, (), lines, duplicates)
    document = ConfigDocument(filename, data, lines)
    for path, line in duplicates:
        document.errors.append(ConfigError(filename, path, 'duplicate key', line))
    document.raise_if_errors()
    return document


def load_yaml(filename):
    """A ConfigDocument from a file; an unreadable file raises ConfigErrors too."""
    try:
        with open(filename, encoding='utf-8') as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigErrors([ConfigError(filename, (), 'cannot read the file: %s' % exc)])
    return parse_yaml(text, filename)


def _index_lines(node, path, lines, duplicates):
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = path + (key,)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
                continue
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _index_lines(value_node, child, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, path + (index,), lines, duplicates)
