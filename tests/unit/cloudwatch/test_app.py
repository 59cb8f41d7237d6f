"""The wire layer end to end in-process: botocore's own serialisers and signer make the
requests, botocore's parsers read the answers, in each of the three protocols."""

import datetime
import gzip

import pytest

from telewatch.cloudwatch import app as app_mod
from telewatch.cloudwatch import credentials
from telewatch.cloudwatch import errors
from tests.unit.cloudwatch import wsgi_client

ACCESS, SECRET = 'AKIATESTTESTTESTTEST', 'secret-of-the-test-key-0123456789abcdef'
KEY = credentials.Credential(ACCESS, SECRET, 'project-a', 'user-a')
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


class Keys:
    def __init__(self, *keys):
        self.keys = {key.access: key for key in keys}

    def get(self, access):
        return self.keys.get(access)


@pytest.fixture
def calls():
    return []


@pytest.fixture
def app(conf, calls):
    def put_metric_data(ctx, params):
        calls.append((ctx, params))
        return {}

    def list_metrics(ctx, params):
        calls.append((ctx, params))
        return {'Metrics': [{'Namespace': 'App', 'MetricName': 'Latency',
                             'Dimensions': [{'Name': 'Host', 'Value': 'a<b'}]}],
                'NextToken': 'next'}

    def get_metric_statistics(ctx, params):
        return {'Label': 'Latency', 'Datapoints': [
            {'Timestamp': params['StartTime'], 'Sum': 1.5, 'Unit': 'Seconds'}]}

    def describe_alarms(ctx, params):
        raise errors.ResourceNotFound('No alarm named x.')

    return app_mod.CloudWatchApp(conf, None, None, credentials=Keys(KEY), operations={
        'PutMetricData': put_metric_data, 'ListMetrics': list_metrics,
        'GetMetricStatistics': get_metric_statistics, 'DescribeAlarms': describe_alarms})


def roundtrip(app, protocol, operation, params, **kwargs):
    prepared = wsgi_client.prepare(protocol, operation, params, kwargs.pop('access', ACCESS),
                                   kwargs.pop('secret', SECRET), **kwargs)
    status, headers, body = wsgi_client.call(app, prepared)
    return status, wsgi_client.parse(protocol, operation, status, headers, body)


@pytest.mark.parametrize('protocol', wsgi_client.PROTOCOLS)
def test_params_arrive_typed_and_results_parse(app, calls, protocol):
    status, parsed = roundtrip(app, protocol, 'PutMetricData', {
        'Namespace': 'App', 'MetricData': [{
            'MetricName': 'Latency', 'Timestamp': NOW, 'Value': 0.25, 'StorageResolution': 1,
            'Dimensions': [{'Name': 'Host', 'Value': 'a'}], 'Values': [1.0, 2.0],
            'Counts': [3.0, 4.0]}]})
    assert status == 200
    ctx, params = calls[-1]
    assert (ctx.project_id, ctx.user_id, ctx.access_key) == ('project-a', 'user-a', ACCESS)
    assert params == {'Namespace': 'App', 'MetricData': [{
        'MetricName': 'Latency', 'Timestamp': NOW, 'Value': 0.25, 'StorageResolution': 1,
        'Dimensions': [{'Name': 'Host', 'Value': 'a'}], 'Values': [1.0, 2.0],
        'Counts': [3.0, 4.0]}]}
    status, parsed = roundtrip(app, protocol, 'ListMetrics', {})
    assert parsed['Metrics'][0]['Dimensions'] == [{'Name': 'Host', 'Value': 'a<b'}]
    assert parsed['NextToken'] == 'next'
    status, parsed = roundtrip(app, protocol, 'GetMetricStatistics', {
        'Namespace': 'App', 'MetricName': 'Latency', 'StartTime': NOW, 'EndTime': NOW,
        'Period': 60, 'Statistics': ['Sum']})
    assert parsed['Datapoints'] == [{'Timestamp': NOW, 'Sum': 1.5, 'Unit': 'Seconds'}]


