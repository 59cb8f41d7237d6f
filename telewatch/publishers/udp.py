"""udp: send each sample as one signed msgpack datagram, exactly as Ceilometer's UDP publisher.

Ceilometer's UDP collectors (and telewatch's own) receive and verify what this sends.
"""

import errno
import socket

import msgpack

from telewatch import sample as sample_mod
from telewatch.publishers import base

DEFAULT_PORT = 4952


class UdpPublisher(base.Publisher):
    """Sends one msgpack datagram per sample in Ceilometer's meter-message form.

    URL: ``udp://HOST[:PORT]`` (PORT defaults to 4952, as in Ceilometer; an IPv6 address is
    written in brackets: ``udp://[::1]:4952``). No options.

    The payload is ``sample.to_ceilometer_dict()`` plus ``message_signature``, Ceilometer's
    signature keyed with ``[publisher] telemetry_secret``; with an empty secret the signature
    is ``''``, as Ceilometer sends it. HOST is resolved once, at ``start()``.
    """

    EXAMPLE_URL = 'udp://127.0.0.1:4952'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self.host = url.parts.hostname
        if not self.host:
            raise ValueError('%s: no host; write udp://host:port' % url.text)
        try:
            self.port = url.parts.port or DEFAULT_PORT
        except ValueError as exc:
            raise ValueError('%s: bad port: %s' % (url.text, exc)) from None
        self._socket = None
        self._address = None

    def start(self):
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_DGRAM)[0]
            self._socket = socket.socket(family, kind, proto)
        except OSError as exc:
            raise base.PermanentPublishError(
                'cannot open a UDP socket to %s port %d: %s' % (self.host, self.port, exc)
            ) from exc
        self._address = address

    def publish(self, samples):
        if self._socket is None:
            self.start()
        secret = self.conf.publisher.telemetry_secret
        datagrams, failures = base.encode_each(samples, lambda sample: _encode(sample, secret))
        for sent, datagram in enumerate(datagrams):
            try:
                self._socket.sendto(datagram, self._address)
            except OSError as exc:
                self._raise_send_error(exc, sent, datagrams)
        base.raise_unencodable(failures, len(samples), 'msgpack')

    def _raise_send_error(self, exc, sent, datagrams):
        message = 'cannot send to %s port %d (%d of %d samples sent): %s' % (
            self.host, self.port, sent, len(datagrams), exc)
        if exc.errno == errno.EMSGSIZE:
            # This sample will never fit in a datagram: retrying cannot help.
            raise base.PermanentPublishError(message, samples=len(datagrams) - sent) from exc
        raise base.RetryablePublishError(message, samples=len(datagrams) - sent) from exc

    def stop(self):
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()


def meter_message(sample, secret):
    """The signed meter message of Ceilometer for ``sample`` (a dict)."""
    meter = sample.to_ceilometer_dict()
    meter[sample_mod.CEILOMETER_SIGNATURE_KEY] = (
        sample_mod.ceilometer_signature(meter, secret) if secret else '')
    return meter


def _encode(sample, secret):
    return msgpack.packb(meter_message(sample, secret), use_bin_type=True)
