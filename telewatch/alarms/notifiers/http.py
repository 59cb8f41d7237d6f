"""http, https, trust+http, trust+https: POST Aodh's notification body to a webhook; the
trust+ ones with a token of the alarm's Keystone trust (what Heat's signal URLs need)."""

import json
import logging
import threading
import urllib.parse

import requests

from telewatch import delivery
from telewatch.alarms import actions
from telewatch.alarms import keystone
from telewatch.alarms.notifiers import base

LOG = logging.getLogger(__name__)
PORTS = {'http': 80, 'https': 443}
SSL_VERIFY_OPTION = 'aodh-alarm-ssl-verify'
# Statuses that say "not now" rather than "never".
_RETRYABLE_STATUSES = frozenset((408, 425, 429))


class StatusError(delivery.SendError):
    """The webhook answered ``status``, not 2xx."""

    def __init__(self, message, status):
        super().__init__(message, permanent=not (status in _RETRYABLE_STATUSES
                                                 or status >= 500))
        self.status = status


class HttpNotifier(base.Notifier):
    """POSTs ``Notification.body()`` as JSON with ``x-openstack-request-id``.

    URL: ``http[s]://HOST[:PORT]/PATH[?QUERY]``, posted to as it is (as Aodh). For https,
    ``?aodh-alarm-ssl-verify=0`` turns off the certificate check that ``[alarms]
    notifier_ssl_verify`` (with ``notifier_ca_bundle``) asks for; ``notifier_certificate_file``
    and ``notifier_certificate_key`` are the client certificate. Redirects are not followed
    (one could lead past the allow-list). 2xx is delivered; connection errors, timeouts,
    408, 425, 429 and 5xx may pass later; any other status is a permanent failure.
    """

    @classmethod
    def validate(cls, parts):
        if parts.scheme.endswith('https'):
            verify = urllib.parse.parse_qs(parts.query).get(SSL_VERIFY_OPTION, ['1'])[-1]
            if verify not in ('0', '1'):
                raise ValueError('%s is 0 or 1, not %r' % (SSL_VERIFY_OPTION, verify))

    @classmethod
    def destinations(cls, parts):
        scheme = parts.scheme.rpartition('+')[2]
        return [base.host_port(parts.netloc, PORTS[scheme])]

    def __init__(self, conf, shared):
        super().__init__(conf, shared)
        self._local = threading.local()

    def _session(self):
        # A session per worker thread: requests' sessions are not meant to be shared.
        session = getattr(self._local, 'session', None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def notify(self, action, notification):
        self.post(urllib.parse.urlsplit(action), notification, {})

    def post(self, parts, notification, headers):
        """POST the body to ``parts`` (a plain http(s) URL) with ``headers`` added."""
        self.validate(parts)
        self.check_destinations(parts)
        headers = dict(headers, **{'Content-Type': 'application/json',
                                   'x-openstack-request-id': notification.request_id})
        url = parts.geturl()
        try:
            response = self._session().post(
                url, data=json.dumps(notification.body()), headers=headers,
                timeout=self.conf.alarms.notifier_timeout, allow_redirects=False,
                **self._tls(parts))
        except requests.RequestException as exc:
            raise delivery.SendError('POST %s: %s' % (actions.scrub(url), exc)) from exc
        status = response.status_code
        LOG.debug('alarm %s: POST %s answered %d (request %s)',
                  notification.alarm.get('alarm_id'), url, status, notification.request_id)
        if not 200 <= status < 300:
            raise StatusError('POST %s answered %d %s'
                              % (actions.scrub(url), status, response.reason), status)

    def _tls(self, parts):
        if parts.scheme != 'https':
            return {}
        options = self.conf.alarms
        verify = options.notifier_ssl_verify and urllib.parse.parse_qs(parts.query).get(
            SSL_VERIFY_OPTION, ['1'])[-1] != '0'
        if verify and options.notifier_ca_bundle:
            verify = options.notifier_ca_bundle
        tls = {'verify': verify}
        if options.notifier_certificate_file:
            tls['cert'] = ((options.notifier_certificate_file,
                            options.notifier_certificate_key)
                           if options.notifier_certificate_key
                           else options.notifier_certificate_file)
        return tls


class TrustHttpNotifier(HttpNotifier):
    """``trust+http[s]://TRUST_ID:delete@HOST[:PORT]/PATH``: as http(s), with the
    X-Auth-Token of the alarm service user scoped to the trust (``telewatch.alarms.
    actions`` embeds the trust when the alarm is created). A trust Keystone refuses is a
    permanent failure; Keystone unreachable may pass later. A 401 from the webhook drops
    the token (it may have been revoked) and may pass with a new one."""

    def notify(self, action, notification):
        parts = urllib.parse.urlsplit(action)
        trust_id = parts.username
        if not trust_id:
            raise delivery.SendError('%s carries no trust' % actions.scrub(action),
                                     permanent=True)
        try:
            headers = self.shared.trusts.auth_headers(trust_id)
        except keystone.TrustError as exc:
            raise delivery.SendError(str(exc), permanent=not exc.retryable) from exc
        plain = parts._replace(scheme=parts.scheme[len(actions.TRUST_PREFIX):],
                               netloc=parts.netloc.rsplit('@', 1)[-1])
        try:
            self.post(plain, notification, headers)
        except StatusError as exc:
            if exc.status != 401:
                raise
            self.shared.trusts.forget(trust_id)
            raise delivery.SendError('%s (the token is dropped; a new one is asked for)'
                                     % exc) from exc
