"""Alarm actions, the URLs an alarm calls when its state changes: checked when an alarm is
created or changed (a notifier for the scheme, an allowed destination, a Keystone trust for
``trust+`` URLs), their trusts released when unused, and scrubbed of credentials to be shown.

The destinations (``[alarms] allowed_targets``): by default anything but the link-local range
(169.254.0.0/16, where clouds serve instance metadata, and fe80::/10) and the API's own listen
address; a list of HOST:PORT patterns replaces that default. Names are resolved: a name is
allowed when the list names it, or when every address it resolves to is allowed. The
notifiers check again at send time (``Destinations.check``), since DNS may have changed.
"""

import ipaddress
import socket
import urllib.parse

from oslo_config import cfg
import stevedore

from telewatch import allow_list
from telewatch.alarms import keystone

NAMESPACE = 'telewatch.alarm.notifier'
GROUP = 'alarms'
OPTS = [
    cfg.ListOpt('allowed_targets',
                help='Where alarm actions may send: HOST:PORT patterns, HOST with shell '
                     'wildcards (10.0.0.*, *.example.org, [fd00::*]), PORT a number, LOW-HIGH '
                     'or *; a name is allowed when a pattern matches it or every address it '
                     'resolves to. Unset: every destination but the link-local range '
                     '(169.254.0.0/16 with the metadata service, fe80::/10) and the API\'s '
                     'own [api] host:port. An empty value allows none.'),
]
TRUST_PREFIX = 'trust+'
# Actions only an admin may set (as Aodh: they write into the service's own log).
ADMIN_SCHEMES = frozenset(('log',))


class InvalidAction(ValueError):
    """The action ``url`` is refused for ``reason`` (Aodh's message in ``str``); ``status``
    is the HTTP status the API answers (400, or 401 for an action the caller may not set
    as Aodh answers it)."""

    def __init__(self, url, reason, status=400):
        super().__init__(reason)
        self.url = url
        self.reason = reason
        self.status = status


def register_opts(conf):
    conf.register_opts(OPTS, group=GROUP)


def notifier_classes():
    """{scheme: notifier class} of the entry points ``telewatch.alarm.notifier`` (one that
    cannot be imported is logged by stevedore and left out)."""
    return {ext.name: ext.plugin for ext in stevedore.ExtensionManager(NAMESPACE)}


def scrub(url):
    """``url`` without the credentials a ``trust+`` action carries (``TRUST_ID:delete@``)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme.startswith(TRUST_PREFIX) or '@' not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit('@', 1)[-1]).geturl()


def trust_of(url):
    """The id of the trust a ``trust+`` action carries with ``:delete`` (ours to delete),
    or None."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.startswith(TRUST_PREFIX) and parts.password == 'delete':
        return parts.username or None
    return None


class Refused(Exception):
    """A destination is not allowed (``unresolved``: its name did not resolve)."""

    def __init__(self, reason, unresolved=False):
        super().__init__(reason)
        self.unresolved = unresolved


class Destinations:
    """The allow-list of alarm actions (``check``). ``patterns`` None is the default
    policy (see the module)."""

    def __init__(self, patterns=None, api_address=('127.0.0.1', 8041),
                 resolve=socket.getaddrinfo):
        self.allow = None if patterns is None else allow_list.AllowList(patterns)
        self._api_host, self._api_port = api_address
        self._resolve = resolve

    @classmethod
    def from_conf(cls, conf):
        register_opts(conf)
        try:
            api_address = (conf.api.host, conf.api.port)
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
            api_address = ('127.0.0.1', 8041)
        return cls(conf[GROUP].allowed_targets, api_address)

    def addresses(self, host, port):
        """The addresses ``host`` resolves to; OSError when it does not."""
        address = allow_list.parse_address(host)
        if address is not None:
            return [address]
        infos = self._resolve(host, port, proto=socket.IPPROTO_TCP)
        return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split('%', 1)[0])
                                  for info in infos))

    def check(self, host, port, unresolved_ok=False):
        """Raise Refused unless ``host:port`` is allowed. A name that does not resolve is
        refused (``unresolved``) unless ``unresolved_ok`` (at creation: it may exist by
        the time the alarm fires)."""
        if self.allow is not None and self.allow.allows(host, port):
            return
        try:
            addresses = self.addresses(host, port)
        except (OSError, UnicodeError) as exc:
            if unresolved_ok and self.allow is None:
                return
            raise Refused('%s does not resolve (%s)' % (host, exc), unresolved=True) \
                from None
        for address in addresses:
            reason = self._address_refusal(address, port)
            if reason:
                raise Refused('%s:%d is not an allowed destination (%s)'
                              % (host, port, reason))

    def _address_refusal(self, address, port):
        if self.allow is not None:
            if self.allow.allows(str(address), port):
                return None
            return 'allowed: %s' % self.allow.describe()
        if allow_list.is_link_local(address):
            return '%s is link-local, where the metadata service is' % address
        if port == self._api_port and self._is_api_host(address):
            return '%s:%d is the API itself' % (address, port)
        return None

    def _is_api_host(self, address):
        api = allow_list.parse_address(self._api_host)
        if api is not None and not api.is_unspecified:
            return address == api
        if api is None:  # a name: the addresses it has
            try:
                return address in self.addresses(self._api_host, self._api_port)
            except (OSError, UnicodeError):
                return False
        return is_local(address)


