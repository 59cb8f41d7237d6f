"""``/v1/prometheus/write``: Gnocchi's Prometheus remote-write endpoint (a snappy-compressed
protobuf ``WriteRequest``): each series' samples go to the metric of its ``__name__`` on the
resource ``<job>@<instance>`` of type ``prometheus``."""

import math

import cramjam
import pecan
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import message
from google.protobuf import message_factory

from telewatch.api import rest
from telewatch.api.controllers import ingest

RESOURCE_TYPE = 'prometheus'
# Gnocchi's type for it, created at the first write (its 512 characters are beyond what
# its API lets a string attribute hold: 256 here).
RESOURCE_TYPE_ATTRIBUTES = {
    name: {'type': 'string', 'min_length': 1, 'max_length': 256, 'required': True}
    for name in ('instance', 'job')}
CONTENT_TYPE = 'application/x-protobuf'

# Prometheus' remote.proto (prompb), the messages a write uses; the fields a newer
# Prometheus adds (exemplars, histograms) are skipped as unknown fields.
_PROTO = {
    'Sample': [('value', 1, 'TYPE_DOUBLE', None), ('timestamp', 2, 'TYPE_INT64', None)],
    'Label': [('name', 1, 'TYPE_STRING', None), ('value', 2, 'TYPE_STRING', None)],
    'TimeSeries': [('labels', 1, 'TYPE_MESSAGE', 'Label'),
                   ('samples', 2, 'TYPE_MESSAGE', 'Sample')],
    'WriteRequest': [('timeseries', 1, 'TYPE_MESSAGE', 'TimeSeries')],
}


def _write_request_class():
    proto = descriptor_pb2.FileDescriptorProto(name='telewatch_prompb.proto',
                                               package='telewatch_prompb', syntax='proto3')
    field = descriptor_pb2.FieldDescriptorProto
    for name, fields in _PROTO.items():
        kind = proto.message_type.add(name=name)
        for field_name, number, field_type, type_name in fields:
            kind.field.add(
                name=field_name, number=number, type=getattr(field, field_type),
                label=field.LABEL_REPEATED if type_name else field.LABEL_OPTIONAL,
                type_name='.telewatch_prompb.%s' % type_name if type_name else None)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName('telewatch_prompb.WriteRequest'))


WriteRequest = _write_request_class()


def decode(body):
    """The WriteRequest of a body; ValueError when it is not one."""
    try:
        request = WriteRequest()
        request.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
    except (cramjam.DecompressionError, message.DecodeError) as exc:
        raise ValueError(str(exc) or type(exc).__name__) from None
    return request


def series_by_resource(request):
    """An ingest.Batch of a WriteRequest's samples (series without ``__name__`` left out).
    Series of one name and resource differing by other labels are one metric, the last
    one's samples kept: Gnocchi's rule. A sample that is not a finite number (NaN:
    Prometheus' staleness marker, a summary without observations) is no measure: the
    archive keeps numbers only."""
    batch = ingest.Batch()
    for series in request.timeseries:
        labels = {label.name: label.value for label in series.labels}
        name = labels.get('__name__')
        if not name or not series.samples:
            continue
        job, instance = labels.get('job', 'none'), labels.get('instance', 'none')
        resource = '%s@%s' % (job, instance)
        samples = [s for s in series.samples if math.isfinite(s.value)]
        batch.replace(resource, name, [s.timestamp * 10 ** 6 for s in samples],
                      [s.value for s in samples], {'job': job, 'instance': instance})
    return batch


class PrometheusWriteController:
    @pecan.expose(generic=True)
    def index(self):
        rest.abort(405, 'Method not allowed', headers={'Allow': 'POST'})

    @index.when(method='POST', template='json')
    def index_post(self):
        try:
            request = decode(pecan.request.body)
        except ValueError as exc:
            rest.abort(400, {'cause': 'Invalid input', 'reason': 'Not a snappy-compressed '
                             'Prometheus WriteRequest: %s' % exc, 'detail': []})
        batch = series_by_resource(request)
        if batch.measures:
            ingest.ensure_resource_type(RESOURCE_TYPE, RESOURCE_TYPE_ATTRIBUTES)
            ingest.write(RESOURCE_TYPE, batch)
        pecan.response.status = 202


class PrometheusController:
    write = PrometheusWriteController()
