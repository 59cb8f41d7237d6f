"""example.uptime: how long the host the polling agent runs on has been up, in seconds.

A central pollster (entry-point group ``telewatch.poll.central``) with no discovery of its
own: the resources come from the ``resources`` of the polling.yaml source that selects it.
"""

import socket
import time

from telewatch import sample
from telewatch.pollsters import base

UPTIME_FILE = '/proc/uptime'
#: The names a polling.yaml resource may give this host, besides its own host name.
LOCAL_NAMES = frozenset(['localhost'])


def read_uptime(path=None):
    """Seconds since boot: the first number of /proc/uptime.

    Where there is no /proc (not Linux), time.monotonic(), which counts from boot on
    Linux, macOS and Windows, except the time spent asleep.
    """
    try:
        with open(path or UPTIME_FILE, encoding='ascii') as stream:
            text = stream.read()
    except FileNotFoundError:
        return time.monotonic()
    return float(text.split()[0])


class UptimePollster(base.Pollster):
    """``example.uptime`` (gauge, s) of this host, whose resource id is its host name.

    Lifecycle (see telewatch.pollsters.base.Pollster): built once as
    ``UptimePollster(conf, 'example.uptime')``, then ``get_samples`` once per cycle with
    the source's ``resources``. A resource must name this host (``localhost`` or its host
    name); any other can never be measured from here, so PermanentPollError tells the agent
    to stop polling it, after this host's sample is yielded.
    """

    # None: the agent polls only what the source lists under ``resources:`` (a source with
    # neither resources nor discovery polls nothing with this pollster).
    default_discovery = None

    def get_samples(self, context, resources):
        host = socket.gethostname()
        foreign = [r for r in resources if base.resource_key(r) not in LOCAL_NAMES | {host}]
        if len(foreign) < len(resources):
            yield sample.Sample.create(
                name=self.name, type=sample.TYPE_GAUGE, unit='s', volume=read_uptime(),
                resource_id=host, resource_metadata={'host': host})
        if foreign:
            raise base.PermanentPollError(
                foreign, '%s measures only the host it runs on (%s)'
                % (self.name, ', '.join(sorted(LOCAL_NAMES | {host}))))
