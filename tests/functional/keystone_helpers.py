"""The test Keystone that tools/services/keystone runs: its users and a few calls of its
identity v3 API (tokens, revocation, application credentials)."""

import dataclasses
import datetime
import time
import uuid

import requests

AUTH_URL = 'http://127.0.0.1:5000/v3'
DOMAIN = {'id': 'default'}


@dataclasses.dataclass(frozen=True)
class User:
    """A user of the test Keystone (domain Default) and the project it works in."""

    name: str
    password: str
    project: str


@dataclasses.dataclass(frozen=True)
class Token:
    """A token as Keystone issued it: the value to send as X-Auth-Token and what it says."""

    id: str
    user_id: str
    project_id: str | None
    roles: tuple[str, ...]
    expires_at: str


class Keystone:
    """The running test Keystone. The users are those tools/services/keystone creates (the
    passwords are written there too): ``admin`` (admin of the project admin), ``service``
    (the user telewatch with the role service in the project service: keystonemiddleware's),
    ``alice`` (member of project-a) and ``bob`` (member of project-b)."""

    auth_url = AUTH_URL
    admin = User('admin', 'telewatch-admin', 'admin')
    service = User('telewatch', 'telewatch-service', 'service')
    alice = User('alice', 'alice-password', 'project-a')
    bob = User('bob', 'bob-password', 'project-b')

    def token(self, user, project=None):
        """A new Token of ``user`` (a User), scoped to ``project`` (default: the user's)."""
        return self._issue({'methods': ['password'], 'password': {'user': {
            'name': user.name, 'domain': DOMAIN, 'password': user.password}}},
            {'project': {'name': project or user.project, 'domain': DOMAIN}})

    def system_token(self, user):
        """A new system-scoped Token of ``user`` (no project; admin has a system role)."""
        return self._issue({'methods': ['password'], 'password': {'user': {
            'name': user.name, 'domain': DOMAIN, 'password': user.password}}},
            {'system': {'all': True}})

    def revoke(self, token_id):
        """Revoke a token (as the admin): Keystone refuses it from then on."""
        response = requests.delete(self.auth_url + '/auth/tokens', timeout=30, headers={
            'X-Auth-Token': self.token(self.admin).id, 'X-Subject-Token': token_id})
        response.raise_for_status()

    def expiring_token(self, user, seconds):
        """A Token of ``user`` in its project that expires after ``seconds`` (whole, at least
        1): issued through an application credential that expires then, since Keystone caps
        a token's life at its credential's. The credential is left to expire."""
        owner = self.token(user)
        expires = (datetime.datetime.now(datetime.timezone.utc) +
                   datetime.timedelta(seconds=seconds))
        response = requests.post(
            '%s/users/%s/application_credentials' % (self.auth_url, owner.user_id),
            timeout=30, headers={'X-Auth-Token': owner.id},
            json={'application_credential': {
                'name': 'expiring-%s' % uuid.uuid4().hex,
                'expires_at': expires.strftime('%Y-%m-%dT%H:%M:%S')}})
        response.raise_for_status()
        credential = response.json()['application_credential']
        return self._issue({'methods': ['application_credential'], 'application_credential': {
            'id': credential['id'], 'secret': credential['secret']}})

    def wait_until_expired(self, token):
        """Sleep until a token's expiry time has passed (by a second)."""
        expires = datetime.datetime.fromisoformat(token.expires_at.replace('Z', '+00:00'))
        delay = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        time.sleep(max(0, delay) + 1)

    def ec2_credential(self, user):
        """A new EC2 credential (``openstack ec2 credentials create``) of ``user`` in its
        project: (access, secret). ``delete_ec2_credential`` revokes it."""
        owner = self.token(user)
        response = requests.post(
            '%s/users/%s/credentials/OS-EC2' % (self.auth_url, owner.user_id), timeout=30,
            headers={'X-Auth-Token': owner.id}, json={'tenant_id': owner.project_id})
        response.raise_for_status()
        credential = response.json()['credential']
        return credential['access'], credential['secret']

    def delete_ec2_credential(self, user, access):
        owner = self.token(user)
        response = requests.delete(
            '%s/users/%s/credentials/OS-EC2/%s' % (self.auth_url, owner.user_id, access),
            timeout=30, headers={'X-Auth-Token': owner.id})
        if response.status_code != 404:
            response.raise_for_status()

    def ensure_system_reader(self, user):
        """Make ``user`` (its project is ignored) exist with the role reader on the system
        (what reads other users' EC2 credentials); idempotent."""
        admin = {'X-Auth-Token': self.token(self.admin).id}
        found = requests.get(self.auth_url + '/users', params={'name': user.name},
                             headers=admin, timeout=30)
        found.raise_for_status()
        users = found.json()['users']
        if users:
            user_id = users[0]['id']
        else:
            created = requests.post(self.auth_url + '/users', headers=admin, timeout=30, json={
                'user': {'name': user.name, 'password': user.password,
                         'domain_id': DOMAIN['id']}})
            created.raise_for_status()
            user_id = created.json()['user']['id']
        roles = requests.get(self.auth_url + '/roles', params={'name': 'reader'},
                             headers=admin, timeout=30)
        roles.raise_for_status()
        role_id = roles.json()['roles'][0]['id']
        granted = requests.put(
            '%s/system/users/%s/roles/%s' % (self.auth_url, user_id, role_id),
            headers=admin, timeout=30)
        granted.raise_for_status()
        return user_id

    def authtoken_options(self):
        """[keystone_authtoken] options for keystonemiddleware against this Keystone, with
        the service user."""
        return {
            'www_authenticate_uri': self.auth_url,
            'auth_url': self.auth_url,
            'auth_type': 'password',
            'username': self.service.name,
            'password': self.service.password,
            'project_name': self.service.project,
            'user_domain_name': 'Default',
            'project_domain_name': 'Default',
        }

    def _issue(self, identity, scope=None):
        auth = {'identity': identity}
        if scope:
            auth['scope'] = scope
        response = requests.post(self.auth_url + '/auth/tokens', json={'auth': auth},
                                 timeout=30)
        response.raise_for_status()
        token = response.json()['token']
        return Token(id=response.headers['X-Subject-Token'], user_id=token['user']['id'],
                     project_id=token.get('project', {}).get('id'),
                     roles=tuple(role['name'] for role in token['roles']),
                     expires_at=token['expires_at'])