@pytest.mark.parametrize('protocol', wsgi_client.PROTOCOLS)
def test_gzip_bodies(app, calls, protocol):
    prepared = wsgi_client.prepare(protocol, 'ListMetrics', {'Namespace': 'Zipped'},
                                   ACCESS, SECRET)
    body = prepared.body if isinstance(prepared.body, bytes) else prepared.body.encode()
    # botocore compresses before signing: do the same by hand.
    zipped = _resign(protocol, body, gzip.compress(body))
    status, _, _ = wsgi_client.call(app, zipped)
    assert status == 200
    assert calls[-1][1] == {'Namespace': 'Zipped'}


def _resign(protocol, plain, zipped):
    from botocore import auth as botocore_auth
    from botocore import awsrequest
    from botocore import credentials as botocore_credentials
    template = wsgi_client.prepare(protocol, 'ListMetrics', {'Namespace': 'Zipped'}, ACCESS,
                                   SECRET)
    headers = {k: v for k, v in template.headers.items()
               if k.lower() not in ('authorization', 'x-amz-date', 'content-length')}
    headers['Content-Encoding'] = 'gzip'
    request = awsrequest.AWSRequest(method='POST', url=template.url, data=zipped,
                                    headers=headers)
    botocore_auth.SigV4Auth(botocore_credentials.Credentials(ACCESS, SECRET), 'monitoring',
                            'us-east-1').add_auth(request)
    return request.prepare()


ERROR_CASES = [
    ('missing', 'PutMetricData', {'MetricData': []}, 400, 'MissingParameter',
     'The parameter Namespace is required.'),
    ('nested missing', 'PutMetricData', {'Namespace': 'A', 'MetricData': [{'Value': 1.0}]},
     400, 'MissingParameter', 'The parameter MetricData.member.1.MetricName is required.'),
    ('constraints', 'GetMetricStatistics', {
        'Namespace': '', 'MetricName': 'M', 'StartTime': NOW, 'EndTime': NOW, 'Period': 0,
        'Statistics': ['Median']}, 400, 'ValidationError',
     "3 validation errors detected: Value '' at 'namespace' failed to satisfy constraint: "
     "Member must have length greater than or equal to 1; Value '0' at 'period' failed to "
     "satisfy constraint: Member must have value greater than or equal to 1; Value 'Median' "
     "at 'statistics.1.member' failed to satisfy constraint: Member must satisfy enum value "
     "set: [SampleCount, Average, Sum, Minimum, Maximum]"),
    ('unknown', 'DeleteAlarms', {'AlarmNames': ['a']}, 400, None, None),
    ('operation error', 'DescribeAlarms', {}, 404, 'ResourceNotFound', 'No alarm named x.'),
]


@pytest.mark.parametrize('protocol', wsgi_client.PROTOCOLS)
@pytest.mark.parametrize('case', ERROR_CASES, ids=[case[0] for case in ERROR_CASES])
def test_errors(app, protocol, case):
    _, operation, params, status, code, message = case
    got_status, parsed = roundtrip(app, protocol, operation, params)
    assert got_status == status
    if code is None:  # an operation nobody implements
        code = 'InvalidAction' if protocol == 'query' else 'UnknownOperationException'
        message = ('The action DeleteAlarms is not valid for this web service.'
                   if protocol == 'query' else '')
    assert (parsed['Error']['Code'], parsed['Error']['Message']) == (code, message)


@pytest.mark.parametrize('protocol', wsgi_client.PROTOCOLS)
def test_auth_errors(app, protocol):
    status, parsed = roundtrip(app, protocol, 'ListMetrics', {}, secret='wrong')
    assert (status, parsed['Error']['Code']) == (403, 'SignatureDoesNotMatch')
    status, parsed = roundtrip(app, protocol, 'ListMetrics', {}, access='AKIAUNKNOWN')
    assert (status, parsed['Error']['Code']) == (403, 'InvalidClientTokenId')
    now = datetime.datetime.now(datetime.timezone.utc)
    old = now - datetime.timedelta(minutes=16)
    status, parsed = roundtrip(app, protocol, 'ListMetrics', {}, when=old)
    assert (status, parsed['Error']['Code']) == (400, 'RequestExpired')
    status, parsed = roundtrip(app, protocol, 'ListMetrics', {},
                               when=now - datetime.timedelta(minutes=14))
    assert status == 200


