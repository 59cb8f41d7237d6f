"""The JSON representations of archive policies, metrics and resources, as Gnocchi's API
gives them (the gnocchi CLI reads these fields), and of telewatch's subscriptions."""

import datetime

GENERIC_FIELDS = ('id', 'type', 'original_resource_id', 'user_id', 'project_id',
                  'started_at', 'ended_at', 'revision_start', 'revision_end', 'creator',
                  'created_by_user_id', 'created_by_project_id', 'metrics')


def split_creator(creator):
    """``(user, project)`` of a creator ``"user:project"`` (Gnocchi splits at the first
    colon; a creator without one is a user alone)."""
    if creator is None:
        return None, None
    user, _, project = creator.partition(':')
    return user, project or None


def format_datetime(moment):
    """A stored datetime (naive UTC) as Gnocchi prints it, None as None."""
    if moment is None:
        return None
    return moment.replace(tzinfo=datetime.timezone.utc).isoformat()


def policy_to_dict(policy):
    def text(seconds):
        # An item with a granularity alone has no timespan: null, as in Gnocchi.
        return None if seconds is None else str(datetime.timedelta(seconds=seconds))
    return {'name': policy.name, 'back_window': policy.back_window,
            'aggregation_methods': sorted(policy.aggregation_methods),
            'definition': [{'granularity': text(i.granularity), 'points': i.points,
                            'timespan': text(i.timespan)} for i in policy.definition]}


def metric_to_dict(metric, policy, resource=None, with_resource=False):
    user, project = split_creator(metric.creator)
    body = {'id': metric.id, 'name': metric.name, 'unit': metric.unit,
            'resource_id': metric.resource_id, 'creator': metric.creator,
            'created_by_user_id': user, 'created_by_project_id': project,
            'archive_policy': policy_to_dict(policy)}
    if with_resource:
        body['resource'] = resource_to_dict(resource) if resource else None
    return body


def new_metric_to_dict(metric):
    """A metric just created, as Gnocchi answers it: ``archive_policy_name`` and
    ``resource_id`` where a read gives the policy itself."""
    user, project = split_creator(metric.creator)
    return {'id': metric.id, 'name': metric.name, 'unit': metric.unit,
            'resource_id': metric.resource_id, 'creator': metric.creator,
            'created_by_user_id': user, 'created_by_project_id': project,
            'archive_policy_name': metric.archive_policy_name}


def resource_to_dict(resource, details=True, definition=None):
    """A resource; its type's own attributes only with ``details`` (Gnocchi's generic
    listings leave them out). With the type's ``definition``, as Gnocchi shows them: each
    attribute, null where the resource has no value (one added to the type later), a
    datetime with its UTC offset (stored naive UTC)."""
    user, project = split_creator(resource.creator)
    body = {'id': resource.id, 'type': resource.type,
            'original_resource_id': resource.original_resource_id,
            'user_id': resource.user_id, 'project_id': resource.project_id,
            'started_at': format_datetime(resource.started_at),
            'ended_at': format_datetime(resource.ended_at),
            'revision_start': format_datetime(resource.revision_start),
            'revision_end': format_datetime(resource.revision_end),
            'creator': resource.creator, 'created_by_user_id': user,
            'created_by_project_id': project, 'metrics': dict(resource.metrics)}
    if details:
        body.update(_attributes(resource.attributes, definition or {}))
    return body


def _attributes(values, definition):
    shown = dict.fromkeys(definition)
    shown.update(values)
    for name, spec in definition.items():
        if spec.get('type') == 'datetime' and isinstance(shown[name], str):
            shown[name] = format_datetime(datetime.datetime.fromisoformat(shown[name]))
    return shown


def resource_target(resource):
    """What the policy checks for a resource: its owners and its creator."""
    user, project = split_creator(resource.creator)
    return {'creator': resource.creator, 'created_by_user_id': user,
            'created_by_project_id': project, 'user_id': resource.user_id,
            'project_id': resource.project_id}


def metric_target(metric, resource=None):
    """What the policy checks for a metric: its creator and its resource's owners."""
    user, project = split_creator(metric.creator)
    return {'creator': metric.creator, 'created_by_user_id': user,
            'created_by_project_id': project,
            'resource.user_id': resource.user_id if resource else None,
            'resource.project_id': resource.project_id if resource else None}


def subscription_to_dict(subscription, counters, warnings=None):
    """A subscription (a registry document) with its delivery ``counters``; ``warnings``
    when given (a creation or an update). A project-less owner (a gnocchi-basic admin's
    subscriptions) shows as null."""
    body = {key: subscription[key] for key in (
        'id', 'name', 'user_id', 'meters', 'resources', 'projects', 'interval', 'target')}
    body.update(project_id=subscription['project_id'] or None,
                created_at=format_datetime(subscription['created_at']),
                updated_at=format_datetime(subscription['updated_at']),
                counters=dict(counters))
    if warnings is not None:
        body['warnings'] = list(warnings)
    return body
