"""The pollster and discovery contracts: how a plugin adds a meter to the polling agent.

Pollsters are entry points of ``telewatch.poll.compute``, ``telewatch.poll.central`` or
``telewatch.poll.host``; the entry-point name is the meter name that polling.yaml selects.
Discoveries (where the resources to poll come from) are entry points of
``telewatch.discover``.
"""

import abc


class PermanentPollError(Exception):
    """These resources can never be polled by this pollster (e.g. the hypervisor does not
    support the statistic): the agent stops polling them until they leave discovery."""

    def __init__(self, resources, reason=''):
        super().__init__(reason or 'permanent failure')
        self.resources = list(resources)


class PluginUnavailable(Exception):
    """Raised by a plugin's ``__init__`` when something it needs is missing on this host (an
    optional library, a device): the agent skips it with one info line giving the reason."""


class PollContext:
    """What one polling cycle shares: ``cache`` (a dict the pollsters of the cycle share, so
    that one libvirt call can serve several meters) and ``conf``."""

    def __init__(self, conf):
        self.conf = conf
        self.cache = {}


def resource_key(resource):
    """A stable text identity of a resource, for de-duplication and the blacklist."""
    identity = getattr(resource, 'id', None)
    return str(identity if identity is not None else resource)


class Pollster(abc.ABC):
    """Base class of every pollster.

    Lifecycle: the agent builds each selected pollster once at start-up as
    ``Pollster(conf, name)`` (``name`` is the entry-point name, i.e. the meter), then once
    per cycle calls ``get_samples(context, resources)`` with the resources of every source
    that selects it (static ``resources`` and ``discovery`` of the source, else
    ``default_discovery``), each resource once per cycle. ``get_samples`` returns or yields
    ``telewatch.sample.Sample`` objects. Raise PermanentPollError for resources that will
    never work; any other exception is logged with the pollster's name and the cycle goes on
    for the other pollsters. Raise PluginUnavailable from ``__init__`` when this host
    cannot run the pollster at all.
    """

    #: The entry-point name of the discovery that gives this pollster its resources when
    #: the source names none, or None.
    default_discovery = None

    def __init__(self, conf, name):
        self.conf = conf
        self.name = name

    @abc.abstractmethod
    def get_samples(self, context, resources):
        """The samples of ``resources`` (a list or a generator)."""


class Discovery(abc.ABC):
    """Base class of every discovery (entry-point group ``telewatch.discover``).

    Built once as ``Discovery(conf)``; ``discover(context, param)`` returns the list of
    resources for one cycle (``param`` is what follows the name in polling.yaml's
    ``name:param`` or ``name://param``, or None). Results are cached per cycle.
    """

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def discover(self, context, param=None):
        """The resources found for this cycle."""
