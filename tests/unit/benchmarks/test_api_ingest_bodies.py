"""The bodies benchmarks/api.py's ingest scenario writes hold what it counts: 5,000 measures
of 100 metrics over 20 resources, read back with telewatch's own parsers."""

from benchmarks import api
from benchmarks import api_scenarios as scenarios
from telewatch.api import line_protocol
from telewatch.api.controllers import influxdb
from telewatch.api.controllers import prometheus


def _counts(batch):
    measures = [len(stamps) for metrics in batch.measures.values()
                for stamps, _ in metrics.values()]
    return len(batch.measures), len(measures), sum(measures)


def test_influxdb_body():
    body = scenarios.influxdb_body('bench-x', api.INGEST_HOSTS, api.INGEST_STAMPS, 100)
    points = line_protocol.parse(body.decode())
    batch = influxdb.points_by_resource(points, 'host', now_ns=0)
    assert _counts(batch) == (20, 100, 5000)
    assert min(stamp for metrics in batch.measures.values() for stamps, _ in metrics.values()
               for stamp in stamps) == (scenarios.START + 100) * 10**9


def test_prometheus_body():
    body = scenarios.prometheus_body('bench-x', api.INGEST_HOSTS, api.INGEST_STAMPS, 0)
    batch = prometheus.series_by_resource(prometheus.decode(body))
    assert _counts(batch) == (20, 100, 5000)
    assert set(batch.measures) == {'bench-x@host-%d:9100' % i for i in range(20)}
