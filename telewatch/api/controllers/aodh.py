"""What the Aodh v2 API's controllers share: Aodh's error bodies (``{"error_message":
{"faultstring", "faultcode", "debuginfo"}}``), the caller's project scope as Aodh's policy
draws it, the alarm store of the request, and alarms and history entries as Aodh shows them.
"""

import datetime
import json
import logging

import pecan
import webob.exc

from telewatch.alarms import storage
from telewatch.api import framework
from telewatch.api import rest
from telewatch.archive import errors

LOG = logging.getLogger(__name__)
ENVIRON_KEY = 'telewatch.alarms'
# What Aodh's API shows of an alarm (the store's reason_data and evaluate_timestamp are
# the evaluator's: Aodh's API has no such fields, and the aodh CLI sends back what it read).
SHOWN = ('alarm_id', 'name', 'description', 'type', 'enabled', 'project_id', 'user_id',
         'severity', 'state', 'state_reason', 'state_timestamp', 'timestamp',
         'repeat_actions', 'ok_actions', 'alarm_actions', 'insufficient_data_actions',
         'time_constraints')
RBAC_FAILED = 'RBAC Authorization Failed'


def fault(status, text, headers=None):
    """Raise Aodh's error: ``faultcode`` Client for a 4xx, Server otherwise."""
    error = webob.exc.status_map[status](headers=headers, detail=text)
    error.aodh_text = text
    raise error


def _set_body(response, status, text):
    response.content_type = 'application/json'
    response.charset = 'utf-8'
    response.text = framework.error_json({'error_message': {
        'faultstring': text, 'faultcode': 'Client' if status < 500 else 'Server',
        'debuginfo': None}})


def _text(description):
    """A Gnocchi-style description (a text or a dict) as one line of text."""
    if isinstance(description, dict):
        reason = description.get('reason') or description.get('detail')
        cause = description.get('cause')
        return '%s: %s' % (cause, reason) if cause and reason else str(reason or cause)
    return str(description)


_KEPT_HEADERS = ('Allow', 'Retry-After', 'WWW-Authenticate')


def fault_response(exc, gnocchi_response):
    """The response of any exception raised under /v2, with Aodh's body: ``fault``'s
    text; the others (Pecan's 404 and 405, the archive's typed errors as
    ``gnocchi_response`` answers them, the store's) turned into it."""
    if isinstance(exc, webob.exc.HTTPException):
        # A new response: Pecan has written its own JSON body into ``exc`` for a client
        # that accepts JSON (the aodh CLI does).
        response = _response(exc.code, getattr(exc, 'aodh_text', None) or _text(
            exc.detail or exc.explanation))
        for name in _KEPT_HEADERS:
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    if isinstance(exc, storage.NoSuchAlarm):
        return _response(404, str(exc))
    if isinstance(exc, storage.InvalidQuery):
        return _response(400, str(exc))
    if isinstance(exc, errors.StorageUnavailable):
        LOG.warning('Alarm store unavailable: %s', exc)
        response = _response(503, 'The alarm store is unavailable, try again later.')
        response.headers['Retry-After'] = '10'
        return response
    response = gnocchi_response(exc)
    if response is None:
        LOG.exception('Unexpected error under /v2')
        return _response(500, 'Unexpected error.')
    description = json.loads(response.text).get('description')
    return _response(response.status_code, _text(description))


def _response(status, text):
    response = webob.Response(status=status)
    _set_body(response, status, text)
    return response


def body():
    """The request's JSON body (null when empty); 400 when it does not decode."""
    try:
        return pecan.request.decoded_json()
    except ValueError as exc:
        fault(400, 'Unable to decode body: %s' % exc)


def alarms():
    """The request's AlarmStore."""
    return pecan.request.environ[ENVIRON_KEY]


def enforce(rule, target=None):
    """403 with Aodh's text unless the policy allows ``telemetry:<rule>``."""
    if not rest.allowed('telemetry:' + rule, target):
        fault(403, RBAC_FAILED)


def limited_project():
    """The project the caller is confined to, or None for one who sees every project
    (Aodh's ``segregation`` rule: admin)."""
    if rest.allowed('segregation'):
        return None
    return rest.context().project_id or ''


def not_authorized(project_id, aspect='project'):
    fault(401, 'Not Authorized to access %s %s' % (aspect, project_id))


def get_alarm(alarm_id, rule):
    """The alarm the caller may act on by ``rule``: another project's is a 404 to one
    confined to its own, as in Aodh."""
    project = limited_project()
    try:
        alarm = alarms().get(alarm_id)
    except storage.NoSuchAlarm:
        alarm = None
    if alarm is None or (project is not None and alarm['project_id'] != project):
        if project:
            fault(404, 'Alarm %s not found in project %s' % (alarm_id, project))
        fault(404, 'Alarm %s not found' % alarm_id)
    enforce(rule, {'user_id': alarm['user_id'], 'project_id': alarm['project_id']})
    return alarm


def actor():
    context = rest.context()
    return context.user_id, context.project_id


def _isoformat(value):
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def show_alarm(alarm, scrub):
    """An alarm as Aodh's API shows it: its rule under ``<type>_rule``, times as ISO
    texts, action URLs through ``scrub`` (no trust credentials)."""
    shown = {key: _isoformat(alarm.get(key)) for key in SHOWN}
    for key in storage.ACTIONS_OF.values():
        shown[key] = [scrub(url) for url in alarm.get(key) or []]
    shown['%s_rule' % alarm['type']] = alarm['rule']
    return shown


def show_change(entry):
    """A history entry as Aodh's API shows it (``detail`` a JSON text)."""
    return {key: _isoformat(entry[key]) for key in storage.store.HISTORY_FIELDS}
