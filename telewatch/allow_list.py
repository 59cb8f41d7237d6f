"""Where an operator lets user-chosen targets send: HOST:PORT patterns (the subscriptions'
``[pubsub] allowed_targets``, the alarms' ``[alarms] allowed_targets``). Pure: no I/O."""

import fnmatch
import ipaddress


class AllowList:
    """``HOST:PORT`` patterns, HOST with shell wildcards (``10.0.0.*``, ``*.example.org``,
    ``[::1]``), PORT a number, a range ``LOW-HIGH`` or ``*``. ValueError names a malformed
    pattern."""

    def __init__(self, patterns):
        self.patterns = tuple(patterns)
        self._rules = [_allow_rule(pattern) for pattern in self.patterns]

    def allows(self, host, port):
        host = host.lower()
        return any(fnmatch.fnmatchcase(host, host_pattern) and low <= port <= high
                   for host_pattern, low, high in self._rules)

    def describe(self):
        """The patterns, for an error message ('none' when empty)."""
        return ', '.join(self.patterns) or 'none'


def _allow_rule(pattern):
    host, sep, ports = pattern.strip().rpartition(':')
    if not sep or not host:
        raise ValueError('%r is not HOST:PORT (PORT a number, LOW-HIGH or *)' % pattern)
    host = host[1:-1] if host.startswith('[') and host.endswith(']') else host
    if ports == '*':
        return host.lower(), 0, 65535
    low, _, high = ports.partition('-')
    try:
        low, high = int(low), int(high or low)
    except ValueError:
        raise ValueError('%r: port %r is not a number, LOW-HIGH or *' % (pattern, ports)) \
            from None
    return host.lower(), low, high


def is_link_local(address):
    """Whether ``address`` (an ipaddress address) is link-local: 169.254.0.0/16, where
    clouds serve instance metadata (169.254.169.254), or fe80::/10, also when written as an
    IPv4-mapped IPv6 address."""
    mapped = getattr(address, 'ipv4_mapped', None)
    return address.is_link_local or (mapped is not None and mapped.is_link_local)


def parse_address(host):
    """The ipaddress address ``host`` is (brackets and a zone allowed), or None for a name."""
    host = host[1:-1] if host.startswith('[') and host.endswith(']') else host
    try:
        return ipaddress.ip_address(host.split('%', 1)[0])
    except ValueError:
        return None
