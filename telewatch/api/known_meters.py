"""The meter names the API checks a subscription's patterns against, to warn about one that
matches nothing yet: what the installed pollsters provide, what the notification agent's
meter definitions give and what the archive holds metrics of, cached for a few seconds."""

import logging
import time

from telewatch import config_file
from telewatch.notification import meter_definitions
from telewatch.polling import loader

LOG = logging.getLogger(__name__)
CACHE_SECONDS = 30.0


def definition_names(conf):
    """``(names, problem)``: the meter names of ``[notification] meters_cfg_file`` but
    those read from each notification (a JSONPath: not known in advance), and None. Only a
    warning is at stake: a missing or invalid file gives no names and what is wrong with it
    (the notification agent refuses such a file itself)."""
    filename = conf.notification.meters_cfg_file
    try:
        definitions = meter_definitions.load_definitions(config_file.find_file(conf, filename))
    except config_file.ConfigErrors as exc:
        return set(), 'meter definitions %s left out of the known meters: %s' % (filename, exc)
    return {d.name for d in definitions.definitions if not d.name.startswith('$')}, None


class KnownMeters:
    """``names()``: every meter name known now, looked up again after ``CACHE_SECONDS``
    (each API worker keeps its own)."""

    def __init__(self, conf, index, clock=time.monotonic):
        self.conf = conf
        self.index = index
        self._clock = clock
        self._pollster_names = None
        self._names = frozenset()
        self._expires = None
        self._problem = None

    def names(self):
        now = self._clock()
        if self._expires is None or now >= self._expires:
            if self._pollster_names is None:  # installed with telewatch: fixed until restart
                self._pollster_names = loader.provided_meters()
            defined, problem = definition_names(self.conf)
            if problem is not None and problem != self._problem:
                LOG.warning('%s', problem)
            self._problem = problem
            self._names = frozenset(
                self._pollster_names | defined | self.index.metric_names())
            self._expires = now + CACHE_SECONDS
        return self._names
