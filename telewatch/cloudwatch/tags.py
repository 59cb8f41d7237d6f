"""TagResource, UntagResource and ListTagsForResource: the tags of a project's CloudWatch alarms
(``arn:aws:cloudwatch:<region>:<project>:alarm:<name>``) and dashboards
(``arn:aws:cloudwatch::<project>:dashboard/<name>``), in the alarm store's database.
"""

import re

import sqlalchemy as sa

from telewatch.alarms.storage import schema
from telewatch.archive import sql
from telewatch.cloudwatch import errors

MAX_TAGS = 50  # per resource, AWS's limit
_ALARM = re.compile(r'^arn:aws:cloudwatch:(?P<region>[^:]*):(?P<project>[^:]+):alarm:'
                    r'(?P<name>.+)$')
_DASHBOARD = re.compile(r'^arn:aws:cloudwatch:[^:]*:(?P<project>[^:]+):dashboard/'
                        r'(?P<name>.+)$')
_TABLE = schema.cloudwatch_tag


def parse_arn(resource_arn):
    """``('alarm' | 'dashboard', project id, name)`` of a CloudWatch ARN;
    InvalidParameterValue when it is none."""
    for kind, pattern in (('alarm', _ALARM), ('dashboard', _DASHBOARD)):
        match = pattern.match(resource_arn)
        if match:
            return kind, match.group('project'), match.group('name')
    raise errors.InvalidParameterValue(
        'Invalid ARN: %s is not the ARN of a CloudWatch alarm or dashboard.' % resource_arn)


def _exists(ctx, kind, name):
    # Late imports: alarms and dashboards import this module for their own tags.
    if kind == 'alarm':
        from telewatch.cloudwatch import alarms
        return alarms.find(ctx, name) is not None
    from telewatch.cloudwatch import dashboards
    return dashboards.find(ctx, name) is not None


def _resource(ctx, resource_arn):
    """The ARN's resource, checked to be one of the caller's project that exists (another
    project's is not found, as a resource of another account)."""
    kind, project_id, name = parse_arn(resource_arn)
    if project_id != ctx.project_id or not _exists(ctx, kind, name):
        raise errors.ResourceNotFoundException('The resource %s does not exist.'
                                               % resource_arn)
    return resource_arn


def _check(tags):
    for tag in tags:
        if tag['Key'].startswith('aws:'):
            raise errors.InvalidParameterValue(
                'Tag keys beginning with aws: are reserved (%s).' % tag['Key'])


def set_tags(ctx, resource_arn, tags):
    """Add or replace ``tags`` (``[{Key, Value}]``) of a resource (no existence check: the
    caller has just made it)."""
    _check(tags)
    engine = ctx.alarms.engine
    with sql.transaction(engine, 'alarm store') as conn:
        current = {row.key for row in conn.execute(sa.select(_TABLE.c.key).where(
            _TABLE.c.resource_arn == resource_arn))}
        wanted = {tag['Key']: tag['Value'] for tag in tags}
        if len(current | set(wanted)) > MAX_TAGS:
            raise errors.LimitExceededException(
                'A resource may have at most %d tags.' % MAX_TAGS)
        if wanted:
            conn.execute(_TABLE.delete().where(_TABLE.c.resource_arn == resource_arn,
                                               _TABLE.c.key.in_(list(wanted))))
            conn.execute(_TABLE.insert(), [
                {'resource_arn': resource_arn, 'key': key, 'value': value,
                 'project_id': ctx.project_id} for key, value in wanted.items()])


def delete_all(ctx, resource_arns):
    """Remove every tag of these resources (they are being deleted)."""
    if not resource_arns:
        return
    with sql.transaction(ctx.alarms.engine, 'alarm store') as conn:
        conn.execute(_TABLE.delete().where(_TABLE.c.resource_arn.in_(list(resource_arns)),
                                           _TABLE.c.project_id == ctx.project_id))


def list_tags(ctx, resource_arn):
    with sql.retryable_errors('alarm store'), ctx.alarms.engine.connect() as conn:
        rows = conn.execute(sa.select(_TABLE.c.key, _TABLE.c.value).where(
            _TABLE.c.resource_arn == resource_arn).order_by(_TABLE.c.key))
        return [{'Key': key, 'Value': value} for key, value in rows]


def tag_resource(ctx, params):
    set_tags(ctx, _resource(ctx, params['ResourceARN']), params['Tags'])
    return {}


def untag_resource(ctx, params):
    resource_arn = _resource(ctx, params['ResourceARN'])
    with sql.transaction(ctx.alarms.engine, 'alarm store') as conn:
        conn.execute(_TABLE.delete().where(_TABLE.c.resource_arn == resource_arn,
                                           _TABLE.c.key.in_(list(params['TagKeys']))))
    return {}


def list_tags_for_resource(ctx, params):
    return {'Tags': list_tags(ctx, _resource(ctx, params['ResourceARN']))}


OPERATIONS = {
    'TagResource': tag_resource,
    'UntagResource': untag_resource,
    'ListTagsForResource': list_tags_for_resource,
}
