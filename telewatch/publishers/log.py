"""log: write each sample as one line on the logger ``telewatch.publishers.log``.

For watching what a pipeline emits while writing or debugging it.
"""

import json
import logging

import voluptuous as vol

from telewatch.publishers import base

LOG = logging.getLogger(__name__)
LEVELS = {'debug': logging.DEBUG, 'info': logging.INFO, 'warning': logging.WARNING}


class LogPublisher(base.Publisher):
    """Logs ``sample <name> <volume> <unit> resource=<resource_id> <JSON of to_dict()>``.

    URL: ``log://?level=info`` (a bare ``log`` works too). Option ``level``: ``debug``,
    ``info`` (the default) or ``warning``. The logging configuration decides where the
    lines go; at a level it filters out, nothing is written.

    So that a debugging aid never drops a sample, a value JSON cannot hold is written as
    its Python ``repr`` (a string) and infinity as ``Infinity``.
    """

    OPTIONS = {
        vol.Optional('level', default='info'): vol.All(
            str, vol.Lower, vol.In(LEVELS, msg='expected debug, info or warning')),
    }
    EXAMPLE_URL = 'log://'

    def __init__(self, url, conf):
        super().__init__(url, conf)
        self.level = LEVELS[self.options['level']]

    def publish(self, samples):
        if not LOG.isEnabledFor(self.level):
            return
        for sample in samples:
            LOG.log(self.level, 'sample %s %s %s resource=%s %s', sample.name, sample.volume,
                    sample.unit, sample.resource_id,
                    json.dumps(sample.to_dict(), separators=(',', ':'), default=repr))
