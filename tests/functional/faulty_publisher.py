"""A publisher plugin for the fault suite, installed as a real ``telewatch.publisher`` entry
point (``faulty``) by ``install(directory)``: the agent finds it through stevedore as any
third-party plugin, from a directory put on its PYTHONPATH.

``faulty://PATH?hold=FILE&refuse=PREFIX`` writes samples as ``file://PATH`` does, but:
- while FILE exists, a batch holding a sample whose resource id starts with ``hold`` waits
  (logging ``holding``): the agent has the batch in hand, nothing of it acknowledged;
- a batch holding a sample whose resource id starts with PREFIX is refused with a
  RetryablePublishError, each time (a receiver that keeps answering 503 for one sample).
"""

import logging
import os
import pathlib
import time

import voluptuous as vol

from telewatch.publishers import base
from telewatch.publishers import file

LOG = logging.getLogger(__name__)
REPO = pathlib.Path(__file__).resolve().parents[2]


class FaultyPublisher(file.FilePublisher):
    OPTIONS = {**file.FilePublisher.OPTIONS, vol.Optional('hold', default=''): str,
               vol.Optional('refuse', default=''): str}

    def publish(self, samples):
        ids = [s.resource_id for s in samples]
        hold = self.options['hold']
        if hold and any(i.startswith('hold') for i in ids):
            LOG.warning('holding %d samples while %s exists', len(samples), hold)
            while os.path.exists(hold):
                time.sleep(0.05)
        refuse = self.options['refuse']
        if refuse and any(i.startswith(refuse) for i in ids):
            LOG.warning('refusing %d samples (one is %s...)', len(samples), refuse)
            raise base.RetryablePublishError('the receiver refuses %s, again' % refuse)
        super().publish(samples)


def install(directory):
    """Make ``directory`` a place where importlib.metadata finds this plugin's entry point;
    the PYTHONPATH that lets a command load it."""
    info = pathlib.Path(directory) / 'telewatch_fault_plugin-1.0.dist-info'
    info.mkdir(parents=True)
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: telewatch-fault-plugin\n'
                                   'Version: 1.0\n')
    (info / 'entry_points.txt').write_text(
        '[telewatch.publisher]\nfaulty = tests.functional.faulty_publisher:FaultyPublisher\n')
    return os.pathsep.join([str(directory), str(REPO)])
