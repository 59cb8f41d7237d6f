"""PutDashboard, GetDashboard, ListDashboards and DeleteDashboards: a project's dashboards (the
console renders them), their bodies checked as CloudWatch checks them, kept in the alarm
store's database.
"""

import datetime
import json
import re

import sqlalchemy as sa

from telewatch.alarms.storage import schema
from telewatch.archive import sql
from telewatch.cloudwatch import alarm_shapes
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import tags

MAX_BODY = 1_048_576  # bytes of a DashboardBody (1 MB)
PAGE = 1000  # ListDashboards' entries per page
_NAME = re.compile(r'^[A-Za-z0-9_-]{1,255}$')
WIDGET_TYPES = ('metric', 'text', 'log', 'alarm', 'explorer', 'custom')
_WIDGET_FIELDS = ('type', 'x', 'y', 'width', 'height', 'properties')
_TOP_FIELDS = ('widgets', 'start', 'end', 'periodOverride', 'variables')
_INTEGERS = {'x': (0, 23), 'y': (0, None), 'width': (1, 24), 'height': (1, 1000)}
_TABLE = schema.cloudwatch_dashboard
INVALID_BODY = 'The input for the dashboard body is invalid'


def arn(project_id, name):
    return 'arn:aws:cloudwatch::%s:dashboard/%s' % (project_id, name)


def _check_name(name):
    if not _NAME.match(name):
        raise errors.DashboardInvalidInputError(
            'The value for field DashboardName contains invalid characters. It can only '
            'contain alphanumerics, dash (-) and underscore (_).', extra={
                'dashboardValidationMessages': [
                    {'DataPath': '/DashboardName', 'Message': 'Invalid dashboard name'}]})


def validate(body):
    """CloudWatch's validation messages of a DashboardBody (``[{DataPath, Message}]``,
    empty when it is valid)."""
    if len(body.encode('utf-8')) > MAX_BODY:
        return [{'DataPath': '/', 'Message': 'Should be at most %d bytes' % MAX_BODY}]
    try:
        document = json.loads(body)
    except ValueError as exc:
        return [{'DataPath': '/', 'Message': 'Should be valid JSON: %s' % exc}]
    if not isinstance(document, dict):
        return [{'DataPath': '/', 'Message': 'Should be object'}]
    messages = _unknown(document, _TOP_FIELDS, '')
    widgets = document.get('widgets')
    if widgets is None:
        messages.append({'DataPath': '', 'Message': "Should have required property 'widgets'"})
    elif not isinstance(widgets, list):
        messages.append({'DataPath': '/widgets', 'Message': 'Should be array'})
    else:
        for index, widget in enumerate(widgets):
            messages += _widget(widget, '/widgets/%d' % index)
    if document.get('periodOverride', 'auto') not in ('auto', 'inherit'):
        messages.append({'DataPath': '/periodOverride',
                         'Message': 'Should be equal to one of the allowed values'})
    return messages


def _unknown(document, known, path):
    return [{'DataPath': '%s/%s' % (path, key), 'Message': 'Should NOT have additional '
             'properties'} for key in document if key not in known]


def _widget(widget, path):
    if not isinstance(widget, dict):
        return [{'DataPath': path, 'Message': 'Should be object'}]
    messages = _unknown(widget, _WIDGET_FIELDS, path)
    for key in ('type', 'properties'):
        if key not in widget:
            messages.append({'DataPath': path,
                             'Message': "Should have required property '%s'" % key})
    if 'type' in widget and widget['type'] not in WIDGET_TYPES:
        messages.append({'DataPath': path + '/type',
                         'Message': 'Should be equal to one of the allowed values'})
    if 'properties' in widget and not isinstance(widget['properties'], dict):
        messages.append({'DataPath': path + '/properties', 'Message': 'Should be object'})
    elif widget.get('type') == 'metric' and 'properties' in widget and not any(
            key in widget['properties'] for key in ('metrics', 'annotations')):
        messages.append({'DataPath': path + '/properties', 'Message':
                         "Should have required property 'metrics'"})
    for key, (low, high) in _INTEGERS.items():
        value = widget.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            messages.append({'DataPath': '%s/%s' % (path, key), 'Message': 'Should be integer'})
        elif value < low or (high is not None and value > high):
            messages.append({'DataPath': '%s/%s' % (path, key), 'Message': (
                'Should be >= %d' % low if value < low else 'Should be <= %d' % high)})
    return messages


