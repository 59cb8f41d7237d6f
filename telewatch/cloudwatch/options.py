"""The ``[cloudwatch]`` options of telewatch-cloudwatch: where it listens, how it
authenticates (Keystone EC2 credentials or an access keys file) and its limits.

keystoneauth1's session and auth options (the user that reads EC2 credentials) are in the
same group.
"""

from oslo_config import cfg

from telewatch import keystoneauth_options

GROUP = 'cloudwatch'

OPTS = [
    cfg.HostAddressOpt('host', default='0.0.0.0',
                       help='Address telewatch-cloudwatch listens on.'),
    cfg.PortOpt('port', default=8043, help='Port telewatch-cloudwatch listens on.'),
    cfg.IntOpt('workers', default=1, min=1,
               help='Number of gunicorn worker processes of telewatch-cloudwatch.'),
    cfg.StrOpt('auth_strategy', default='keystone', choices=[
        ('keystone', 'SigV4 verified with Keystone EC2 credentials, read with the user of '
                     'the keystoneauth options of this group (it needs the right to read '
                     'other users\' credentials: the reader role on the system)'),
        ('keys_file', 'SigV4 verified with the access keys of keys_file (the all-in-one)')],
        help='Where the secrets of the access keys come from.'),
    cfg.StrOpt('keys_file', default='',
               help='With auth_strategy = keys_file: an INI file, a section per access key '
                    'with aws_access_key_id, aws_secret_access_key, project_id and user_id '
                    '(the format of ~/.aws/credentials, so that AWS_SHARED_CREDENTIALS_FILE '
                    'can name it). Empty: cloudwatch-credentials in data_dir.'),
    cfg.IntOpt('credential_cache_ttl', default=60, min=0,
               help='Seconds a secret read from Keystone is used before it is read again: '
                    'a revoked EC2 credential stops working within this time. 0: read '
                    'Keystone on every request.'),
    cfg.IntOpt('unknown_key_cache_ttl', default=5, min=0,
               help='Seconds an access key Keystone does not know is answered as unknown '
                    'without asking Keystone again (a flood of bad keys costs Keystone one '
                    'request per key per this time).'),
    cfg.IntOpt('max_clock_skew', default=900, min=1,
               help='Seconds a signed request\'s time may differ from the server\'s (AWS: '
                    '15 minutes).'),
    cfg.StrOpt('region', default='RegionOne',
               help='The region this API names in ARNs. Requests signed for any region are '
                    'accepted (clients need one to sign, and a private cloud has its own '
                    'names).'),
    cfg.IntOpt('max_request_size', default=1024 * 1024, min=1,
               help='Largest request body in bytes, as sent (AWS: 1 MB).'),
    cfg.IntOpt('max_decompressed_size', default=16 * 1024 * 1024, min=1,
               help='Largest request body in bytes once a gzip Content-Encoding is undone.'),
]


def register_opts(conf):
    keystoneauth_options.register(conf, GROUP, OPTS)


def list_opts():
    return keystoneauth_options.list_opts(GROUP, OPTS)


def list_auth_opts():
    return keystoneauth_options.list_auth_opts(GROUP)
