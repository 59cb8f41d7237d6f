"""DescribeAlarmHistory: the alarm store's history of a project's CloudWatch alarms (kept after
their deletion, as long as ``[alarms] history_time_to_live``) as CloudWatch's
ConfigurationUpdate, StateUpdate and Action items.
"""

import json

from telewatch.alarms import storage
from telewatch.cloudwatch import alarm_shapes as shapes
from telewatch.cloudwatch import errors

ITEM_TYPES = {
    'ConfigurationUpdate': (storage.CREATION, storage.RULE_CHANGE, storage.DELETION),
    'StateUpdate': (storage.STATE_TRANSITION,),
    'Action': (storage.ACTION,),
}
_ITEM_TYPE_OF = {kind: item for item, kinds in ITEM_TYPES.items() for kind in kinds}
_CONFIGURATION = {storage.CREATION: ('Create', 'created', 'createdAlarm'),
                  storage.RULE_CHANGE: ('Update', 'updated', 'updatedAlarm'),
                  storage.DELETION: ('Delete', 'deleted', 'deletedAlarm')}
DEFAULT_RECORDS = 100
_BATCH = 500


def describe_alarm_history(ctx, params):
    kinds = sum(ITEM_TYPES.values(), ())
    if 'HistoryItemType' in params:
        kinds = ITEM_TYPES.get(params['HistoryItemType'], ())
    types = [kind for kind, shown in shapes.ALARM_TYPES.items()
             if shown in params.get('AlarmTypes', ['MetricAlarm'])]
    if not kinds or not types:  # the alarm contributors' items: no such alarms here
        return {'AlarmHistoryItems': []}
    conditions = [{'=': {'on_behalf_of': ctx.project_id}}, {'in': {'type': list(kinds)}}]
    if 'AlarmName' in params:
        alarm_id = shapes.alarm_id(ctx.project_id, params['AlarmName'])
        conditions.append({'=': {'alarm_id': alarm_id}})
    if 'StartDate' in params:
        conditions.append({'>=': {'timestamp': params['StartDate']}})
    if 'EndDate' in params:
        conditions.append({'<=': {'timestamp': params['EndDate']}})
    order = 'asc' if params.get('ScanBy') == 'TimestampAscending' else 'desc'
    size = params.get('MaxRecords', DEFAULT_RECORDS)
    marker = _marker(params)
    entries, alarms = _collect(ctx, {'and': conditions}, order, size + 1, marker, types)
    previous = _previous_states(ctx, entries, alarms)
    out = {'AlarmHistoryItems': [_item(entry, alarms[entry['alarm_id']], previous)
                                 for entry in entries[:size]]}
    if len(entries) > size:
        out['NextToken'] = _token(entries[size - 1]['event_id'])
    return out


def _marker(params):
    if 'NextToken' not in params:
        return None
    event = shapes.decode_token(params['NextToken']).get('event')
    if not isinstance(event, str):
        raise errors.InvalidNextToken('The service cannot recognise the NextToken.')
    return event


def _token(event_id):
    return shapes.encode_token({'event': event_id})


def _collect(ctx, tree, order, wanted, marker, types):
    """Up to ``wanted`` entries of the CloudWatch alarms of ``types`` (the history has
    every alarm of the project, Aodh's too) and ``{alarm id: (name, type)}``."""
    entries, alarms = [], {}
    while len(entries) < wanted:
        try:
            batch = ctx.alarms.search_history(tree, [{'timestamp': order}], _BATCH, marker)
        except storage.NoSuchEvent:
            raise errors.InvalidNextToken('The NextToken has expired.') from None
        alarms.update(_alarms_of(ctx, {e['alarm_id'] for e in batch} - set(alarms)))
        entries += [e for e in batch if alarms.get(e['alarm_id'], (None, None))[1] in types]
        if len(batch) < _BATCH:
            break
        marker = batch[-1]['event_id']
    return entries[:wanted], alarms


def _alarms_of(ctx, alarm_ids):
    """``{alarm id: (name, type)}`` of alarms, deleted ones too (from their history)."""
    if not alarm_ids:
        return {}
    found = {alarm['alarm_id']: (alarm['name'], alarm['type'])
             for alarm in ctx.alarms.search({'in': {'alarm_id': sorted(alarm_ids)}})}
    gone = sorted(set(alarm_ids) - set(found))
    if gone:
        for entry in ctx.alarms.search_history({'and': [
                {'in': {'alarm_id': gone}},
                {'in': {'type': [storage.CREATION, storage.DELETION]}}]}):
            detail = json.loads(entry['detail'])
            found.setdefault(entry['alarm_id'], (detail.get('name'), detail.get('type')))
    return found


def _previous_states(ctx, entries, alarms):
    """``{event id: the alarm's state before}`` of the state transitions among
    ``entries`` (an entry records only the state it led to)."""
    wanted = {e['alarm_id'] for e in entries if e['type'] == storage.STATE_TRANSITION}
    previous = {}
    for alarm_id in wanted:
        state = None
        for entry in ctx.alarms.history(alarm_id, filter={'in': {'type': [
                storage.CREATION, storage.STATE_TRANSITION]}}, orderby=[{'timestamp': 'asc'}]):
            previous[entry['event_id']] = state
            state = json.loads(entry['detail']).get('state') or state
    return previous


def _item(entry, alarm, previous):
    name, kind = alarm
    detail = json.loads(entry['detail'])
    item = {'AlarmName': name, 'AlarmType': shapes.ALARM_TYPES[kind],
            'Timestamp': shapes.aware(entry['timestamp']),
            'HistoryItemType': _ITEM_TYPE_OF[entry['type']]}
    if entry['type'] in _CONFIGURATION:
        change, verb, key = _CONFIGURATION[entry['type']]
        summary = 'Alarm "%s" %s' % (name, verb)
        data = {'version': '1.0', 'type': change, key: _definition(detail)}
    elif entry['type'] == storage.STATE_TRANSITION:
        old = shapes.CLOUDWATCH_STATES.get(previous.get(entry['event_id']), 'INSUFFICIENT_DATA')
        new = shapes.CLOUDWATCH_STATES.get(detail.get('state'), 'INSUFFICIENT_DATA')
        summary = 'Alarm updated from %s to %s' % (old, new)
        data = {'version': '1.0', 'oldState': {'stateValue': old},
                'newState': {'stateValue': new,
                             'stateReason': detail.get('transition_reason', '')}}
    else:
        summary = '%s action %s' % (
            'Successfully executed' if detail.get('outcome') == 'delivered'
            else 'Failed to execute', detail.get('url'))
        data = detail
    item['HistorySummary'] = summary[:255]
    item['HistoryData'] = json.dumps(data, sort_keys=True)
    return item


def _definition(detail):
    """What a configuration entry says of the alarm, in CloudWatch's member names."""
    out = dict(detail.get('rule') or {})
    for key, member in (('name', 'AlarmName'), ('description', 'AlarmDescription')):
        if detail.get(key) is not None:
            out[member] = detail[key]
    return out
