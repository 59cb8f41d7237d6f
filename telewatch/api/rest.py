"""What every controller uses: the request's context, store and policy; JSON bodies checked
with voluptuous; Gnocchi's error bodies, query booleans, timestamps and output formats."""

import datetime
import math
import re
import urllib.parse

import numpy
import pecan
import pytimeparse
import voluptuous as vol
import webob.exc

from telewatch.api import auth
from telewatch.api import framework
from telewatch.api import policy
from telewatch.archive import calendar

# What numpy's datetime64[ns] holds: up to 2262-04-11.
_MAX_NS = 2 ** 63 - 1
_UNIX_EPOCH = datetime.datetime(1970, 1, 1)
# The ISO 8601 UTC times numpy's parser reads exactly as datetime.fromisoformat does.
_UTC_ISO8601 = re.compile(r'(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{1,6})?)(?:Z|\+00:00)?',
                          re.ASCII)
_NS_BEYOND = 2.0 ** 63  # the first float beyond datetime64[ns]


def abort(status, description, headers=None):
    """Raise Gnocchi's error: ``{"code", "title", "description"}`` (a string or a dict)."""
    error = webob.exc.status_map[status](headers=headers)
    error.content_type = 'application/json'
    error.text = framework.error_json(
        {'code': status, 'title': error.title, 'description': description})
    # Pecan renders an HTTP error itself for a client that accepts JSON, from ``detail``.
    error.detail = description
    raise error


def gnocchi_error(error):
    """A webob HTTP error (``abort``'s, or Pecan's own: a path no controller serves is a
    404, a method it does not take a 405) with Gnocchi's JSON body, its headers kept."""
    description = error.detail or error.explanation
    error.content_type = 'application/json'
    error.charset = 'utf-8'
    error.text = framework.error_json(
        {'code': error.code, 'title': error.title, 'description': description})
    return error


class NotFoundController:
    """What a ``_lookup`` returns for an id that does not exist: Gnocchi's 404 on any
    method (an abort inside ``_lookup`` would become Pecan's own 404, which says less)."""

    def __init__(self, description):
        self.description = description

    @pecan.expose('json')
    def index(self, *remainder, **params):
        abort(404, self.description)

    @pecan.expose('json')
    def _default(self, *remainder, **params):
        abort(404, self.description)


def invalid_input(reason, path=()):
    abort(400, {'cause': 'Invalid input', 'reason': reason, 'detail': list(path)})


def context():
    return auth.context_of(pecan.request.environ)


def store():
    return pecan.request.environ['telewatch.store']


def allowed(rule, target=None):
    """Whether the policy allows ``rule`` on ``target`` for this request; asked once per
    request for a rule and target (an aggregate of 10 metrics of one owner checks one)."""
    environ = pecan.request.environ
    target = target or {}
    try:
        key = (rule, frozenset(target.items()))
    except TypeError:  # a nested target: asked each time
        return _decide(environ, rule, target)
    decisions = environ.setdefault('telewatch.policy_decisions', {})
    if key not in decisions:
        decisions[key] = _decide(environ, rule, target)
    return decisions[key]


def _decide(environ, rule, target):
    try:
        policy.enforce(environ['telewatch.enforcer'], context(), rule, target)
    except policy.PolicyNotAuthorized:
        return False
    return True


def enforce(rule, target=None):
    """403 (Gnocchi's body) unless the policy allows ``rule`` on ``target``."""
    if not allowed(rule, target):
        abort(403, 'Access was denied to this resource.')


# Reasons Gnocchi gives without voluptuous' path (its own checks); modules add theirs.
BARE_REASONS = set()


def json_body(schema=None):
    """The request's JSON body, checked against a voluptuous ``schema`` when given."""
    if not pecan.request.body:  # Gnocchi's answer to a missing body
        abort(400, {'cause': 'Unable to decode body', 'reason': 'Expected object or value',
                    'detail': []})
    try:
        body = pecan.request.decoded_json()  # framework.Request: decoded once
    except framework.UnstorableText as exc:
        invalid_input(exc.reason, [str(p) for p in exc.path])
    except ValueError as exc:
        abort(400, 'Unable to decode body: %s' % exc)
    if schema is None:
        return body
    try:
        return vol.Schema(schema)(body)
    except vol.Invalid as exc:
        # voluptuous' own text (``... @ data['unit']``), as Gnocchi's reasons are, but for
        # the checks Gnocchi makes outside voluptuous (BARE_REASONS)
        first = exc.errors[0] if isinstance(exc, vol.MultipleInvalid) else exc
        reason = first.msg if first.msg in BARE_REASONS else str(first)
        invalid_input(reason, [str(p) for p in first.path])


