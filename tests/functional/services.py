"""Fixtures for the real services the functional tests talk to: RabbitMQ, Redis, PostgreSQL,
one Apache Kafka broker, (for the gnocchi publisher) a real Gnocchi and (for the API's
authentication) a real Keystone, all on 127.0.0.1.

Each session-scoped fixture runs ``tools/services/<name> start`` (idempotent: it installs the
service the first time, starts it if it is not running, and waits until it answers) and
returns how to reach it. A service that cannot be started fails the tests that need it, with
the script's output: it is never skipped. The services are shared (between test sessions and
with the benchmarks) and stay up at the end of the session; ``tools/services/stop-all`` stops
them.

What a test makes on a service it removes at its end (``kafka_topics`` for Kafka topics;
tests.functional.leaks fails the session when something stays).

``restart_service(name)`` restarts one of them (``tools/services/<name> restart``) for tests
of what happens when a broker goes away mid-stream, and returns how long that took.
"""

import contextlib
import pathlib
import subprocess
import time
import uuid

import kafka
import kafka.errors
import psycopg2
import pytest

from tests.functional import keystone_helpers

REPO = pathlib.Path(__file__).resolve().parents[2]
TOOLS = REPO / 'tools' / 'services'
# Cold starts install packages (RabbitMQ ~15 s, Gnocchi or Keystone from PyPI ~40 s) or
# fetch the Kafka broker with Maven (~30 s); the scripts bound their own waits: this only
# guards against a hung apt, pip or Maven.
START_TIMEOUT = 900

RABBITMQ_URL = 'rabbit://guest:guest@127.0.0.1:5672/'
REDIS_URL = 'redis://127.0.0.1:6379'
POSTGRESQL_URL = 'postgresql://telewatch@127.0.0.1:5433/telewatch'
KAFKA_BOOTSTRAP = '127.0.0.1:9092'
GNOCCHI_ENDPOINT = 'http://127.0.0.1:8051'


# The first hex digits of every name unique() makes in this session: the leak check tells the
# names of this session from those of another one running at the same time by them.
SESSION = uuid.uuid4().hex[:8]


def unique(prefix):
    """A name of this session that no other test uses: PREFIX-<32 hex digits>."""
    return '%s-%s%s' % (prefix, SESSION, uuid.uuid4().hex[:24])


