"""A live telewatch-cloudwatch and the real clients of each of its protocols, for the
functional tests of the CloudWatch API (import the fixtures you use).

- ``cloudwatch``: a telewatch-cloudwatch (gunicorn, one worker) on the embedded store of a
  temporary directory, authenticating against the real Keystone (tools/services/keystone)
  with a system reader user; ``cloudwatch.alice`` / ``cloudwatch.bob``: EC2 credentials
  (``openstack ec2 credentials create``) of alice (project-a) and bob (project-b), deleted at
  the end.
- ``client``: parametrised over CLIENTS; a ``Client`` whose ``call(operation, params,
  key=alice)`` returns the operation's result as that client parses it (a dict with the
  model's member names; ``{'$date': ...}`` timestamps from the subprocess clients become
  datetimes, their blobs bytes; the aws CLI prints a blob in base64), or raises
  ``ClientError(code, message, status)`` (status None for the aws CLI, which does not say
  it). ``client.protocol`` names the protocol it speaks (the JS SDK
  speaks json, and query or CBOR when given those protocol classes).
- ``allinone_keys_file``: the all-in-one's mode: a telewatch-cloudwatch with
  ``auth_strategy = keys_file`` and the access key it created.

The subprocess clients (botocore 1.42.6, the aws CLI, the JS SDK) are installed by
``tools/services/cloudwatch-clients start`` (run here, idempotent).
"""

import base64
import contextlib
import copy
import dataclasses
import datetime
import json
import os
import pathlib
import subprocess

import boto3
import botocore.config
import botocore.session
from botocore import loaders
import pytest
import requests

from tests.functional import api_helpers
from tests.functional import keystone_helpers
from tests.functional import services

CACHE = pathlib.Path(os.environ.get('TELEWATCH_CACHE') or
                     pathlib.Path.home() / '.cache' / 'telewatch') / 'cloudwatch-clients'
BOTOCORE_QUERY_PYTHON = CACHE / 'botocore-1.42.6' / 'bin' / 'python'
AWS_CLI = CACHE / 'awscli' / 'bin' / 'aws'
NODE_MODULES = CACHE / 'node' / 'node_modules'
DATA = pathlib.Path(__file__).parent / 'data'
READER = keystone_helpers.User('telewatch-cloudwatch', 'telewatch-cloudwatch-reader', None)
CLIENTS = ('boto3-json', 'boto3-cbor', 'botocore-query', 'aws-cli', 'js-sdk',
           'js-sdk-query', 'js-sdk-cbor')
# The JS SDK's protocol classes (@aws-sdk/core/protocols) by client name: json by default.
JS_PROTOCOLS = {'js-sdk-query': 'AwsQueryProtocol', 'js-sdk-cbor': 'AwsSmithyRpcV2CborProtocol'}
REGION = 'RegionOne'


@dataclasses.dataclass(frozen=True)
class Key:
    access: str
    secret: str
    project_id: str = ''


class ClientError(Exception):
    def __init__(self, code, message, status):
        super().__init__('%s (%s): %s' % (code, status, message))
        self.code, self.message, self.status = code, message, status


@dataclasses.dataclass
class Server:
    url: str
    alice: Key = None
    bob: Key = None
    config: pathlib.Path = None
    log: pathlib.Path = None


def _revive(value):
    if isinstance(value, dict):
        if set(value) == {'$date'}:
            return datetime.datetime.fromisoformat(value['$date'].replace('Z', '+00:00'))
        if set(value) == {'$bytes'}:  # a blob from botocore's script
            return value['$bytes'].encode('latin-1')
        if set(value) == {'$base64'}:  # a blob from the JS SDK's
            return base64.b64decode(value['$base64'])
        return {key: _revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_revive(item) for item in value]
    return value


def _dates(value):
    if isinstance(value, datetime.datetime):
        return {'$date': value.isoformat()}
    raise TypeError(value)