def is_local(address):
    """Whether ``address`` is one of this host's (loopback, unspecified, or bindable)."""
    if address.is_loopback or address.is_unspecified:
        return True
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((str(address), 0))
        except OSError:
            return False
    return True


class Actions:
    """Checks the actions of alarms for the API, and manages their trusts."""

    def __init__(self, conf, trusts=None, destinations=None):
        register_opts(conf)
        self._conf = conf
        self.destinations = destinations or Destinations.from_conf(conf)
        self.notifiers = notifier_classes()
        self._trusts = trusts

    @property
    def trusts(self):
        if self._trusts is None:
            self._trusts = keystone.Trusts(self._conf)
        return self._trusts

    def check(self, urls, context, existing=(), field='actions'):
        """``urls`` (of one state of an alarm) as they are stored: each checked,
        duplicates removed (the first kept), ``trust+`` ones with a trust embedded
        (``trust+http://TRUST_ID:delete@host/...``): the trust of ``existing`` (the URLs of
        the alarm before this change, and those checked for its other states) if any,
        else a new one from ``context``'s caller. ``context``: the API's RequestContext
        (``user_id``, ``project_id``, ``roles``, ``is_admin``) with ``auth_token`` (the
        caller's Keystone token, needed for a new trust); None is a trusted caller.
        Raises InvalidAction; ``field`` names the list in its messages."""
        urls = list(dict.fromkeys(urls))
        max_actions = _max_actions(self._conf)
        if 0 < max_actions < len(urls):
            raise InvalidAction(None, '%s count exceeds maximum value %d'
                                % (field, max_actions))
        parsed = [self._check_one(url, context) for url in urls]
        trust_id = next(filter(None, map(trust_of, existing)), None)
        checked = []
        for url, parts in zip(urls, parsed):
            if parts.scheme.startswith(TRUST_PREFIX):
                if trust_id is None:
                    trust_id = self._new_trust(url, context)
                parts = parts._replace(netloc='%s:delete@%s' % (trust_id, parts.netloc))
                url = parts.geturl()
            checked.append(url)
        return checked

    def _check_one(self, url, context):
        try:
            parts = urllib.parse.urlsplit(url)
        except (ValueError, TypeError, AttributeError):
            raise InvalidAction(url, 'Unable to parse action %s' % url) from None
        notifier = self.notifiers.get(parts.scheme)
        if notifier is None:
            raise InvalidAction(url, 'Unsupported action %s' % url)
        try:
            notifier.validate(parts)
            servers = notifier.destinations(parts)
        except ValueError as exc:
            raise InvalidAction(url, 'Invalid action %s: %s' % (url, exc)) from None
        if parts.scheme in ADMIN_SCHEMES and context is not None and not context.is_admin:
            raise InvalidAction(url, 'You are not authorized to create action: %s' % url,
                                status=401)
        if parts.scheme.startswith(TRUST_PREFIX) and '@' in parts.netloc:
            raise InvalidAction(url, 'trust URL cannot contain a trust ID.')
        for host, port in servers:
            try:
                self.destinations.check(host, port, unresolved_ok=True)
            except Refused as exc:
                raise InvalidAction(url, 'Action %s is refused: %s' % (url, exc)) from None
        return parts

    def _new_trust(self, url, context):
        token = getattr(context, 'auth_token', None)
        if context is None or not token:
            raise InvalidAction(url, 'Action %s needs a Keystone trust, and the caller did '
                                     'not authenticate with a Keystone token' % url)
        try:
            return self.trusts.create(token, context.user_id, context.project_id,
                                      context.roles)
        except keystone.TrustError as exc:
            raise InvalidAction(url, 'Action %s: %s' % (url, exc),
                                status=503 if exc.retryable else 400) from exc

    def release(self, urls, keep=(), context=None):
        """Delete the trusts of ``urls`` (actions gone: the alarm deleted, actions
        replaced) that no URL of ``keep`` still carries; as ``context``'s caller when it
        has ``auth_token``, else as the service user. Raises keystone.TrustError."""
        kept = set(filter(None, map(trust_of, keep)))
        token = getattr(context, 'auth_token', None)
        project_id = getattr(context, 'project_id', None)
        for trust_id in dict.fromkeys(filter(None, map(trust_of, urls))):
            if trust_id not in kept:
                self.trusts.delete(trust_id, token, project_id)

    scrub = staticmethod(scrub)


def _max_actions(conf):
    """``[alarms] alarm_max_actions`` (the API's option) when registered; else no limit."""
    try:
        return conf[GROUP].alarm_max_actions or -1
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return -1
