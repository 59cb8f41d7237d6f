"""http, https: POST samples in telewatch's JSON wire form to a web service.

Unlike Ceilometer's, an HTTP error reaches the sink as a retryable or permanent error.
"""

import os
import urllib.parse

import requests
import requests.adapters
import voluptuous as vol

from telewatch.publishers import base

_HEADERS = {'Content-Type': 'application/json'}
# Statuses that say "not now" rather than "never": the same request may succeed later.
_RETRYABLE_STATUSES = frozenset((408, 429))
_PATH = vol.All(str, vol.Length(min=1))


class HttpPublisher(base.Publisher):
    """POSTs ``sample.to_dict()`` as JSON (``Content-Type: application/json``), unsigned.

    URL: ``http[s]://[USER:PASSWORD@]HOST[:PORT]/PATH?timeout=5&max_retries=2&batch=true
    &verify_ssl=true&clientcert=&clientkey=``. The options are removed from the URL posted
    to; USER and PASSWORD (percent-encoded) become HTTP basic authentication.

    Options:
      ``timeout`` (seconds > 0, default 5): connect and read timeout of each POST.
      ``max_retries`` (int >= 0, default 2): retries of a failed connection, within one POST.
      ``batch`` (bool, default true): one POST of a JSON list of the samples of each publish
      call; false: one POST of one JSON object per sample.
      ``verify_ssl`` (default true): true, false, or the path of a CA bundle to verify with.
      ``clientcert``, ``clientkey``: client certificate (PEM) and its key, if it is not in
      the certificate file; ``clientkey`` needs ``clientcert``.

    A 2xx status is success. 408, 429, 5xx, connection errors and timeouts raise
    RetryablePublishError; any other status (redirects are not followed, since they would
    turn the POST into a GET) raises PermanentPublishError.
    """

    OPTIONS = {
        vol.Optional('timeout', default=5.0): vol.All(
            vol.Coerce(float), vol.Range(min=0, min_included=False)),
        vol.Optional('max_retries', default=2): vol.All(vol.Coerce(int), vol.Range(min=0)),
        vol.Optional('batch', default=True): base.Boolean,
        vol.Optional('verify_ssl', default=True): vol.Any(
            base.Boolean, _PATH, msg='expected true, false or the path of a CA bundle'),
        vol.Optional('clientcert'): _PATH,
        vol.Optional('clientkey'): _PATH,
    }
    EXAMPLE_URL = 'http://127.0.0.1:8000/samples'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        parts = url.parts
        # Error messages leave the URL out: it may hold a password.
        if not parts.hostname:
            raise ValueError('the URL has no host; write %s://host[:port]/path' % url.scheme)
        if 'clientkey' in self.options and 'clientcert' not in self.options:
            raise ValueError('option clientkey: needs the option clientcert')
        # Neither the options nor the credentials belong in the URL posted to (or logged).
        try:
            netloc = _netloc_without_credentials(parts)
        except ValueError as exc:
            raise ValueError('the URL has a bad port: %s' % exc) from None
        self.target = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, '', ''))
        self.auth = None
        if parts.username is not None:
            self.auth = (urllib.parse.unquote(parts.username),
                         urllib.parse.unquote(parts.password or ''))
        self._session = None

    def start(self):
        self._check_files()
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(max_retries=self.options['max_retries'])
        session.mount('http://', adapter)
        session.mount('https://', adapter)
        session.verify = self.options['verify_ssl']
        session.auth = self.auth
        if 'clientcert' in self.options:
            session.cert = (self.options['clientcert'], self.options['clientkey']) \
                if 'clientkey' in self.options else self.options['clientcert']
        self._session = session

    def _check_files(self):
        # requests would only find a missing file at the first POST, as a vague OSError.
        for option in ('verify_ssl', 'clientcert', 'clientkey'):
            path = self.options.get(option)
            if isinstance(path, str) and not os.path.isfile(path):
                raise base.PermanentPublishError(
                    'option %s: no such file %s' % (option, path))

    def publish(self, samples):
        if self._session is None:
            self.start()
        bodies, failures = base.encode_each(samples, base.to_json)
        if not self.options['batch']:
            for posted, body in enumerate(bodies):
                self._post(body, len(bodies) - posted)
        elif bodies:
            self._post('[%s]' % ','.join(bodies), len(bodies))
        base.raise_unencodable(failures, len(samples), 'JSON')

    def _post(self, body, count):
        """POST one JSON document holding ``count`` samples; raise a PublishError if refused."""
        try:
            response = self._session.post(
                self.target, data=body.encode('utf-8'), headers=_HEADERS,
                timeout=self.options['timeout'], allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as exc:
            raise base.RetryablePublishError(
                'cannot POST to %s: %s' % (self.target, exc), samples=count) from exc
        except (requests.RequestException, OSError) as exc:
            raise base.PermanentPublishError(
                'cannot POST to %s: %s' % (self.target, exc), samples=count) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status in _RETRYABLE_STATUSES or status >= 500
        error = base.RetryablePublishError if retryable else base.PermanentPublishError
        raise error('%s answered %d %s: %s' % (self.target, status, response.reason,
                                               response.text[:200]), samples=count)

    def stop(self):
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, self.target)


def _netloc_without_credentials(parts):
    host = '[%s]' % parts.hostname if ':' in parts.hostname else parts.hostname
    port = parts.port  # ValueError on a port that is not a number up to 65535
    return host if port is None else '%s:%d' % (host, port)
