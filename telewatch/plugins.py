"""Plugin lookup through stevedore: the entry-point name is the name written in YAML."""

import stevedore

TRANSFORMER_NAMESPACE = 'telewatch.transformer'
PUBLISHER_NAMESPACE = 'telewatch.publisher'


class PluginNotFound(LookupError):
    """No installed plugin of that name (``available`` lists the installed ones)."""

    def __init__(self, kind, name, available):
        super().__init__('unknown %s %r (installed: %s)' % (
            kind, name, ', '.join(available) or 'none'))
        self.available = available


class PluginLoadError(ImportError):
    """The plugin is installed but its code cannot be imported."""


def names(namespace):
    return sorted(stevedore.ExtensionManager(namespace).names())


def _raise_load_failure(manager, entry_point, exc):
    raise PluginLoadError('%s cannot be loaded: %s: %s' % (
        entry_point.value, type(exc).__name__, exc)) from exc


def load(namespace, name, kind):
    """The class registered under ``name``; PluginNotFound or PluginLoadError otherwise."""
    try:
        manager = stevedore.DriverManager(namespace, name, invoke_on_load=False,
                                          on_load_failure_callback=_raise_load_failure,
                                          on_missing_entrypoints_callback=None)
    except stevedore.exception.NoMatches:
        raise PluginNotFound(kind, name, names(namespace)) from None
    return manager.driver


def load_transformer(name):
    return load(TRANSFORMER_NAMESPACE, name, 'transformer')


def load_publisher(scheme):
    return load(PUBLISHER_NAMESPACE, scheme, 'publisher')
