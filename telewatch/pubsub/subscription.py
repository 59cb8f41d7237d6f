"""A subscription: which samples (meters, resources, projects, at most one per resource and
meter per interval) go to which target. Pure: no I/O.

- ``meters``: a meter list as in pipeline.yaml (``*`` wildcards, ``!`` exclusions).
- ``resources``: resource ids, or None for every resource.
- ``projects``: the projects whose samples it may receive, or None for every project. The
  API sets it: a member's subscription is always confined to the member's own project; only
  an admin may name other projects or leave it unset.
- ``interval``: seconds, or None to deliver every sample.
- ``target``: ``kafka://host:port[,host:port]?topic=T`` or ``udp://host:port``, each with the
  publishers' failure options ``policy`` (queue by default here, retry, drop) and
  ``max_queue_length``.
"""

import fnmatch
import re
import string
import urllib.parse

from telewatch import allow_list
from telewatch import delivery
from telewatch import meter_filter
from telewatch.kafka import cluster as kafka_cluster

# What meter names are made of (every meter telewatch and Ceilometer ship): a pattern that
# needs any other character can never match.
METER_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + '._-:/')
_WILDCARD_CHARACTERS = frozenset('*?[]!')
POLICIES = ('queue', 'retry', 'drop')
DEFAULT_POLICY = delivery.TARGET_POLICY
DEFAULT_MAX_QUEUE_LENGTH = delivery.MAX_QUEUE_LENGTH
MAX_QUEUE_LENGTH = 1000000


class InvalidSubscription(ValueError):
    """``field`` of a subscription is wrong, for ``reason``."""

    def __init__(self, field, reason):
        super().__init__('%s: %s' % (field, reason))
        self.field = field
        self.reason = reason


class Target:
    """A parsed target URL: ``scheme``, ``servers`` [(host, port)], ``topic`` (Kafka),
    ``policy`` and ``max_queue_length``, and ``text`` as given."""

    def __init__(self, text):
        if not isinstance(text, str) or '://' not in text:
            raise InvalidSubscription(
                'target', 'expected kafka://host:port?topic=T or udp://host:port')
        self.text = text
        parts = urllib.parse.urlsplit(text)
        self.scheme = parts.scheme
        if self.scheme not in ('kafka', 'udp'):
            raise InvalidSubscription('target', 'scheme %r is not kafka or udp' % self.scheme)
        if parts.path not in ('', '/') or parts.fragment or '@' in parts.netloc:
            raise InvalidSubscription('target', 'a target is scheme://host:port?options, '
                                                'with no path, fragment or credentials')
        self.servers = _servers(parts.netloc, single=self.scheme == 'udp')
        options = _options(parts.query)
        self.topic = options.pop('topic', None)
        if self.scheme == 'kafka':
            if self.topic is None:
                raise InvalidSubscription('target', 'a kafka target needs ?topic=NAME')
            if not kafka_cluster.is_topic_name(self.topic):
                raise InvalidSubscription(
                    'target', 'topic %r is not a Kafka topic name (letters, digits, . _ -; '
                              'at most 249)' % self.topic)
        elif self.topic is not None:
            raise InvalidSubscription('target', 'a udp target has no topic')
        self.policy = options.pop('policy', DEFAULT_POLICY)
        if self.policy not in POLICIES:
            raise InvalidSubscription('target', 'policy %r is not one of %s'
                                      % (self.policy, ', '.join(POLICIES)))
        self.max_queue_length = _queue_length(
            options.pop('max_queue_length', str(DEFAULT_MAX_QUEUE_LENGTH)))
        if options:
            raise InvalidSubscription('target', 'unknown option(s) %s (known: topic, policy, '
                                                'max_queue_length)' % ', '.join(sorted(options)))

    @property
    def destination(self):
        """Where the values go, without the delivery options: targets with the same
        destination share one connection."""
        servers = ','.join('%s:%d' % server for server in self.servers)
        if self.scheme == 'kafka':
            return 'kafka://%s?topic=%s' % (servers, self.topic)
        return 'udp://%s' % servers

    def __repr__(self):
        return '<Target %s policy=%s>' % (self.destination, self.policy)


