"""Where SigV4 secrets come from: Keystone EC2 credentials (cached with a TTL) or, in the
all-in-one, an access keys file created on first start.
"""

import configparser
import dataclasses
import hashlib
import json
import logging
import os
import secrets
import string
import threading
import time

from keystoneauth1 import exceptions as ka_exceptions
from keystoneauth1 import loading as ka_loading

from telewatch.cloudwatch import errors
from telewatch.cloudwatch import options

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Credential:
    """An access key, its secret, and the user and project it acts for."""

    access: str
    secret: str
    project_id: str
    user_id: str


class KeystoneCredentials:
    """EC2 credentials read from Keystone's credentials API (``GET /v3/credentials/<id>``,
    whose id is the SHA-256 of the access key), kept ``ttl`` seconds.

    Reading the secret once and checking signatures here (rather than sending every
    request's signature to /v3/ec2tokens) is what lets a stream of requests make no Keystone
    round trip; the TTL bounds how long a deleted credential keeps working.
    """

    def __init__(self, session, ttl=60, unknown_ttl=5, clock=time.monotonic):
        self._session = session
        self._ttl = ttl
        self._unknown_ttl = unknown_ttl
        self._clock = clock
        self._cache = {}  # access key -> (expiry, Credential or None)
        self._lock = threading.Lock()
        self.lookups = 0  # requests made to Keystone, for tests and status

    @classmethod
    def from_conf(cls, conf):
        group = options.GROUP
        auth = ka_loading.load_auth_from_conf_options(conf, group)
        session = ka_loading.load_session_from_conf_options(conf, group, auth=auth)
        return cls(session, conf.cloudwatch.credential_cache_ttl,
                   conf.cloudwatch.unknown_key_cache_ttl)

    def get(self, access):
        """The Credential of ``access``, or None when Keystone has none (or not EC2)."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(access)
        if cached is not None and cached[0] > now:
            return cached[1]
        credential = self._read(access)
        ttl = self._ttl if credential is not None else min(self._ttl, self._unknown_ttl)
        with self._lock:
            if len(self._cache) > 100000:  # bounded under a flood of random keys
                self._cache.clear()
            self._cache[access] = (now + ttl, credential)
        return credential

    def _read(self, access):
        self.lookups += 1
        credential_id = hashlib.sha256(access.encode('utf-8')).hexdigest()
        record = self._get('/credentials/%s' % credential_id)
        credential = record and _from_keystone(record['credential'], access)
        if credential is None or not self._may_act(credential):
            return None
        return credential

    def _may_act(self, credential):
        """What /v3/ec2tokens would check too: the user and project are enabled and the
        user still has a role on the project (a credential outlives a removed member)."""
        user = self._get('/users/%s' % credential.user_id)
        project = self._get('/projects/%s' % credential.project_id)
        if not (user and user['user'].get('enabled') and project and
                project['project'].get('enabled')):
            return False
        roles = self._get('/role_assignments?effective&user.id=%s&scope.project.id=%s'
                          % (credential.user_id, credential.project_id))
        return bool(roles and roles['role_assignments'])

    def _get(self, path):
        """The JSON body of Keystone's answer to ``path``, None for a 404."""
        try:
            response = self._session.get(
                path, raise_exc=False,
                endpoint_filter={'service_type': 'identity', 'interface': 'public',
                                 'version': (3, 0)})
        except ka_exceptions.ClientException as exc:
            LOG.warning('Keystone unreachable while reading an EC2 credential: %s', exc)
            raise errors.ServiceUnavailable('The authentication service is unavailable.')
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            LOG.warning('Keystone answered %d to %s: %s (does the [cloudwatch] user have the '
                        'reader role on the system?)', response.status_code, path.split('/')[1],
                        response.text[:200])
            raise errors.ServiceUnavailable('The authentication service is unavailable.')
        return response.json()


def _from_keystone(record, access):
    if record.get('type') != 'ec2' or not record.get('project_id'):
        return None
    blob = json.loads(record['blob'])
    if blob.get('access') != access or not blob.get('secret'):
        return None
    return Credential(access, blob['secret'], record['project_id'], record['user_id'])


class KeysFileCredentials:
    """The access keys of an INI file (the all-in-one's, without Keystone)."""

    def __init__(self, path):
        self.path = path
        self._keys = load_keys_file(path)

    def get(self, access):
        return self._keys.get(access)


def load_keys_file(path):
    """{access key: Credential} from ``path``: sections with ``aws_access_key_id``,
    ``aws_secret_access_key``, ``project_id`` and ``user_id``; ValueError naming what is
    wrong."""
    parser = configparser.ConfigParser(interpolation=None)
    if not parser.read(path):
        raise ValueError('%s: cannot be read' % path)
    keys = {}
    for name in parser.sections():
        section = parser[name]
        missing = [field for field in ('aws_access_key_id', 'aws_secret_access_key',
                                       'project_id', 'user_id') if not section.get(field)]
        if missing:
            raise ValueError('%s: [%s] lacks %s' % (path, name, ', '.join(missing)))
        credential = Credential(section['aws_access_key_id'], section['aws_secret_access_key'],
                                section['project_id'], section['user_id'])
        keys[credential.access] = credential
    return keys


def ensure_keys_file(path, project_id, user_id):
    """Create ``path`` with one new access key for ``project_id``/``user_id`` unless it
    exists; returns (created, the first Credential in it)."""
    created = False
    if not os.path.exists(path):
        alphabet = string.ascii_uppercase + string.digits
        access = 'AKIA' + ''.join(secrets.choice(alphabet) for _ in range(16))
        secret = secrets.token_urlsafe(30)[:40]
        text = ('# telewatch-cloudwatch access keys (AWS_SHARED_CREDENTIALS_FILE=%s)\n'
                '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n'
                'project_id = %s\nuser_id = %s\n' % (path, access, secret, project_id,
                                                     user_id))
        os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, 'w') as stream:
            stream.write(text)
        created = True
    return created, next(iter(load_keys_file(path).values()))


# Whom the key a new keys file holds acts for: the all-in-one's anonymous admin.
KEYS_FILE_OWNER = ('admin', 'admin')


def from_conf(conf):
    """The credentials source ``[cloudwatch] auth_strategy`` names."""
    if conf.cloudwatch.auth_strategy == 'keys_file':
        path = keys_file_path(conf)
        created, key = ensure_keys_file(path, *KEYS_FILE_OWNER)
        if created:
            LOG.warning('created the access keys file %s: access key %s', path, key.access)
        return KeysFileCredentials(path)
    return KeystoneCredentials.from_conf(conf)


def keys_file_path(conf):
    return conf.cloudwatch.keys_file or os.path.join(conf.data_dir, 'cloudwatch-credentials')
