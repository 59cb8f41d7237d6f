"""log: a state change as a line of the notifier's log (for tests and operators; only an
admin may set such an action, as in Aodh)."""

import logging

from telewatch.alarms.notifiers import base

LOG = logging.getLogger(__name__)


class LogNotifier(base.Notifier):
    """``log://``: one INFO line per notification; never fails."""

    def notify(self, action, notification):
        alarm = notification.alarm
        LOG.info('Notifying alarm %s %s of %s priority from %s to %s with action %s because '
                 '%s. request-id: %s', alarm.get('name'), alarm.get('alarm_id'),
                 alarm.get('severity'), notification.previous, notification.current,
                 action, notification.reason, notification.request_id)
