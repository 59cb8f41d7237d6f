"""Run by the botocore of tools/services/cloudwatch-clients' own virtualenv (1.42.6: query):
one call read as JSON on stdin, its result or error as JSON on stdout.

stdin: {"endpoint", "access", "secret", "operation", "params"}; timestamps are
{"$date": ISO 8601} both ways.
"""

import datetime
import json
import sys

import botocore
import botocore.config
import botocore.session


def revive(value):
    if isinstance(value, dict):
        if set(value) == {'$date'}:
            return datetime.datetime.fromisoformat(value['$date'])
        return {key: revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revive(item) for item in value]
    return value


def default(value):
    if isinstance(value, datetime.datetime):
        return {'$date': value.isoformat()}
    if isinstance(value, bytes):
        return {'$bytes': value.decode('latin-1')}
    raise TypeError(value)


def main():
    call = json.load(sys.stdin)
    session = botocore.session.get_session()
    client = session.create_client(
        'cloudwatch', endpoint_url=call['endpoint'], region_name='RegionOne',
        aws_access_key_id=call['access'], aws_secret_access_key=call['secret'],
        config=botocore.config.Config(retries={'max_attempts': 1},
                                      parameter_validation=call.get('validate', True)))
    method = getattr(client, botocore.xform_name(call['operation']))
    try:
        result = method(**revive(call['params']))
    except client.exceptions.ClientError as exc:
        error = exc.response['Error']
        result = {'__error__': {'code': error['Code'], 'message': error.get('Message', ''),
                                'status': exc.response['ResponseMetadata'].get(
                                    'HTTPStatusCode')}}
    result.pop('ResponseMetadata', None)
    result['__protocol__'] = client.meta.service_model.protocol
    result['__botocore__'] = botocore.__version__
    json.dump(result, sys.stdout, default=default)


if __name__ == '__main__':
    main()
