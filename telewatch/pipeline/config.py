"""pipeline.yaml: loading and validation into a PipelineDefinition.

Ceilometer's format: ``sources`` (name, meters, sinks) and ``sinks`` (name, transformers,
publishers). Every problem is collected and reported with its file, YAML path and line;
a transformer or publisher that is unknown, badly configured or cannot be loaded is an
error too, so a daemon never starts with a sink that silently does nothing.
"""

import os

import voluptuous as vol

from telewatch import config_file
from telewatch import plugins
from telewatch.publishers import base as publisher_base


class TransformerSpec:
    """One entry of a sink's transformer chain: the class and its checked parameters."""

    def __init__(self, name, factory, parameters):
        self.name = name
        self.factory = factory
        self.parameters = parameters


class SinkDefinition:
    def __init__(self, name, transformers, publishers):
        self.name = name
        self.transformers = transformers
        self.publishers = publishers


class SourceDefinition:
    def __init__(self, name, meters, sinks):
        self.name = name
        self.meters = meters
        self.sinks = sinks


class PipelineDefinition:
    """A valid pipeline.yaml: sources, sinks, and the (source, sink) pipelines they make."""

    def __init__(self, filename, sources, sinks):
        self.filename = filename
        self.sources = sources
        self.sinks = sinks

    @property
    def pipelines(self):
        """(name, source, sink) for every source and each of its sinks."""
        for source in self.sources:
            for sink_name in source.sinks:
                name = source.name if source.name == sink_name else '%s:%s' % (
                    source.name, sink_name)
                yield name, source, self.sinks[sink_name]

    def publishers(self):
        """Every distinct publisher instance of the file."""
        seen = {}
        for sink in self.sinks.values():
            for publisher in sink.publishers:
                seen[id(publisher)] = publisher
        return list(seen.values())


def find_pipeline_file(conf):
    """The file ``[pipeline] pipeline_cfg_file`` names (see config_file.find_file)."""
    return config_file.find_file(conf, conf.pipeline.pipeline_cfg_file)


def load_pipeline(filename, conf):
    """Load and validate ``filename``; raise config_file.ConfigErrors listing every error.

    The files its publishers name (archive_resources.yaml) are then also found beside it.
    """
    return parse_pipeline(config_file.load_yaml(filename), conf,
                          directory=os.path.dirname(filename))


def parse_pipeline(document, conf, directory=None):
    """The PipelineDefinition of a parsed document; ``directory``: where the files its
    publishers name are looked up when not found otherwise (see config_file.find_file)."""
    checker = _Checker(document, conf, directory)
    definition = checker.check()
    document.raise_if_errors()
    return definition


def _vol_message(error):
    message = error.error_message
    if message == 'extra keys not allowed':
        return 'unknown key'
    if message == 'required key not provided':
        return 'missing required key'
    return message