def query_bool(name, default=False):
    """A query parameter sent as Python's str() of a bool (``True``/``False``), any case."""
    value = pecan.request.GET.get(name)
    if value is None:
        return default
    try:
        return vol.Boolean()(value)
    except vol.Invalid:
        invalid_input('Unable to parse `%s`: %s is not a boolean' % (name, value), [name])


def page_parameters():
    """``sort`` (repeatable), ``limit`` (at most ``[api] max_limit``, its default) and
    ``marker`` of a list request."""
    params = pecan.request.GET
    max_limit = pecan.request.environ['telewatch.conf'].api.max_limit
    limit = params.get('limit')
    if limit is not None:
        try:
            limit = int(limit)
        except ValueError:
            limit = 0
        if limit <= 0:
            invalid_input('limit must be a positive integer', ['limit'])
    return {'sort': params.getall('sort'), 'limit': min(limit or max_limit, max_limit),
            'marker': params.get('marker')}


# The orders a list follows when it names none (Gnocchi's, which the index follows too);
# the Link of a next page names them.
RESOURCE_DEFAULT_SORT = ('revision_start:asc', 'started_at:asc')
METRIC_DEFAULT_SORT = ('id:asc',)


def link_next(page, limit, marker_of, default_sort=()):
    """Gnocchi's ``Link: <url>; rel="next"`` when a page is full (the client follows it):
    the query's arguments sorted by name, with the page's ``limit``, ``sort`` (the default
    one when none was given) and the next ``marker``."""
    if len(page) < limit:
        return
    params = pecan.request.GET
    options = {k: params.getall(k) for k in params}
    options.update(limit=limit, sort=params.getall('sort') or list(default_sort),
                   marker=marker_of(page[-1]))
    pecan.response.headers['Link'] = '<%s?%s>; rel="next"' % (
        pecan.request.path_url, urllib.parse.urlencode(sorted(options.items()), doseq=True))


def created(location, body):
    pecan.response.status = 201
    pecan.response.location = location
    return body


def url(*parts):
    """The absolute URL of an API path (``url('v1', 'metric', id)``)."""
    return '%s/%s' % (pecan.request.application_url,
                      '/'.join(urllib.parse.quote(str(p), safe='') for p in parts))


def parse_timestamp(value, name='timestamp'):
    """``datetime64[ns]`` of an epoch number, an ISO 8601 time (naive = UTC), ``now`` or a
    duration relative to now (``-5 minutes``), as Gnocchi accepts them; 400 otherwise."""
    nanoseconds = _nanoseconds(value)
    if nanoseconds is None:
        invalid_input('Unable to parse `%s`: %r is not a timestamp' % (name, value), [name])
    if nanoseconds < 0:
        invalid_input('Timestamp must be after Epoch', [name])
    if nanoseconds > _MAX_NS:
        invalid_input('Timestamp must be before 2262-04-11', [name])
    return numpy.datetime64(nanoseconds, 'ns')


