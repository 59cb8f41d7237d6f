"""``/v1/influxdb``: Gnocchi's InfluxDB write endpoint, so that Telegraf and InfluxDB clients
write measures: ``ping``, ``query`` (``CREATE DATABASE`` alone) and ``write``."""

import re
import time

import pecan

from telewatch.api import line_protocol
from telewatch.api import rest
from telewatch.api.controllers import ingest

# The tag naming a point's resource, unless the X-Gnocchi-InfluxDB-Tag-Resource-ID header
# names another (Gnocchi's).
DEFAULT_RESOURCE_TAG = 'host'
RESOURCE_TAG_HEADER = 'X-Gnocchi-InfluxDB-Tag-Resource-ID'
_CREATE_DATABASE = re.compile(
    r'\s*create\s+database\s+("(?P<quoted>(?:[^"\\]|\\.)+)"|(?P<name>[A-Za-z_]\w*))\s*;?\s*\Z',
    re.IGNORECASE)


def _not_implemented():
    rest.abort(501, {'cause': 'Not implemented error', 'detail': 'q',
                     'reason': 'Query not implemented'})


def _value_error(detail, reason):
    rest.abort(400, {'cause': 'Value error', 'detail': detail, 'reason': reason})


def _single(name, value):
    """A query parameter given once (Pecan passes a repeated one as a list): 400 otherwise."""
    if isinstance(value, list):
        _value_error(name, '%s given more than once' % name)
    return value


def points_by_resource(points, resource_tag, now_ns):
    """An ingest.Batch of line-protocol points: each field of a point is a metric
    (line_protocol.metric_name) of the resource its ``resource_tag`` names."""
    batch = ingest.Batch()
    for number, point in enumerate(points, 1):
        tags = dict(point.tags)
        resource = tags.pop(resource_tag, None)
        if resource is None:
            _value_error('key', "Unable to find key `%s' in tags" % resource_tag)
        timestamp = now_ns if point.timestamp is None else point.timestamp
        for field, value in point.fields.items():
            batch.add(resource, line_protocol.metric_name(point, field, tags), timestamp,
                      value)
    return batch


class PingController:
    @pecan.expose(generic=True)
    def index(self):
        rest.abort(405, 'Method not allowed', headers={'Allow': 'GET, HEAD'})

    @index.when(method='HEAD')
    @index.when(method='GET')
    def index_get(self):
        pecan.response.headers['X-Influxdb-Version'] = 'telewatch'
        pecan.response.status = 204


class QueryController:
    @pecan.expose(generic=True)
    def index(self):
        rest.abort(405, 'Method not allowed', headers={'Allow': 'POST'})

    @index.when(method='POST', template='json')
    def index_post(self, q=None):
        """``CREATE DATABASE <name>`` makes the resource type ``<name>`` (a write's
        ``db``); nothing else is served (501)."""
        if q is None:
            return None
        found = _CREATE_DATABASE.match(_single('q', q))
        if found is None:
            _not_implemented()
        name = found.group('name') or re.sub(r'\\(.)', r'\1', found.group('quoted'))
        ingest.ensure_resource_type(name, {})
        pecan.response.status = 204


class WriteController:
    @pecan.expose(generic=True)
    def index(self):
        rest.abort(405, 'Method not allowed', headers={'Allow': 'POST'})

    @index.when(method='POST', template='json')
    def index_post(self, db='influxdb', precision='ns', **_ignored):
        """Line protocol in the body; each point's measures go to the resource of type
        ``db`` named by its ``host`` tag (or the header's): 204."""
        db, precision = _single('db', db), _single('precision', precision)
        if precision not in line_protocol.PRECISIONS:
            _value_error('precision', 'Unknown precision %s' % precision)
        try:
            text = pecan.request.body.decode('utf-8')
        except UnicodeDecodeError:
            _value_error('body', 'The body is not UTF-8 text')
        try:
            points = line_protocol.parse(text, precision)
        except line_protocol.LineError as exc:
            _value_error('line', str(exc))
        tag = pecan.request.headers.get(RESOURCE_TAG_HEADER, DEFAULT_RESOURCE_TAG)
        ingest.write(db, points_by_resource(points, tag, time.time_ns()))
        pecan.response.status = 204


class InfluxDBController:
    ping = PingController()
    query = QueryController()
    write = WriteController()
