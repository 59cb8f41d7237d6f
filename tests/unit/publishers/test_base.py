"""Tests of the publisher contract: URL parsing and the errors of query options."""

import pytest
import voluptuous as vol
from oslo_config import cfg

from telewatch import opts
from telewatch.publishers import base
from tests.unit.publishers import common


def _conf():
    conf = cfg.ConfigOpts()
    opts.register_common_opts(conf)
    conf([])
    return conf


class _CountingPublisher(base.Publisher):
    OPTIONS = {
        vol.Optional('size', default=3): vol.All(vol.Coerce(int), vol.Range(min=1)),
        vol.Optional('flag', default=False): base.Boolean,
    }

    def publish(self, samples):
        pass


def test_url_parts_and_options():
    url = base.PublisherURL('  http://user:pw@example.org:8080/a/b?size=4&flag=yes#frag ')
    assert url.text == 'http://user:pw@example.org:8080/a/b?size=4&flag=yes#frag'
    assert url.scheme == 'http'
    assert url.parts.hostname == 'example.org'
    assert url.parts.port == 8080
    assert url.parts.path == '/a/b'
    assert url.options == {'size': '4', 'flag': 'yes'}
    assert url.without_options == 'http://user:pw@example.org:8080/a/b'


def test_bare_name_is_a_url_with_only_a_scheme():
    url = base.PublisherURL('log')
    assert url.text == 'log://'
    assert url.scheme == 'log'
    assert url.options == {}


def test_blank_option_value_is_kept():
    assert base.PublisherURL('file:///tmp/x?max_bytes=').options == {'max_bytes': ''}


@pytest.mark.parametrize('text', ['', '   ', None, 42])
def test_empty_url_is_refused(text):
    with pytest.raises(ValueError, match='a publisher is a URL'):
        base.PublisherURL(text)


def test_url_without_scheme_is_refused():
    with pytest.raises(ValueError, match="'://host' has no scheme"):
        base.PublisherURL('://host')


def test_option_given_twice_is_refused():
    with pytest.raises(ValueError, match="option 'size' is given twice"):
        base.PublisherURL('counting://?size=1&size=2')


def test_options_get_defaults_and_coercion():
    publisher = _CountingPublisher(base.PublisherURL('counting://?size=7'), _conf())
    assert publisher.options == {'size': 7, 'flag': False}
    publisher = _CountingPublisher(base.PublisherURL('counting://?flag=ON'), _conf())
    assert publisher.options == {'size': 3, 'flag': True}


def test_unknown_option_is_refused():
    with pytest.raises(ValueError) as raised:
        _CountingPublisher(base.PublisherURL('counting://?colour=red'), _conf())
    assert str(raised.value) == "unknown option 'colour'"


def test_malformed_values_are_all_reported():
    with pytest.raises(ValueError) as raised:
        _CountingPublisher(base.PublisherURL('counting://?size=big&flag=maybe'), _conf())
    assert sorted(str(raised.value).split('; ')) == [
        "option 'flag': expected boolean", "option 'size': expected int"]


def test_value_out_of_range_is_refused():
    with pytest.raises(ValueError) as raised:
        _CountingPublisher(base.PublisherURL('counting://?size=0'), _conf())
    assert str(raised.value) == "option 'size': value must be at least 1"


def test_boolean_spellings():
    assert [base.Boolean(text) for text in ('true', 'Yes', 'on', '1')] == [True] * 4
    assert [base.Boolean(text) for text in ('false', 'NO', 'off', '0')] == [False] * 4
    with pytest.raises(vol.Invalid):
        base.Boolean('maybe')


def test_errors_say_whether_to_retry():
    assert base.RetryablePublishError('x', samples=3).retryable is True
    assert base.RetryablePublishError('x', samples=3).samples == 3
    assert base.PermanentPublishError('x').retryable is False
    assert issubclass(base.PermanentPublishError, base.PublishError)


def test_repr_names_class_and_url_without_options():
    publisher = _CountingPublisher(base.PublisherURL('counting://host/p?size=2'), _conf())
    assert repr(publisher) == '<_CountingPublisher counting://host/p>'


def test_display_form_hides_the_password():
    url = base.PublisherURL('https://user:secret@example.org:8443/in?timeout=3')
    assert url.for_display == 'https://user:***@example.org:8443/in'
    assert base.PublisherURL('log').for_display == 'log://'


@pytest.mark.parametrize('query, delivery', [
    ('', {'policy': 'retry', 'max_queue_length': 10000}),
    ('?policy=queue&max_queue_length=50', {'policy': 'queue', 'max_queue_length': 50}),
])
def test_delivery_options_are_the_frameworks(query, delivery):
    from telewatch.publishers import log
    publisher = log.LogPublisher(base.PublisherURL('log://' + query), common.make_conf())
    assert publisher.delivery == delivery
    assert 'policy' not in publisher.options


def test_bad_delivery_option():
    from telewatch.publishers import log
    with pytest.raises(ValueError) as raised:
        log.LogPublisher(base.PublisherURL('log://?policy=later'), common.make_conf())
    assert str(raised.value) == "option 'policy': expected one of retry, queue, drop"