def find(ctx, name):
    """The project's dashboard of that name (a row), or None."""
    with sql.retryable_errors('alarm store'), ctx.alarms.engine.connect() as conn:
        return conn.execute(_TABLE.select().where(
            _TABLE.c.project_id == ctx.project_id, _TABLE.c.name == name)).mappings().first()


def put_dashboard(ctx, params):
    name, body = params['DashboardName'], params['DashboardBody']
    _check_name(name)
    messages = validate(body)
    if messages:
        raise errors.DashboardInvalidInputError(
            INVALID_BODY, extra={'dashboardValidationMessages': messages})
    row = {'project_id': ctx.project_id, 'name': name, 'body': body,
           'last_modified': ctx.now.astimezone(datetime.timezone.utc).replace(tzinfo=None)}
    with sql.transaction(ctx.alarms.engine, 'alarm store') as conn:
        done = conn.execute(_TABLE.update().where(
            _TABLE.c.project_id == ctx.project_id, _TABLE.c.name == name).values(
            body=body, last_modified=row['last_modified']))
        created = done.rowcount == 0
        if created:
            conn.execute(_TABLE.insert(), row)
    if created and params.get('Tags'):
        tags.set_tags(ctx, arn(ctx.project_id, name), params['Tags'])
    return {'DashboardValidationMessages': []}


def _not_found(names):
    return errors.DashboardNotFoundError(
        'The specified dashboard does not exist. [%s]' % ', '.join(names))


def get_dashboard(ctx, params):
    found = find(ctx, params['DashboardName'])
    if found is None:
        raise errors.DashboardNotFoundError(
            'Dashboard %s does not exist' % params['DashboardName'])
    return {'DashboardArn': arn(ctx.project_id, found['name']), 'DashboardBody': found['body'],
            'DashboardName': found['name']}


def list_dashboards(ctx, params):
    prefix = params.get('DashboardNamePrefix', '')
    after = None
    if 'NextToken' in params:
        after = alarm_shapes.decode_token(params['NextToken']).get('after')
        if not isinstance(after, str):
            raise errors.InvalidNextToken('The service cannot recognise the NextToken.')
    with sql.retryable_errors('alarm store'), ctx.alarms.engine.connect() as conn:
        rows = conn.execute(sa.select(
            _TABLE.c.name, _TABLE.c.last_modified, _TABLE.c.body).where(
            _TABLE.c.project_id == ctx.project_id)).all()
    # Sorted and filtered here: byte order and prefixes whatever the database's collation.
    rows = sorted((name, modified, len(body.encode('utf-8'))) for name, modified, body in rows
                  if name.startswith(prefix) and (after is None or name > after))
    out = {'DashboardEntries': [
        {'DashboardName': name, 'DashboardArn': arn(ctx.project_id, name),
         'LastModified': alarm_shapes.aware(modified), 'Size': size}
        for name, modified, size in rows[:PAGE]]}
    if len(rows) > PAGE:
        out['NextToken'] = alarm_shapes.encode_token({'after': rows[PAGE - 1][0]})
    return out


def delete_dashboards(ctx, params):
    """All or nothing: a name that is no dashboard deletes none."""
    names = list(dict.fromkeys(params['DashboardNames']))
    with sql.transaction(ctx.alarms.engine, 'alarm store') as conn:
        found = {row.name for row in conn.execute(sa.select(_TABLE.c.name).where(
            _TABLE.c.project_id == ctx.project_id, _TABLE.c.name.in_(names)))}
        missing = [name for name in names if name not in found]
        if missing:
            raise _not_found(missing)
        conn.execute(_TABLE.delete().where(_TABLE.c.project_id == ctx.project_id,
                                           _TABLE.c.name.in_(names)))
    tags.delete_all(ctx, [arn(ctx.project_id, name) for name in names])
    return {}


OPERATIONS = {
    'PutDashboard': put_dashboard,
    'GetDashboard': get_dashboard,
    'ListDashboards': list_dashboards,
    'DeleteDashboards': delete_dashboards,
}