class _Checker(config_file.Checker):
    def __init__(self, document, conf, directory):
        super().__init__(document)
        self.conf = conf
        self.directory = directory
        self._publishers = {}
        self._invalid_sinks = set()

    def check(self):
        data = self.doc.data
        if not self.mapping((), data, required=('sources', 'sinks')):
            return None
        # With no usable sinks section, every sink a source names would be reported too.
        self._sinks_known = isinstance(data.get('sinks'), list)
        sinks = self._sinks(data['sinks']) if 'sinks' in data else {}
        sources = self._sources(data['sources'], sinks) if 'sources' in data else []
        return PipelineDefinition(self.doc.filename, sources, sinks)

    def _sources(self, entries, sinks):
        sources, seen = [], set()
        for index, entry in enumerate(self.non_empty_list(('sources',), entries, 'sources')):
            path = ('sources', index)
            if not self.mapping(path, entry, required=('name', 'meters', 'sinks')):
                continue
            name = self.name(path, entry, seen, 'source')
            meters = self.doc.meter_filter(path + ('meters',), entry.get('meters'))
            sink_names = self._source_sinks(path + ('sinks',), entry.get('sinks'), sinks)
            if name and meters and sink_names:
                sources.append(SourceDefinition(name, meters, sink_names))
        return sources

    def _source_sinks(self, path, names, sinks):
        if names is None:
            return None
        valid = True
        for index, name in enumerate(self.non_empty_list(path, names, 'sink names') or [None]):
            if name is None:
                valid = False
            elif not isinstance(name, str):
                self.doc.error(path + (index,), 'expected a sink name, got %r' % (name,))
                valid = False
            elif not self._sinks_known:
                valid = False
            elif name not in sinks and name not in self._invalid_sinks:
                known = ', '.join(sorted(sinks)) or 'none'
                self.doc.error(path + (index,), 'unknown sink %r (sinks: %s)' % (name, known))
                valid = False
            elif names.index(name) != index:
                self.doc.error(path + (index,), 'sink %r is listed twice' % name)
                valid = False
            elif name in self._invalid_sinks:
                valid = False
        return names if valid else None

    def _sinks(self, entries):
        sinks, seen = {}, set()
        for index, entry in enumerate(self.non_empty_list(('sinks',), entries, 'sinks')):
            path = ('sinks', index)
            if not self.mapping(path, entry, required=('name', 'publishers'),
                                optional=('transformers',)):
                continue
            name = self.name(path, entry, seen, 'sink')
            errors_before = len(self.doc.errors)
            transformers = self._transformers(path + ('transformers',),
                                              entry.get('transformers'))
            publishers = self._publishers_of(path + ('publishers',), entry.get('publishers'))
            if name is None:
                continue
            if len(self.doc.errors) > errors_before or 'publishers' not in entry:
                self._invalid_sinks.add(name)
            else:
                sinks[name] = SinkDefinition(name, transformers, publishers)
        return sinks

    def _transformers(self, path, entries):
        if entries is None:
            return []
        if not isinstance(entries, list):
            self.doc.error(path, 'expected a list of transformers')
            return []
        specs = []
        for index, entry in enumerate(entries):
            spec = self._transformer(path + (index,), entry)
            if spec is not None:
                specs.append(spec)
        return specs

    def _transformer(self, path, entry):
        if not self.mapping(path, entry, required=('name',), optional=('parameters',)):
            return None
        name = entry.get('name')
        if not isinstance(name, str):
            self.doc.error(path + ('name',), 'expected a transformer name')
            return None
        try:
            factory = plugins.load_transformer(name)
        except (plugins.PluginNotFound, plugins.PluginLoadError) as exc:
            self.doc.error(path + ('name',), str(exc))
            return None
        parameters = entry.get('parameters')
        if parameters is None:
            parameters = {}
        elif not isinstance(parameters, dict):
            self.doc.error(path + ('parameters',), 'expected a mapping')
            return None
        try:
            checked = factory.PARAMETERS(parameters)
        except vol.MultipleInvalid as exc:
            for error in exc.errors:
                self.doc.error(path + ('parameters',) + tuple(error.path), _vol_message(error))
            return None
        return TransformerSpec(name, factory, checked)

    def _publishers_of(self, path, urls):
        if urls is None:
            return []
        publishers = []
        for index, url in enumerate(self.non_empty_list(path, urls, 'publisher URLs')):
            publisher = self._publisher(path + (index,), url)
            if publisher is not None:
                publishers.append(publisher)
        return publishers

    def _publisher(self, path, text):
        # One instance per distinct URL, shared by the sinks that name it (as Ceilometer).
        if isinstance(text, str) and text in self._publishers:
            return self._publishers[text]
        try:
            url = publisher_base.PublisherURL(text, self.directory)
            factory = plugins.load_publisher(url.scheme)
            publisher = factory(url, self.conf)
        except (ValueError, plugins.PluginNotFound, plugins.PluginLoadError) as exc:
            self.doc.error(path, str(exc))
            return None
        self._publishers[text] = publisher
        return publisher
