"""The secrets' sources: Keystone's EC2 credentials behind a TTL cache, and the keys file."""

import hashlib
import json
import os

import pytest

from telewatch.cloudwatch import credentials
from telewatch.cloudwatch import errors


class Response:
    def __init__(self, status, body=None):
        self.status_code, self._body, self.text = status, body, json.dumps(body)

    def json(self):
        return self._body


class Keystone:
    """Keystone's GET /v3/credentials/<id> (a fake session for the cache around it)."""

    def __init__(self):
        self.records, self.gets, self.status = {}, 0, None
        self.disabled, self.members = set(), {('u', 'p')}

    def add(self, access, secret, project='p', user='u'):
        self.records[hashlib.sha256(access.encode()).hexdigest()] = {
            'type': 'ec2', 'project_id': project, 'user_id': user,
            'blob': json.dumps({'access': access, 'secret': secret})}

    def get(self, path, raise_exc, endpoint_filter):
        if self.status:
            return Response(self.status, {})
        kind, _, rest = path[1:].partition('/')
        if kind.startswith('role_assignments'):
            user, project = path.split('user.id=')[1].split('&scope.project.id=')
            return Response(200, {'role_assignments': [{}] if (user, project) in self.members
                                  else []})
        if kind in ('users', 'projects'):
            return Response(200, {kind[:-1]: {'enabled': rest not in self.disabled}})
        self.gets += 1
        record = self.records.get(rest)
        return Response(200, {'credential': record}) if record else Response(404, {})


@pytest.fixture
def clock():
    return [1000.0]


def test_secrets_are_cached_for_the_ttl(clock):
    keystone = Keystone()
    keystone.add('AKIA1', 'secret1')
    source = credentials.KeystoneCredentials(keystone, ttl=60, clock=lambda: clock[0])
    for _ in range(100):
        assert source.get('AKIA1') == credentials.Credential('AKIA1', 'secret1', 'p', 'u')
    assert keystone.gets == 1
    keystone.records.clear()  # deleted in Keystone
    clock[0] += 59
    assert source.get('AKIA1') is not None
    clock[0] += 2
    assert source.get('AKIA1') is None
    assert keystone.gets == 2


def test_unknown_keys_are_remembered_briefly(clock):
    keystone = Keystone()
    source = credentials.KeystoneCredentials(keystone, ttl=60, unknown_ttl=5,
                                             clock=lambda: clock[0])
    assert source.get('AKIANOPE') is None
    assert source.get('AKIANOPE') is None
    assert keystone.gets == 1
    keystone.add('AKIANOPE', 'now-it-exists')
    clock[0] += 6
    assert source.get('AKIANOPE').secret == 'now-it-exists'


def test_keystone_refusing_is_a_503_not_an_unknown_key():
    keystone = Keystone()
    keystone.status = 403
    with pytest.raises(errors.ServiceUnavailable):
        credentials.KeystoneCredentials(keystone).get('AKIA1')


def test_a_credential_of_another_type_is_no_key():
    keystone = Keystone()
    keystone.add('AKIA1', 'secret')
    next(iter(keystone.records.values()))['type'] = 'totp'
    assert credentials.KeystoneCredentials(keystone).get('AKIA1') is None


def test_the_keys_file_is_made_once_private(tmp_path):
    path = str(tmp_path / 'keys')
    created, key = credentials.ensure_keys_file(path, 'admin', 'admin')
    assert created and os.stat(path).st_mode & 0o777 == 0o600
    assert key.access.startswith('AKIA') and len(key.access) == 20 and len(key.secret) == 40
    assert credentials.ensure_keys_file(path, 'admin', 'admin') == (False, key)
    assert credentials.KeysFileCredentials(path).get(key.access) == key


def test_a_keys_file_section_lacking_fields_is_named(tmp_path):
    path = tmp_path / 'keys'
    path.write_text('[default]\naws_access_key_id = A\naws_secret_access_key = S\n')
    with pytest.raises(ValueError, match=r'\[default\] lacks project_id, user_id'):
        credentials.load_keys_file(str(path))


@pytest.mark.parametrize('change', ['user disabled', 'project disabled', 'not a member'])
def test_a_user_who_may_no_longer_act_has_no_key(change):
    keystone = Keystone()
    keystone.add('AKIA1', 'secret')
    if change == 'user disabled':
        keystone.disabled.add('u')
    elif change == 'project disabled':
        keystone.disabled.add('p')
    else:
        keystone.members.clear()
    assert credentials.KeystoneCredentials(keystone).get('AKIA1') is None