def parse_timestamps(values):
    """``datetime64[ns]`` of many timestamps at once, when all are valid epoch numbers or
    all valid ISO 8601 UTC times (``2024-01-01T10:00:00[.ffffff][Z|+00:00]``, as clients
    send them); the same as ``parse_timestamp`` of each, 10 to 20 times faster. None
    otherwise: then ``parse_timestamp`` each, which names the first bad one."""
    if all(type(v) is int or type(v) is float for v in values):
        try:
            seconds = numpy.array(values, dtype=numpy.float64)
        except OverflowError:  # an integer beyond any float
            return None
        with numpy.errstate(over='ignore', invalid='ignore'):  # refused just below
            nanoseconds = numpy.rint(seconds * 1e9)
        if not ((nanoseconds >= 0) & (nanoseconds < _NS_BEYOND)).all():  # NaN fails too
            return None
        return nanoseconds.astype(numpy.int64).view('datetime64[ns]')
    if all(type(v) is str for v in values):
        matches = [_UTC_ISO8601.fullmatch(v) for v in values]
        if not all(matches):
            return None
        try:
            moments = numpy.array([m[1] for m in matches], dtype='datetime64[us]')
        except ValueError:  # a month, day or hour out of range
            return None
        microseconds = moments.view(numpy.int64)
        if not ((microseconds >= 0) & (microseconds <= _MAX_NS // 1000)).all():
            return None
        return moments.astype('datetime64[ns]')
    return None


def _seconds_to_ns(seconds):
    nanoseconds = seconds * 1e9
    return round(nanoseconds) if math.isfinite(nanoseconds) else None


def _nanoseconds(value):
    """Nanoseconds since the epoch (a Python int: any range) of a timestamp, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _seconds_to_ns(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    moment = _iso8601(text)  # the usual case first: each measure of a big POST comes here
    if moment is not None:
        return moment
    try:
        return _seconds_to_ns(float(text))
    except ValueError:
        pass
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    if text.lower() == 'now':
        return _datetime_to_ns(now)
    seconds = pytimeparse.parse(text)
    if seconds is not None:
        offset = _seconds_to_ns(seconds)
        return None if offset is None else _datetime_to_ns(now) + offset
    return None


def _iso8601(text):
    if len(text) < 10 or not text[:4].isdigit():
        return None
    try:
        moment = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):  # not a time; a year 1 or 9999 beyond UTC
        return None
    return _datetime_to_ns(moment)


def _datetime_to_ns(moment):
    return (moment - _UNIX_EPOCH) // datetime.timedelta(microseconds=1) * 1000


def resample_period(value, name='resample'):
    """What to resample by: a calendar period (``Y``, ``H``, ``Q``, ``M``, ``W``) as it is,
    else the seconds of a duration (``duration``)."""
    if calendar.is_period(value):
        return value
    return duration(value, name, 'a positive duration nor a calendar period (%s)'
                    % ', '.join(calendar.PERIODS))


def duration(value, name, expected='a positive duration'):
    """Seconds of a granularity/timespan given as a number or a text like ``5 minutes``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            seconds = pytimeparse.parse(value)
    else:
        seconds = None
    # Not NaN, and within datetime64[ns] (the callers count nanoseconds).
    if seconds is None or not 0 < seconds * 1e9 <= _MAX_NS:
        invalid_input('Unable to parse `%s`: %r is not %s' % (name, value, expected), [name])
    return seconds


# The query arguments of a read (start, stop, granularity, needed_overlap, fill), checked
# as Gnocchi's validate_qs does, with its "Argument value error" bodies.
NAMED_FILLS = ('null', 'dropna', 'ffill', 'bfill', 'full_ffill', 'full_bfill')


def argument_error(name, reason):
    abort(400, {'cause': 'Argument value error', 'detail': name, 'reason': reason})


def query_timestamp(value, name):
    """``datetime64[ns]`` of a read's ``start`` or ``stop``."""
    nanoseconds = _nanoseconds(value)
    if nanoseconds is None or not 0 <= nanoseconds <= _MAX_NS:
        argument_error(name, 'Must be a datetime or a timestamp')
    return numpy.datetime64(nanoseconds, 'ns')


def query_granularity(value):
    """Seconds of a read's ``granularity``."""
    try:
        seconds = float(value)
    except ValueError:
        seconds = pytimeparse.parse(value)
    if seconds is None or math.isnan(seconds) or seconds * 1e9 > _MAX_NS:
        argument_error('granularity', 'Unable to parse timespan')
    if int(seconds * 1e9) <= 0:
        argument_error('granularity', 'Timespan must be positive')
    return seconds


def query_overlap(value):
    try:
        return float(value)
    except ValueError:
        argument_error('needed_overlap', 'Must be a number')


def query_fill(value):
    """A number, or one of the named fills."""
    if value in NAMED_FILLS:
        return value
    try:
        return float(value)
    except ValueError:
        argument_error('fill', "Must be a float, 'dropna', 'null', 'ffill', 'bfill', "
                               "'full_ffill' or 'full_bfill'")