def cbor_model_dir(directory):
    """A botocore data directory whose CloudWatch model lists only smithy-rpc-v2-cbor (how a
    botocore client is made to speak CBOR: the model picks the protocol)."""
    model = loaders.Loader().load_service_model('cloudwatch', 'service-2')
    model = copy.deepcopy(model)
    model['metadata']['protocols'] = ['smithy-rpc-v2-cbor']
    model['metadata']['protocol'] = 'smithy-rpc-v2-cbor'
    target = directory / 'cloudwatch' / '2010-08-01'
    target.mkdir(parents=True, exist_ok=True)
    (target / 'service-2.json').write_text(json.dumps(model))
    return directory


class Client:
    """One real client of CLIENTS against ``server``."""

    def __init__(self, name, server, model_dir):
        self.name, self.server, self.model_dir = name, server, model_dir
        self.protocol = {'boto3-json': 'json', 'boto3-cbor': 'smithy-rpc-v2-cbor',
                         'botocore-query': 'query', 'aws-cli': 'json',
                         'js-sdk': 'json', 'js-sdk-query': 'query',
                         'js-sdk-cbor': 'smithy-rpc-v2-cbor'}[name]

    def boto3(self, key, **config):
        session = botocore.session.get_session()
        if self.name == 'boto3-cbor':
            session.get_component('data_loader').search_paths.insert(0, str(self.model_dir))
        return boto3.Session(botocore_session=session).client(
            'cloudwatch', endpoint_url=self.server.url, region_name=REGION,
            aws_access_key_id=key.access, aws_secret_access_key=key.secret,
            config=botocore.config.Config(retries={'max_attempts': 1}, **config))

    def call(self, operation, params=None, key=None, validate=True):
        key = key or self.server.alice
        params = params or {}
        if self.name.startswith('boto3'):
            return self._boto3(operation, params, key, validate)
        if self.name == 'aws-cli':
            return self._cli(operation, params, key, validate)
        command = ([str(BOTOCORE_QUERY_PYTHON), str(DATA / 'cloudwatch_botocore_client.py')]
                   if self.name == 'botocore-query' else
                   ['node', str(DATA / 'cloudwatch_js_client.js')])
        # NODE_NO_WARNINGS: the SDK's notice of the node versions it will need next year.
        env = dict(os.environ, NODE_PATH=str(NODE_MODULES), NODE_NO_WARNINGS='1')
        stdin = json.dumps({'endpoint': self.server.url, 'access': key.access,
                            'secret': key.secret, 'operation': operation, 'params': params,
                            'validate': validate, 'protocol': JS_PROTOCOLS.get(self.name)},
                           default=_dates)
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return self._result(_revive(json.loads(done.stdout)))

    def _result(self, result):
        result.pop('__botocore__', None)
        protocol = result.pop('__protocol__', None)
        if protocol:
            assert protocol == self.protocol
        error = result.pop('__error__', None)
        if error:
            raise ClientError(error['code'], error['message'], error['status'])
        return result

    def _boto3(self, operation, params, key, validate):
        client = self.boto3(key, parameter_validation=validate)
        assert client.meta.service_model.resolved_protocol == self.protocol
        try:
            result = getattr(client, botocore.xform_name(operation))(**params)
        except client.exceptions.ClientError as exc:
            error = exc.response['Error']
            raise ClientError(error['Code'], error.get('Message', ''),
                              exc.response['ResponseMetadata'].get('HTTPStatusCode'))
        result.pop('ResponseMetadata', None)
        return result

    def _cli(self, operation, params, key, validate):
        command = [str(AWS_CLI), 'cloudwatch', botocore.xform_name(operation, '-'),
                   '--endpoint-url', self.server.url, '--region', REGION, '--output', 'json',
                   '--cli-input-json', json.dumps(params, default=lambda d: d.isoformat())]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=key.access, AWS_SECRET_ACCESS_KEY=key.secret,
                   AWS_CONFIG_FILE=str(self.model_dir / ('aws-config-%s' % validate)),
                   AWS_SHARED_CREDENTIALS_FILE='/dev/null', AWS_MAX_ATTEMPTS='1')
        # The CLI checks parameters itself unless its configuration says not to.
        pathlib.Path(env['AWS_CONFIG_FILE']).write_text(
            '[default]\nparameter_validation = %s\n' % str(validate).lower())
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        if done.returncode != 0:
            message = done.stderr.strip()
            if message.startswith('An error occurred ('):
                code = message[len('An error occurred ('):message.index(')')]
                raise ClientError(code, message.split(': ', 1)[-1], None)
            raise AssertionError('aws %s failed: %s' % (operation, message))
        return json.loads(done.stdout) if done.stdout.strip() else {}