def _run(name, action):
    """Run ``tools/services/<name> <action>``; return (ok, output)."""
    try:
        result = subprocess.run([str(TOOLS / name), action], cwd=str(REPO),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return False, 'timed out after %ss\n%s%s' % (
            START_TIMEOUT, _text(exc.stdout), _text(exc.stderr))
    return result.returncode == 0, result.stdout + result.stderr


def _text(output):
    if isinstance(output, bytes):
        return output.decode('utf-8', 'replace')
    return output or ''


def _start(name):
    ok, output = _run(name, 'start')
    if not ok:
        pytest.fail('tools/services/%s start failed:\n%s' % (name, output), pytrace=False)


def restart_service(name):
    """Restart the service ``name`` (e.g. 'rabbitmq', 'kafka'); return the seconds it took.

    Fails the calling test (with the script's output) if the service does not come back.
    """
    started = time.monotonic()
    ok, output = _run(name, 'restart')
    elapsed = time.monotonic() - started
    if not ok:
        pytest.fail('tools/services/%s restart failed after %.1f s:\n%s'
                    % (name, elapsed, output), pytrace=False)
    return elapsed


@pytest.fixture(scope='session')
def rabbitmq_url():
    """oslo.messaging transport URL of a running RabbitMQ (guest/guest, vhost /)."""
    _start('rabbitmq')
    return RABBITMQ_URL


@pytest.fixture(scope='session')
def redis_url():
    """URL of a running Redis (in memory only), as tooz and redis-py take it."""
    _start('redis')
    return REDIS_URL


@pytest.fixture(scope='session')
def postgresql_url():
    """libpq URL of the database `telewatch`, owned by the role `telewatch` (no password)."""
    _start('postgresql')
    return POSTGRESQL_URL


@pytest.fixture(scope='session')
def kafka_bootstrap():
    """bootstrap_servers of a running Kafka broker (KRaft, topics auto-created, 4 partitions)."""
    _start('kafka')
    return KAFKA_BOOTSTRAP


@pytest.fixture(scope='session')
def gnocchi_endpoint():
    """Root URL of a running Gnocchi 4.7 (``[api] auth_mode = basic``: gnocchi-basic auth,
    user admin; indexer in the project's PostgreSQL, file storage, metricd running)."""
    _start('gnocchi')
    return GNOCCHI_ENDPOINT


@pytest.fixture(scope='session')
def keystone():
    """A running Keystone (identity v3 at http://127.0.0.1:5000/v3; SQLite, fernet tokens)
    with the users admin, telewatch (service), alice (project-a) and bob (project-b): a
    tests.functional.keystone_helpers.Keystone (credentials, tokens, authtoken options)."""
    _start('keystone')
    return keystone_helpers.Keystone()


class KafkaTopics:
    """The Kafka topics of one test: ``new(prefix)`` names a new one, ``add(*names)`` counts
    those the code under test makes of its own; ``delete()`` deletes every one that exists."""

    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.names = set()

    def new(self, prefix):
        name = unique(prefix)
        self.names.add(name)
        return name

    def add(self, *names):
        self.names.update(names)

    def delete(self):
        """Delete them (quietly: a clean-up must not hide the test's own result; what stays
        is reported by the leak check)."""
        try:
            delete_kafka_topics(self.bootstrap, self.names)
        except kafka.errors.KafkaError as exc:
            print('cannot delete the Kafka topics of the test: %r' % exc)


def delete_kafka_topics(bootstrap, names, timeout=15):
    """Delete those of these topics that exist, and wait until the broker lists none of them
    (a topic whose creation was not visible yet, or that a closing client's last metadata
    request made again, is deleted once it shows)."""
    names = set(names)
    admin = kafka.KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    deadline = time.monotonic() + timeout
    settled = False
    try:
        while time.monotonic() < deadline:
            existing = sorted(names & set(admin.list_topics()))
            if not existing:
                if settled:
                    return
                settled = True  # look once more in a moment: a late metadata request
                time.sleep(0.5)  # of a closed client makes an auto-created topic again
                continue
            settled = False
            try:
                admin.delete_topics(existing, timeout_ms=30000)
            except kafka.errors.UnknownTopicOrPartitionError:
                pass  # being deleted already
            time.sleep(0.2)
    finally:
        admin.close()


@pytest.fixture
def kafka_topics(kafka_bootstrap):
    """The test's KafkaTopics, deleted at its end."""
    topics = KafkaTopics(kafka_bootstrap)
    yield topics
    topics.delete()


@contextlib.contextmanager
def scratch_database(postgresql_url, prefix):
    """The URL of a new, empty database of the project's PostgreSQL, dropped at the end
    (over a connection of its own: the server may have restarted in between)."""
    name = '%s_%s' % (prefix, uuid.uuid4().hex[:12])
    with _admin_connection(postgresql_url) as admin:
        admin.cursor().execute('CREATE DATABASE %s' % name)
    try:
        yield postgresql_url.rsplit('/', 1)[0] + '/' + name
    finally:
        with _admin_connection(postgresql_url) as admin:
            _drop_database(admin, name)


@contextlib.contextmanager
def _admin_connection(postgresql_url):
    admin = psycopg2.connect(postgresql_url, connect_timeout=10)
    admin.autocommit = True
    try:
        yield admin
    finally:
        admin.close()


def _drop_database(admin, name, timeout=30):
    # FORCE ends our own leftover connections; an autovacuum worker (the superuser's) it
    # may not end, so wait for that one to finish.
    deadline = time.monotonic() + timeout
    while True:
        try:
            admin.cursor().execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
            return
        except (psycopg2.errors.InsufficientPrivilege, psycopg2.errors.ObjectInUse):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def postgresql_indexer(postgresql_url):
    """An archive Indexer on a scratch PostgreSQL database, with the default policies."""
    from telewatch.archive import policy as policy_mod
    from telewatch.archive.index import indexer as indexer_mod
    with scratch_database(postgresql_url, 'tw_index') as url:
        indexer = indexer_mod.Indexer(url)
        try:
            indexer.upgrade()
            for policy in policy_mod.builtin_policies().values():
                indexer.create_archive_policy(policy)
            yield indexer
        finally:
            indexer.close()