def test_presigned_query(app, calls):
    status, parsed = roundtrip(app, 'query', 'ListMetrics', {'Namespace': 'Pre'},
                               presign=True)
    assert status == 200
    assert calls[-1][1] == {'Namespace': 'Pre'}
    status, parsed = roundtrip(app, 'query', 'ListMetrics', {'Namespace': 'Pre'},
                               presign=True, secret='wrong')
    assert (status, parsed['Error']['Code']) == (403, 'SignatureDoesNotMatch')


def test_unsigned_request(app):
    prepared = wsgi_client.prepare('json', 'ListMetrics', {}, ACCESS, SECRET)
    del prepared.headers['Authorization']
    status, headers, body = wsgi_client.call(app, prepared)
    parsed = wsgi_client.parse('json', 'ListMetrics', status, headers, body)
    assert (status, parsed['Error']['Code']) == (403, 'MissingAuthenticationToken')
    assert headers['x-amzn-query-error'] == 'MissingAuthenticationToken;Sender'


def test_gzip_bomb_refused(conf, app):
    conf.set_override('max_decompressed_size', 1000, group='cloudwatch')
    plain = b'Action=ListMetrics&Version=2010-08-01&Namespace=' + b'x' * 5000
    status, _, body = wsgi_client.call(app, _resign('query', plain, gzip.compress(plain)))
    assert status == 413 and b'RequestEntityTooLarge' in body


def test_a_value_of_the_wrong_type(app):
    plain = (b'Action=GetMetricStatistics&Version=2010-08-01&Namespace=A&MetricName=M'
             b'&StartTime=2026-01-01T00:00:00Z&EndTime=2026-01-02T00:00:00Z&Period=sixty'
             b'&Statistics.member.1=Sum')
    prepared = _resign_plain(plain)
    status, _, body = wsgi_client.call(app, prepared)
    assert status == 400
    assert (b'<Code>InvalidParameterValue</Code><Message>The value sixty for parameter '
            b'Period is invalid.</Message>') in body


def _resign_plain(body):
    from botocore import auth as botocore_auth
    from botocore import awsrequest
    from botocore import credentials as botocore_credentials
    request = awsrequest.AWSRequest(
        method='POST', url='http://cloudwatch.test/', data=body,
        headers={'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8'})
    botocore_auth.SigV4Auth(botocore_credentials.Credentials(ACCESS, SECRET), 'monitoring',
                            'us-east-1').add_auth(request)
    return request.prepare()


@pytest.mark.parametrize('query_mode, status', [(True, 404), (False, 400)])
def test_json_status_follows_query_mode(app, query_mode, status):
    prepared = wsgi_client.prepare('json', 'DescribeAlarms', {}, ACCESS, SECRET)
    if not query_mode:
        del prepared.headers['x-amzn-query-mode']
        prepared = _resign_json(prepared)
    got, headers, body = wsgi_client.call(app, prepared)
    assert got == status
    assert headers['x-amzn-query-error'] == 'ResourceNotFound;Sender'


def _resign_json(prepared):
    from botocore import auth as botocore_auth
    from botocore import awsrequest
    from botocore import credentials as botocore_credentials
    headers = {k: v for k, v in prepared.headers.items()
               if k.lower() not in ('authorization', 'x-amz-date', 'content-length')}
    request = awsrequest.AWSRequest(method='POST', url=prepared.url, data=prepared.body,
                                    headers=headers)
    botocore_auth.SigV4Auth(botocore_credentials.Credentials(ACCESS, SECRET), 'monitoring',
                            'us-east-1').add_auth(request)
    return request.prepare()


def test_a_truncated_gzip_body(app):
    plain = b'Action=ListMetrics&Version=2010-08-01'
    status, _, body = wsgi_client.call(app, _resign('query', plain, gzip.compress(plain)[:-8]))
    assert status == 400 and b'<Code>MalformedInput</Code>' in body


def test_a_body_over_the_limit(conf, app):
    conf.set_override('max_request_size', 100, group='cloudwatch')
    plain = b'Action=ListMetrics&Version=2010-08-01&Namespace=' + b'x' * 200
    status, _, body = wsgi_client.call(app, _resign_plain(plain))
    assert status == 413 and b'<Code>RequestEntityTooLarge</Code>' in body
