"""polling.yaml: which meters the polling agent polls, how often, on which resources.

Ceilometer's format: ``sources: [{name, interval, meters, resources?, discovery?}]``. Every
problem is reported with its file, YAML path and line, like pipeline.yaml's; a meter named
explicitly that no installed pollster provides is an error too.
"""

import re

from telewatch import config_file

_DISCOVERY_URL = re.compile(r'^(?P<name>[\w.\-]+)(?:(?::/*)(?P<param>.*))?$')
REQUIRED_KEYS = ('name', 'interval', 'meters')
OPTIONAL_KEYS = ('resources', 'discovery')


class PollingSource:
    """One valid source: ``discovery`` is a list of (discovery name, parameter or None)."""

    def __init__(self, name, interval, meters, resources, discovery):
        self.name = name
        self.interval = interval
        self.meters = meters
        self.resources = resources
        self.discovery = discovery

    def __repr__(self):
        return '<PollingSource %s every %ss>' % (self.name, self.interval)


def parse_discovery(text):
    """'name', 'name:param' or 'name://param' -> (name, param or None); None if malformed."""
    match = _DISCOVERY_URL.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    return match.group('name'), match.group('param') or None


def load_polling(filename, provided_meters, discoveries):
    """The sources of ``filename``; ConfigErrors listing every problem.

    ``provided_meters``: the meter names of every installed pollster (any namespace);
    ``discoveries``: the names of the installed discoveries.
    """
    document = config_file.load_yaml(filename)
    sources = _Checker(document, set(provided_meters), set(discoveries)).check()
    document.raise_if_errors()
    return sources


class _Checker(config_file.Checker):
    def __init__(self, document, provided_meters, discoveries):
        super().__init__(document)
        self.provided = provided_meters
        self.discoveries = discoveries

    def check(self):
        sources, names = [], set()
        for index, entry in enumerate(self.document_list('sources', 'sources')):
            source = self._source(('sources', index), entry, names)
            if source is not None:
                sources.append(source)
        return sources

    def _source(self, path, entry, names):
        errors_before = len(self.doc.errors)
        if not self.mapping(path, entry, required=REQUIRED_KEYS, optional=OPTIONAL_KEYS):
            return None
        name = self.name(path, entry, names, 'source')
        interval = self._interval(path + ('interval',), entry.get('interval'))
        meters = self._meters(path + ('meters',), entry.get('meters'))
        resources = self._strings(path + ('resources',), entry.get('resources'), 'resources')
        discovery = self._discovery(path + ('discovery',), entry.get('discovery'))
        if len(self.doc.errors) > errors_before:
            return None
        return PollingSource(name, interval, meters, resources, discovery)

    def _interval(self, path, interval):
        if interval is None:
            return None
        if isinstance(interval, bool) or not isinstance(interval, (int, float)):
            self.doc.error(path, 'expected a number of seconds, got %r' % (interval,))
        elif interval <= 0:
            self.doc.error(path, 'must be more than 0 seconds, got %r' % (interval,))
        return interval

    def _meters(self, path, patterns):
        meters = self.doc.meter_filter(path, patterns)
        if meters is None:
            return None
        for name in meters.explicit_names:
            if name not in self.provided:
                self.doc.error(path + (patterns.index(name),),
                               'no installed pollster provides the meter %r' % name)
        return meters

    def _strings(self, path, values, what):
        if values is None:
            return []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            self.doc.error(path, 'expected a list of %s (strings)' % what)
            return []
        return values

    def _discovery(self, path, values):
        found = []
        for index, text in enumerate(self._strings(path, values, 'discovery names')):
            parsed = parse_discovery(text)
            if parsed is None:
                self.doc.error(path + (index,), 'expected name, name:param or name://param, '
                                                'got %r' % text)
            elif parsed[0] not in self.discoveries:
                self.doc.error(path + (index,), 'unknown discovery %r (installed: %s)' % (
                    parsed[0], ', '.join(sorted(self.discoveries)) or 'none'))
            else:
                found.append(parsed)
        return found
