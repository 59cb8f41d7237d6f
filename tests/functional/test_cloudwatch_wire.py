"""The CloudWatch API's wire protocols and SigV4 against a live telewatch-cloudwatch, with
the real clients of each protocol (boto3 json and CBOR, botocore 1.42.6 query, the aws CLI,
the JS SDK v3) and EC2 credentials of the real Keystone."""

import datetime
import time

import pytest
import requests
from botocore import auth as botocore_auth
from botocore import awsrequest
from botocore import credentials as botocore_credentials

from telewatch.cloudwatch import credentials

from tests.functional import cloudwatch_clients
from tests.functional import services
from tests.unit.cloudwatch import wsgi_client

# An operation of the model that telewatch does not implement (nor plans to).
UNIMPLEMENTED = 'DescribeInsightRules'


def expect_error(client, operation, params, code, status, **kwargs):
    with pytest.raises(cloudwatch_clients.ClientError) as raised:
        client.call(operation, params, **kwargs)
    assert raised.value.code == code, raised.value
    if raised.value.status is not None:  # the aws CLI does not tell it
        assert raised.value.status == status
    return raised.value


def test_unimplemented_operation(client):
    code = 'InvalidAction' if client.protocol == 'query' else 'UnknownOperationException'
    expect_error(client, UNIMPLEMENTED, {}, code, 400)


def test_missing_parameter(client):
    error = expect_error(client, 'GetMetricStatistics', {
        'MetricName': 'Latency', 'Period': 60, 'Statistics': ['Sum'],
        'StartTime': datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        'EndTime': datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)},
        'MissingParameter', 400, validate=False)
    assert error.message == 'The parameter Namespace is required.'


def test_wrong_secret(client, cloudwatch):
    wrong = cloudwatch_clients.Key(cloudwatch.alice.access, 'not-the-secret')
    expect_error(client, UNIMPLEMENTED, {}, 'SignatureDoesNotMatch', 403, key=wrong)


def test_unknown_access_key(client):
    unknown = cloudwatch_clients.Key('AKIAUNKNOWNUNKNOWN00', 'whatever')
    expect_error(client, UNIMPLEMENTED, {}, 'InvalidClientTokenId', 403, key=unknown)


def _send(url, prepared):
    return requests.request(prepared.method, url + prepared.url[len('http://cloudwatch.test'):],
                            headers={k: v for k, v in prepared.headers.items()
                                     if k.lower() != 'host'} | {'Host': 'cloudwatch.test'},
                            data=prepared.body, timeout=30)


@pytest.mark.parametrize('protocol', wsgi_client.PROTOCOLS)
def test_clock_skew(cloudwatch, protocol):
    key = cloudwatch.alice
    now = datetime.datetime.now(datetime.timezone.utc)
    for minutes, code in ((16, 'RequestExpired'), (-16, 'RequestExpired'),
                          (14, 'InvalidAction')):
        prepared = wsgi_client.prepare(protocol, UNIMPLEMENTED, {}, key.access, key.secret,
                                       when=now - datetime.timedelta(minutes=minutes))
        response = _send(cloudwatch.url, prepared)
        parsed = wsgi_client.parse(protocol, UNIMPLEMENTED, response.status_code,
                                   dict(response.headers), response.content)
        if code == 'InvalidAction' and protocol != 'query':
            code = 'UnknownOperationException'
        assert parsed['Error']['Code'] == code


def test_presigned_url(cloudwatch):
    key = cloudwatch.alice
    query = 'Action=%s&Version=2010-08-01' % UNIMPLEMENTED
    request = awsrequest.AWSRequest(method='GET', url=cloudwatch.url + '/?' + query)
    botocore_auth.SigV4QueryAuth(botocore_credentials.Credentials(key.access, key.secret),
                                 'monitoring', 'RegionOne', expires=60).add_auth(request)
    url = request.prepare().url
    response = requests.get(url, timeout=30)
    assert b'<Code>InvalidAction</Code>' in response.content  # authenticated, then refused
    tampered = url.replace('Action=' + UNIMPLEMENTED, 'Action=ListMetrics')
    response = requests.get(tampered, timeout=30)
    assert response.status_code == 403
    assert b'<Code>SignatureDoesNotMatch</Code>' in response.content


def test_unsigned_requests(cloudwatch):
    response = requests.post(cloudwatch.url, data={'Action': 'ListMetrics',
                                                   'Version': '2010-08-01'}, timeout=30)
    assert response.status_code == 403
    assert b'<Code>MissingAuthenticationToken</Code>' in response.content
    response = requests.post(cloudwatch.url, timeout=30, headers={
        'X-Amz-Target': 'GraniteServiceVersion20100801.ListMetrics',
        'Content-Type': 'application/x-amz-json-1.0', 'Authorization': 'AWS4-HMAC-SHA256 x'},
        data='{}')
    assert response.status_code == 400
    assert response.json()['__type'] == 'IncompleteSignature'
    assert response.headers['x-amzn-query-error'] == 'IncompleteSignature;Sender'