@contextlib.contextmanager
def running_cloudwatch(data, extra_config):
    """The URL of a telewatch-cloudwatch on ``data``'s store, and its log, stopped at the
    end."""
    port = api_helpers.free_port()
    config = data / 'telewatch.conf'
    config.write_text('[DEFAULT]\ndata_dir = %s\n[cloudwatch]\nport = %d\nhost = 127.0.0.1\n'
                      '%s' % (data, port, extra_config))
    subprocess.run([str(api_helpers.BIN / 'telewatch-upgrade'), '--config-file', str(config)],
                   check=True, capture_output=True, timeout=120)
    log_path = data / 'cloudwatch.log'
    with open(log_path, 'w') as log:
        server = subprocess.Popen([str(api_helpers.BIN / 'telewatch-cloudwatch'),
                                   '--config-file', str(config)], stdout=log, stderr=log)
        try:
            url = 'http://127.0.0.1:%d' % port
            api_helpers._wait_until_up(url, server, log_path)
            yield Server(url, config=config, log=log_path)
        finally:
            server.terminate()
            server.wait(30)


def keystone_config(keystone, ttl=60):
    return ''.join('%s = %s\n' % option for option in {
        'auth_strategy': 'keystone', 'credential_cache_ttl': ttl,
        'auth_type': 'password', 'auth_url': keystone.auth_url, 'username': READER.name,
        'password': READER.password, 'user_domain_name': 'Default',
        'system_scope': 'all'}.items())


@contextlib.contextmanager
def ec2_keys(keystone):
    """EC2 credentials of alice and bob, deleted at the end."""
    made = []
    try:
        for user in (keystone.alice, keystone.bob):
            access, secret = keystone.ec2_credential(user)
            made.append((user, Key(access, secret, keystone.token(user).project_id)))
        yield [key for _, key in made]
    finally:
        for user, key in made:
            keystone.delete_ec2_credential(user, key.access)


@pytest.fixture(scope='session')
def cloudwatch_clients_installed():
    services._start('cloudwatch-clients')


@pytest.fixture(scope='module')
def cloudwatch(keystone, tmp_path_factory):
    """A telewatch-cloudwatch on the real Keystone, with alice's and bob's EC2 keys."""
    keystone.ensure_system_reader(READER)
    with ec2_keys(keystone) as (alice, bob):
        with running_cloudwatch(tmp_path_factory.mktemp('cloudwatch'),
                                keystone_config(keystone)) as server:
            server.alice, server.bob = alice, bob
            yield server


@pytest.fixture(scope='module')
def allinone_keys_file(tmp_path_factory):
    """A telewatch-cloudwatch with the all-in-one's keys file (created on its first start);
    ``.alice`` is the key it made."""
    data = tmp_path_factory.mktemp('cloudwatch-keys')
    with running_cloudwatch(data, 'auth_strategy = keys_file\n') as server:
        from telewatch.cloudwatch import credentials
        key = next(iter(credentials.load_keys_file(data / 'cloudwatch-credentials').values()))
        server.alice = Key(key.access, key.secret, key.project_id)
        yield server


@pytest.fixture(scope='module')
def cbor_models(tmp_path_factory):
    return cbor_model_dir(tmp_path_factory.mktemp('botocore-data'))


@pytest.fixture(params=CLIENTS)
def client(request, cloudwatch, cbor_models, cloudwatch_clients_installed):
    return Client(request.param, cloudwatch, cbor_models)


def raw_post(url, **kwargs):
    """An unsigned request (for the errors before authentication)."""
    return requests.post(url, timeout=30, **kwargs)
