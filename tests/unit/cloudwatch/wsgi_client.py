"""Requests as botocore serialises and signs them, handed to the WSGI app in-process (no
socket): the real client's bytes, without a server."""

import io
import json
import urllib.parse

from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials
from botocore import loaders
from botocore import model as botocore_model
from botocore import serialize

PROTOCOLS = ('query', 'json', 'smithy-rpc-v2-cbor')


def service_model(protocol):
    definition = loaders.Loader().load_service_model('cloudwatch', 'service-2')
    definition = json.loads(json.dumps(definition))
    definition['metadata']['protocol'] = protocol
    definition['metadata']['protocols'] = [protocol]
    return botocore_model.ServiceModel(definition, 'cloudwatch')


def prepare(protocol, operation, params, access, secret, when=None, presign=False,
            region='us-east-1', headers=None):
    """A signed AWSPreparedRequest of ``operation`` in ``protocol`` (``when``: the signing
    time, default now)."""
    model = service_model(protocol)
    op = model.operation_model(operation)
    body = serialize.create_serializer(protocol, include_validation=False)\
        .serialize_to_request(params, op)
    url = 'http://cloudwatch.test' + body['url_path']
    request = awsrequest.AWSRequest(method=body['method'], url=url, data=body['body'],
                                    headers=dict(body['headers'], **(headers or {})))
    creds = botocore_credentials.Credentials(access, secret)
    signer_class = botocore_auth.SigV4QueryAuth if presign else botocore_auth.SigV4Auth
    signer = signer_class(creds, 'monitoring', region)
    if when is not None:
        _sign_at(signer, request, when)
    else:
        signer.add_auth(request)
    return request.prepare()


def _sign_at(signer, request, when):
    real = botocore_auth.get_current_datetime
    botocore_auth.get_current_datetime = lambda remove_tzinfo=True: when.replace(tzinfo=None)
    try:
        signer.add_auth(request)
    finally:
        botocore_auth.get_current_datetime = real


def call(app, prepared):
    """(status int, headers dict (lower-case names), body bytes) of the app's answer."""
    parts = urllib.parse.urlsplit(prepared.url)
    body = prepared.body or b''
    if isinstance(body, str):
        body = body.encode('utf-8')
    environ = {'REQUEST_METHOD': prepared.method, 'PATH_INFO': parts.path or '/',
               'QUERY_STRING': parts.query, 'SCRIPT_NAME': '', 'SERVER_NAME': 'test',
               'SERVER_PORT': '80', 'wsgi.input': io.BytesIO(body),
               'CONTENT_LENGTH': str(len(body))}
    for name, value in prepared.headers.items():
        if isinstance(value, bytes):
            value = value.decode('latin-1')
        key = name.upper().replace('-', '_')
        if key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
            environ[key] = value
        else:
            environ['HTTP_' + key] = value
    environ.setdefault('HTTP_HOST', parts.netloc)
    answer = {}

    def start_response(status, headers):
        answer['status'] = int(status.split()[0])
        answer['headers'] = {k.lower(): v for k, v in headers}

    chunks = app(environ, start_response)
    return answer['status'], answer['headers'], b''.join(chunks)


def parse(protocol, operation, status, headers, body):
    """The response as botocore parses it (errors under 'Error')."""
    from botocore import parsers
    model = service_model(protocol)
    op = model.operation_model(operation)
    parser = parsers.create_parser(protocol)
    return parser.parse({'status_code': status, 'headers': headers, 'body': body},
                        op.output_shape if status < 300 else None)
