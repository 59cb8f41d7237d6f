"""The bus factory."""

import types

from telewatch import bus
from telewatch.kafka import bus as kafka_bus


def test_the_transport_url_chooses_the_bus():
    kafka = bus.open(types.SimpleNamespace(transport_url='kafka://k:9092'))
    assert isinstance(kafka, kafka_bus.KafkaBus) and kafka.divides_partitions
    for url in ('rabbit://guest:guest@localhost:5672/', None):
        oslo = bus.open(types.SimpleNamespace(transport_url=url))
        assert isinstance(oslo, bus.OsloBus) and not oslo.divides_partitions