def _servers(netloc, single):
    if not netloc:
        raise InvalidSubscription('target', 'no host:port')
    servers = []
    for item in netloc.split(','):
        try:
            parts = urllib.parse.urlsplit('//' + item)
            host, port = parts.hostname, parts.port
        except ValueError as exc:
            raise InvalidSubscription('target', '%r: %s' % (item, exc)) from None
        if not host:
            raise InvalidSubscription('target', '%r has no host' % item)
        if port is None or port == 0:
            raise InvalidSubscription('target', '%r has no port (write host:port)' % item)
        servers.append((host, port))
    if single and len(servers) > 1:
        raise InvalidSubscription('target', 'a udp target is one host:port')
    return servers


def _options(query):
    options = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if key in options:
            raise InvalidSubscription('target', 'option %r is given twice' % key)
        options[key] = value
    return options


def _queue_length(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_QUEUE_LENGTH:
        raise InvalidSubscription('target', 'max_queue_length %r is not a whole number from '
                                            '1 to %d' % (text, MAX_QUEUE_LENGTH))
    return value


class AllowList(allow_list.AllowList):
    """The destinations an operator allows (``[pubsub] allowed_targets``): the patterns of
    ``telewatch.allow_list.AllowList``."""

    def check(self, target):
        """Raise InvalidSubscription unless every server of ``target`` is allowed."""
        for host, port in target.servers:
            if not self.allows(host, port):
                raise InvalidSubscription(
                    'target', '%s:%d is not an allowed destination (allowed: %s)'
                    % (host, port, self.describe()))


def check_meters(patterns):
    """The problems of a subscription's meter list: those of a pipeline.yaml list, and
    patterns that cannot match any meter name at all."""
    problems = meter_filter.check(patterns)
    if problems:
        return problems
    for pattern in patterns:
        name = pattern[1:] if pattern.startswith('!') else pattern
        odd = sorted(set(_literal_characters(name)) - METER_NAME_CHARACTERS)
        if odd:
            problems.append('%r cannot match any meter: meter names are made of letters, '
                            'digits and . _ - : / (not %s)'
                            % (pattern, ' '.join(repr(c) for c in odd)))
        elif pattern == '!*':
            problems.append("'!*' excludes every meter: nothing would be delivered")
    return problems


def _literal_characters(pattern):
    """The characters of ``pattern`` a name must contain (not wildcards or classes)."""
    return re.sub(r'\[[^\]]*\]', '', pattern).translate(
        {ord(c): None for c in _WILDCARD_CHARACTERS})


def unmatched_patterns(patterns, known_meters):
    """The included patterns that match none of ``known_meters`` (yet)."""
    return [pattern for pattern in patterns if not pattern.startswith('!')
            and not any(fnmatch.fnmatchcase(name, pattern) for name in known_meters)]


class Subscription:
    """One subscription as the pubsub daemon uses it (from a registry row)."""

    __slots__ = ('id', 'name', 'project_id', 'meters', 'resources', 'projects', 'interval',
                 'target', 'revision', 'accepts_meter')

    def __init__(self, id, name, project_id, meters, target, resources=None, projects=None,
                 interval=None, revision=0):
        self.id = id
        self.name = name
        self.project_id = project_id
        self.meters = tuple(meters)
        self.resources = frozenset(resources) if resources is not None else None
        self.projects = frozenset(projects) if projects is not None else None
        self.interval = interval or None
        self.target = target if isinstance(target, Target) else Target(target)
        self.revision = revision
        self.accepts_meter = meter_filter.MeterFilter(self.meters)

    def accepts_project(self, project_id):
        return self.projects is None or project_id in self.projects

    def __repr__(self):
        return '<Subscription %s %s>' % (self.id, self.name)