def test_revoked_credential_stops_within_the_ttl(keystone, tmp_path):
    """With a 10 s cache: a deleted EC2 credential keeps working from the cache (no Keystone
    round trip per request), then is refused once the TTL has passed."""
    ttl = 10
    keystone.ensure_system_reader(cloudwatch_clients.READER)
    config = cloudwatch_clients.keystone_config(keystone, ttl=ttl)
    with cloudwatch_clients.running_cloudwatch(tmp_path, config) as server:
        access, secret = keystone.ec2_credential(keystone.alice)
        server.alice = cloudwatch_clients.Key(access, secret)
        client = cloudwatch_clients.Client('boto3-json', server, None)
        cached = time.monotonic()
        try:
            expect_error(client, UNIMPLEMENTED, {}, 'UnknownOperationException', 400)
        finally:
            keystone.delete_ec2_credential(keystone.alice, access)
        expect_error(client, UNIMPLEMENTED, {}, 'UnknownOperationException', 400)
        assert time.monotonic() - cached < ttl, 'too slow a machine to see the cache'
        time.sleep(max(0, cached + ttl + 0.5 - time.monotonic()))
        expect_error(client, UNIMPLEMENTED, {}, 'InvalidClientTokenId', 403)


def test_keys_file_mode(allinone_keys_file, cbor_models):
    """The all-in-one's mode: the key of the file it created on first start works."""
    client = cloudwatch_clients.Client('boto3-json', allinone_keys_file, cbor_models)
    expect_error(client, UNIMPLEMENTED, {}, 'UnknownOperationException', 400)
    wrong = cloudwatch_clients.Key(allinone_keys_file.alice.access, 'wrong')
    expect_error(client, UNIMPLEMENTED, {}, 'SignatureDoesNotMatch', 403, key=wrong)


def test_put_and_list_metrics_scoped_to_the_project(client, cloudwatch):
    """Every client puts a metric as alice and lists it; bob, in another project, does not
    see it."""
    namespace = services.unique('Wire')
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    dimensions = [{'Name': 'Client', 'Value': client.name}]
    assert client.call('PutMetricData', {'Namespace': namespace, 'MetricData': [{
        'MetricName': 'Calls', 'Dimensions': dimensions, 'Timestamp': now, 'Value': 2.5,
        'Unit': 'Count'}]}) == {}
    listed = client.call('ListMetrics', {'Namespace': namespace})
    assert listed['Metrics'] == [{'Namespace': namespace, 'MetricName': 'Calls',
                                  'Dimensions': dimensions}]
    assert client.call('ListMetrics', {'Namespace': namespace},
                       key=cloudwatch.bob)['Metrics'] == []


@pytest.mark.parametrize('name', ['boto3-json', 'boto3-cbor', 'botocore-query'])
def test_gzip_bodies_of_botocore(name, cloudwatch, cbor_models, cloudwatch_clients_installed):
    """botocore gzips PutMetricData bodies of 10 KB or more; all 1,000 data arrive."""
    client = cloudwatch_clients.Client(name, cloudwatch, cbor_models)
    namespace = services.unique('Zipped')
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    data = [{'MetricName': 'M%04d' % index, 'Value': float(index), 'Timestamp': now}
            for index in range(1000)]
    client.call('PutMetricData', {'Namespace': namespace, 'MetricData': data})
    names, token = [], None
    while True:
        page = client.call('ListMetrics', dict({'Namespace': namespace},
                                               **({'NextToken': token} if token else {})))
        names += [metric['MetricName'] for metric in page['Metrics']]
        token = page.get('NextToken')
        if not token:
            break
    assert sorted(names) == ['M%04d' % index for index in range(1000)]


def test_the_all_in_one_serves_it_with_the_key_it_printed(tmp_path, cbor_models):
    from tests.functional import test_allinone
    chain = test_allinone.AllInOne(tmp_path, '--no-polling')
    try:
        assert chain.wait_for(chain.started)
        line = next(line for line in chain.output() if 'CloudWatch API:' in line)
        url = line.split()[2].rstrip('/')
        access = line.split('access key ')[1].split(',')[0]
        keys = credentials.load_keys_file(chain.data / 'cloudwatch-credentials')
        server = cloudwatch_clients.Server(url, alice=cloudwatch_clients.Key(
            access, keys[access].secret))
        client = cloudwatch_clients.Client('boto3-json', server, cbor_models)
        client.call('PutMetricData', {'Namespace': 'AllInOne', 'MetricData': [
            {'MetricName': 'Started', 'Value': 1.0}]})
        assert client.call('ListMetrics', {'Namespace': 'AllInOne'})['Metrics'] == [
            {'Namespace': 'AllInOne', 'MetricName': 'Started', 'Dimensions': []}]
    finally:
        assert chain.stop() == 0
