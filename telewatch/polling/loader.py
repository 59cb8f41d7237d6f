"""Loading pollsters and discoveries: entry points of telewatch.poll.<namespace> and
telewatch.discover, built once at start-up; what this host cannot run is skipped."""

import importlib.metadata
import logging

import stevedore

from telewatch.pollsters import base

LOG = logging.getLogger(__name__)

NAMESPACES = ('compute', 'central', 'host')
POLL_GROUP = 'telewatch.poll.%s'
DISCOVERY_GROUP = 'telewatch.discover'


class PluginStartError(RuntimeError):
    """A selected plugin failed to load or to build for a reason other than a missing
    optional dependency: start-up stops."""


def _entry_point_names(group):
    return {entry_point.name for entry_point in importlib.metadata.entry_points(group=group)}


def provided_meters():
    """Every meter some installed pollster provides, in any namespace."""
    names = set()
    for namespace in NAMESPACES:
        names |= _entry_point_names(POLL_GROUP % namespace)
    return names


def discovery_names():
    return _entry_point_names(DISCOVERY_GROUP)


def _skip_import_errors(skipped):
    def on_failure(manager, entry_point, exc):
        if isinstance(exc, ImportError):
            skipped[entry_point.name] = 'cannot import %s: %s' % (entry_point.value, exc)
            return
        raise PluginStartError('%s (%s) failed to load: %s: %s' % (
            entry_point.name, entry_point.value, type(exc).__name__, exc)) from exc
    return on_failure


def _build(group, make):
    """{name: plugin} for every entry point of ``group`` this host can run."""
    skipped, built = {}, {}
    manager = stevedore.ExtensionManager(group, on_load_failure_callback=_skip_import_errors(
        skipped))
    for extension in manager:
        try:
            built[extension.name] = make(extension)
        except base.PluginUnavailable as exc:
            skipped[extension.name] = str(exc)
        except Exception as exc:
            raise PluginStartError('%s (%s) failed to start: %s: %s' % (
                extension.name, group, type(exc).__name__, exc)) from exc
    for name, reason in sorted(skipped.items()):
        LOG.info('%s %s is skipped on this host: %s', group, name, reason)
    return built


def load_pollsters(conf, namespaces):
    """{meter name: pollster} of the selected namespaces."""
    pollsters = {}
    for namespace in namespaces:
        pollsters.update(_build(POLL_GROUP % namespace,
                                lambda extension: extension.plugin(conf, extension.name)))
    return pollsters


def load_discoveries(conf):
    return _build(DISCOVERY_GROUP, lambda extension: extension.plugin(conf))
