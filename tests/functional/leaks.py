"""What the functional tests leave behind: Kafka topics, RabbitMQ queues and exchanges, Redis
keys and telewatch files in the temporary directory, found by listing them around each test.

The services are shared and live on between sessions, so whatever a test forgets piles up run
after run. ``LeakCheck`` lists, before and after each test, what the services that test uses
hold (a service a test does not use is not listed; one that does not answer is not checked);
a name that appears during a test is that test's. At the end of the session each such name is
looked up again, and those still there fail the session, with the test that made them. The
check waits for the end because some deletions finish later (Kafka deletes a topic in the
background). Another session using the same services at the same time (a second developer,
another checkout) makes names of its own meanwhile: a name holding 32 hex digits
(``services.unique``) that do not start with this session's ``services.SESSION`` is
another's, and not counted. TELEWATCH_SKIP_LEAK_CHECK=1 lists nothing.
"""

import fnmatch
import os
import re
import subprocess
import tempfile

import kafka
import kafka.errors
import redis

from telewatch.notification import agent
from tests.functional import services

# Names that the services own, or that are the same in every run (so they do not pile up) and
# shared by the sessions running at once (so that no test may delete them): the exchanges
# that telewatch's agents declare, their own (control_exchange) and the other services'.
_CONTROL_EXCHANGES = next(option.default for option in agent.OPTS
                          if option.name == 'notification_control_exchanges')
IGNORED = {
    'kafka topic': ['__*'],  # __consumer_offsets, __transaction_state
    'rabbitmq exchange': ['', 'amq.*', 'telewatch'] + _CONTROL_EXCHANGES,
}
# tools/services/rabbitmq's node, which rabbitmqctl reaches as it does.
RABBITMQCTL_ENV = {
    'RABBITMQ_NODENAME': 'telewatch@localhost',
    'RABBITMQ_CTL_ERL_ARGS': '-kernel inet_dist_use_interface {127,0,0,1}',
    'ERL_EPMD_ADDRESS': '127.0.0.1',
}
TMP_PREFIX = 'telewatch'


def kafka_topics():
    """The broker's topics; None when it does not answer."""
    try:
        admin = kafka.KafkaAdminClient(bootstrap_servers=services.KAFKA_BOOTSTRAP,
                                       request_timeout_ms=10000)
    except kafka.errors.KafkaError:
        return None
    try:
        return {('kafka topic', name) for name in admin.list_topics()}
    except kafka.errors.KafkaError:
        return None
    finally:
        admin.close()


def _rabbitmqctl(*args):
    env = dict(os.environ, PATH=os.environ.get('PATH', '') + ':/usr/sbin:/sbin',
               **RABBITMQCTL_ENV)
    try:
        result = subprocess.run(['rabbitmqctl', '-q', *args], env=env, capture_output=True,
                                text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    # -q leaves one header line ("name") before the rows.
    return result.stdout.splitlines()[1:]


def rabbitmq_queues_and_exchanges():
    """The queues and exchanges of vhost /; None when the node does not answer."""
    queues = _rabbitmqctl('list_queues', 'name')
    exchanges = _rabbitmqctl('list_exchanges', 'name')
    if queues is None or exchanges is None:
        return None
    return ({('rabbitmq queue', name) for name in queues}
            | {('rabbitmq exchange', name) for name in exchanges})


def redis_keys():
    """Redis's keys that stay (a key with a time to live goes by itself); None when it does
    not answer."""
    client = redis.Redis.from_url(services.REDIS_URL, socket_timeout=10)
    try:
        keys = list(client.scan_iter(count=1000))
        if not keys:
            return set()
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.ttl(key)
        ttls = pipe.execute()
    except redis.RedisError:
        return None
    finally:
        client.close()
    return {('redis key', key.decode('utf-8', 'replace'))
            for key, ttl in zip(keys, ttls) if ttl == -1}


def temporary_files():
    """Files and directories named telewatch* in the system's temporary directory."""
    directory = tempfile.gettempdir()
    return {('temporary file', os.path.join(directory, name))
            for name in os.listdir(directory) if name.startswith(TMP_PREFIX)}


# What a test uses (a fixture it asks for, directly or not) -> what to list around it.
LISTINGS = {
    'kafka_bootstrap': kafka_topics,
    'rabbitmq_url': rabbitmq_queues_and_exchanges,
    'redis_url': redis_keys,
}


_UNIQUE = re.compile('[0-9a-f]{32}')


def _ignored(item):
    kind, name = item
    unique = _UNIQUE.search(name)
    if unique and not unique.group().startswith(services.SESSION):
        return True  # another session's
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in IGNORED.get(kind, ()))


class LeakCheck:
    """The names that appeared during each test, and those of them still there at the end."""

    def __init__(self):
        self._last = {}        # listing -> what it found last time (None: not answering)
        self.made_by = {}      # (kind, name) -> the test during which it appeared
        self.report = {}       # leaked(), once the session ends

    def listings(self, fixturenames):
        return [temporary_files] + [listing for fixture, listing in LISTINGS.items()
                                    if fixture in fixturenames]

    def before(self, listings):
        for listing in listings:
            if listing not in self._last:
                self._last[listing] = listing()

    def after(self, listings, test):
        for listing in listings:
            before, now = self._last.get(listing), listing()
            self._last[listing] = now
            if before is None or now is None:
                continue
            for item in now - before:
                if not _ignored(item):
                    self.made_by.setdefault(item, test)

    def leaked(self):
        """{test: sorted (kind, name)} of what the tests made and is still there."""
        listings = {listing for listing in self._last}
        present = set()
        for listing in listings:
            present |= listing() or set()
        leaked = {}
        for item, test in self.made_by.items():
            if item in present:
                leaked.setdefault(test, []).append(item)
        return {test: sorted(items) for test, items in leaked.items()}
