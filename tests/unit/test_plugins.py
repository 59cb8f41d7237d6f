"""Every registered plugin loads, and builds, starts and stops from its declared defaults."""

import pathlib

import pytest

from telewatch import plugins
from telewatch.publishers import base as publisher_base

TRANSFORMERS = ['accumulator', 'aggregator', 'arithmetic', 'delta', 'rate_of_change',
                'unit_conversion']
REPO = pathlib.Path(__file__).resolve().parents[2]
PUBLISHERS = ['archive', 'file', 'gnocchi', 'http', 'https', 'kafka', 'log', 'udp']


def test_the_built_in_plugins_are_registered():
    assert plugins.names(plugins.TRANSFORMER_NAMESPACE) == TRANSFORMERS
    assert plugins.names(plugins.PUBLISHER_NAMESPACE) == PUBLISHERS


@pytest.mark.parametrize('name', plugins.names(plugins.TRANSFORMER_NAMESPACE))
def test_transformer_builds_from_its_example(name):
    factory = plugins.load_transformer(name)
    transformer = factory(factory.PARAMETERS(factory.EXAMPLE))
    assert transformer.flush() == []


@pytest.mark.parametrize('scheme', plugins.names(plugins.PUBLISHER_NAMESPACE))
def test_publisher_starts_and_stops_from_its_example(scheme, conf, monkeypatch):
    # As from a configuration directory holding the shipped files (archive_resources.yaml).
    monkeypatch.chdir(REPO / 'etc')
    factory = plugins.load_publisher(scheme)
    url = publisher_base.PublisherURL(factory.EXAMPLE_URL)
    publisher = factory(url, conf)
    publisher.start()
    publisher.stop()
    publisher.stop()


def test_unknown_plugin_names_the_installed_ones():
    with pytest.raises(plugins.PluginNotFound) as caught:
        plugins.load_transformer('rate_of_chnage')
    assert str(caught.value) == ("unknown transformer 'rate_of_chnage' (installed: %s)"
                                 % ', '.join(TRANSFORMERS))
