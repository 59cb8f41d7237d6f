"""``/v1/prometheus/write``: a snappy-compressed remote-write request becomes measures of the
resource ``<job>@<instance>`` (type ``prometheus``, made at the first write), through the
in-process API (noauth, gnocchi-basic admin)."""

import cramjam

from telewatch.api.controllers import prometheus

ADMIN = {'Authorization': 'basic YWRtaW46'}
HEADERS = dict(ADMIN, **{'Content-Type': 'application/x-protobuf',
                         'Content-Encoding': 'snappy'})


def _body(*series):
    request = prometheus.WriteRequest()
    for labels, samples in series:
        added = request.timeseries.add()
        for name, value in labels.items():
            added.labels.add(name=name, value=value)
        for timestamp_ms, value in samples:
            added.samples.add(timestamp=timestamp_ms, value=value)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def test_samples_become_measures_of_the_job_and_instance(api):
    job = {'job': 'node', 'instance': 'host-1:9100'}
    body = _body((dict(job, __name__='load1'), [(1506146578000, 0.5), (1506146579000, 0.75)]),
                 # one name, other labels: the last series is kept (Gnocchi's rule)
                 (dict(job, __name__='up', quantile='0.5'), [(1506146578000, 3.0)]),
                 (dict(job, __name__='up', quantile='0.9'), [(1506146578000, 1.0),
                                                             (1506146579000, float('nan'))]))
    api.post('/v1/prometheus/write', body, headers=HEADERS, status=202)
    resource = api.get('/v1/resource/prometheus/node@host-1:9100', headers=ADMIN).json
    assert (resource['job'], resource['instance']) == ('node', 'host-1:9100')
    assert set(resource['metrics']) == {'load1', 'up'}
    rows = api.get('/v1/metric/%s/measures?refresh=true&granularity=300'
                   % resource['metrics']['up'], headers=ADMIN).json
    assert [row[2] for row in rows] == [1.0]  # the NaN is no measure


def test_a_body_that_is_no_write_request_is_a_400(api):
    response = api.post('/v1/prometheus/write', b'not snappy', headers=HEADERS, status=400)
    assert 'Prometheus WriteRequest' in response.json['description']['reason']
