"""What the publisher tests share: a configuration, a sample and its JSON line."""

import pytest
from oslo_config import cfg

from telewatch import opts
from telewatch import sample as sample_mod
from telewatch.publishers import base

SAMPLE_JSON = (
    '{"name":"cpu","type":"gauge","unit":"ns","volume":1.5,"user_id":"u","project_id":"p",'
    '"resource_id":"vm-1","timestamp":"2024-01-01T00:00:00+00:00",'
    '"resource_metadata":{"flavor":"m1"},"source":"openstack",'
    '"id":"00000000-0000-4000-8000-000000000001","monotonic_time":null}')


def make_conf(secret=''):
    conf = cfg.ConfigOpts()
    opts.register_common_opts(conf)
    conf([])
    conf.set_override('telemetry_secret', secret, group='publisher')
    return conf


def make_publisher(factory, url, secret=''):
    return factory(base.PublisherURL(url), make_conf(secret))


def refusal(factory, url):
    """The message of the ValueError with which ``factory`` refuses ``url``."""
    with pytest.raises(ValueError) as raised:
        make_publisher(factory, url)
    return str(raised.value)


def make_sample(**overrides):
    """The sample whose JSON is SAMPLE_JSON, with any field overridden."""
    fields = dict(name='cpu', type='gauge', unit='ns', volume=1.5, resource_id='vm-1',
                  timestamp='2024-01-01T00:00:00Z', user_id='u', project_id='p',
                  resource_metadata={'flavor': 'm1'},
                  id='00000000-0000-4000-8000-000000000001')
    fields.update(overrides)
    return sample_mod.Sample.create(**fields)
