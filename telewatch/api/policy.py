"""Who may do what through the API: oslo.policy rules named and defaulting as Gnocchi's
(a project sees and changes its own resources and metrics, admin all), enforced on a
RequestContext.

Targets are the JSON of the object acted on, as Gnocchi passes them: a resource's
``project_id``, ``user_id``, ``creator``, ``created_by_project_id``,
``created_by_user_id``; a metric's ``creator``, ``created_by_*`` and its ``resource``
(nested dicts are flattened to dotted keys: ``resource.project_id``; a metric without a
resource has ``resource`` None and no metric owner); a subscription's ``project_id`` and
``user_id``. Collection rules get ``{'resource_type': ...}`` where one applies.

Subscriptions (telewatch's own, not Gnocchi's) belong to the project that created them; a
caller whom ``subscribe other projects`` (admin by default) does not allow receives only
its own project's samples.

Listing and searching, as Gnocchi 3 did: ``check`` the ``list all ...``/``search all ...``
rule (admin by default) and show everything if it passes; otherwise ``enforce`` the
``list ...``/``search ...`` rule (anyone by default) and show only the objects whose
project, creator or creator's project is the caller's (Gnocchi 4 instead derives that
filter by enforcing ``list resource`` on trial targets).
"""

from oslo_config import cfg
from oslo_policy import opts as policy_opts
from oslo_policy import policy

# Looked up beside the configuration files; an absent one leaves the defaults in force.
DEFAULT_POLICY_FILE = 'policy.yaml'

ADMIN = 'role:admin'
# A caller with a project (keystone, noauth headers) owns what its project created; a
# gnocchi-basic caller (no project) only what its user name created.
ADMIN_OR_CREATOR = 'role:admin or user:%(creator)s or project_id:%(created_by_project_id)s'
RESOURCE_OWNER = 'project_id:%(project_id)s'
METRIC_OWNER = 'project_id:%(resource.project_id)s'
SUBSCRIPTION_OWNER = 'project_id:%(project_id)s'
ANYONE = ''
_READ_RESOURCE = 'rule:admin_or_creator or rule:resource_owner'
_READ_METRIC = 'rule:admin_or_creator or rule:metric_owner'
_CHANGE = 'rule:admin_or_creator'
_OWN_SUBSCRIPTION = 'role:admin or rule:subscription_owner'

_BASE_RULES = [
    policy.RuleDefault('context_is_admin', ADMIN, 'The admin role.'),
    policy.RuleDefault('admin_or_creator', ADMIN_OR_CREATOR,
                       'Admin, or the user or project that created the object.'),
    policy.RuleDefault('resource_owner', RESOURCE_OWNER,
                       "The resource's project (project_id)."),
    policy.RuleDefault('metric_owner', METRIC_OWNER,
                       "The project of the metric's resource."),
    policy.RuleDefault('subscription_owner', SUBSCRIPTION_OWNER,
                       "The subscription's project (the one that created it)."),
    policy.RuleDefault('segregation', 'rule:context_is_admin',
                       "Who sees every project's alarms and history (Aodh's rule)."),
]

_RESOURCE = '/v1/resource/{resource_type}'
_RESOURCE_ITEM = _RESOURCE + '/{resource_id}'
_RESOURCE_TYPE = '/v1/resource_type/{name}'
_POLICY = '/v1/archive_policy/{name}'
_POLICY_RULE = '/v1/archive_policy_rule/{name}'
_METRIC = '/v1/metric/{metric_id}'
_NAMED_METRIC = _RESOURCE_ITEM + '/metric/{metric_name}'
_MEASURES = _METRIC + '/measures'
_NAMED_MEASURES = _NAMED_METRIC + '/measures'
_ALARMS = '/v2/alarms'
_ALARM = _ALARMS + '/{alarm_id}'
_ALARM_OWNER = 'rule:context_is_admin or project_id:%(project_id)s'
_SUBSCRIPTIONS = '/v1/subscriptions'
_SUBSCRIPTION = _SUBSCRIPTIONS + '/{subscription_id}'
_DASHBOARD_OWNER = 'rule:context_is_admin or project_id:%(project_id)s'

# name: (default check, description, [(method, path), ...])
_API_RULES = {
    'get status': (ADMIN, 'Show the status of storage and processing.',
                   [('GET', '/v1/status')]),

    'create resource': (ANYONE, 'Create a resource.', [('POST', _RESOURCE)]),
    'get resource': (_READ_RESOURCE, 'Show a resource and its history.',
                     [('GET', _RESOURCE_ITEM), ('GET', _RESOURCE_ITEM + '/history')]),
    'update resource': (_CHANGE, 'Update a resource or add metrics to it.',
                        [('PATCH', _RESOURCE_ITEM), ('POST', _RESOURCE_ITEM + '/metric')]),
    'delete resource': (_CHANGE, 'Delete a resource.', [('DELETE', _RESOURCE_ITEM)]),
    'delete resources': (_CHANGE, 'Delete the resources a filter selects (each one).',
                         [('DELETE', _RESOURCE)]),
    'list resource': (ANYONE, "List the caller's own resources.", [('GET', _RESOURCE)]),
    'list all resource': (ADMIN, "List every project's resources.", [('GET', _RESOURCE)]),
    'search resource': (ANYONE, "Search the caller's own resources.",
                        [('POST', '/v1/search/resource/{resource_type}')]),
    'search all resource': (ADMIN, "Search every project's resources.",
                            [('POST', '/v1/search/resource/{resource_type}')]),

    'create resource type': (ADMIN, 'Create a resource type.',
                             [('POST', '/v1/resource_type')]),
    'get resource type': (ANYONE, 'Show a resource type.', [('GET', _RESOURCE_TYPE)]),
    'list resource type': (ANYONE, 'List resource types.', [('GET', '/v1/resource_type')]),
    'update resource type': (ADMIN, "Change a resource type's attributes.",
                             [('PATCH', _RESOURCE_TYPE)]),
    'delete resource type': (ADMIN, 'Delete a resource type.', [('DELETE', _RESOURCE_TYPE)]),

    'create archive policy': (ADMIN, 'Create an archive policy.',
                              [('POST', '/v1/archive_policy')]),
    'get archive policy': (ANYONE, 'Show an archive policy.', [('GET', _POLICY)]),
    'list archive policy': (ANYONE, 'List archive policies.',
                            [('GET', '/v1/archive_policy')]),
    'update archive policy': (ADMIN, 'Change an archive policy.', [('PATCH', _POLICY)]),
    'delete archive policy': (ADMIN, 'Delete an archive policy.', [('DELETE', _POLICY)]),

    'create archive policy rule': (ADMIN, 'Create an archive policy rule.',
                                   [('POST', '/v1/archive_policy_rule')]),
    'get archive policy rule': (ANYONE, 'Show an archive policy rule.',
                                [('GET', _POLICY_RULE)]),
    'list archive policy rule': (ANYONE, 'List archive policy rules.',
                                 [('GET', '/v1/archive_policy_rule')]),
    'update archive policy rule': (ADMIN, 'Rename an archive policy rule.',
                                   [('PATCH', _POLICY_RULE)]),
    'delete archive policy rule': (ADMIN, 'Delete an archive policy rule.',
                                   [('DELETE', _POLICY_RULE)]),

    'create metric': (ANYONE, 'Create a metric.', [('POST', '/v1/metric')]),
    'get metric': (_READ_METRIC, 'Show a metric, or aggregate it with others (each one).',
                   [('GET', _METRIC), ('GET', _NAMED_METRIC), ('POST', '/v1/aggregates'),
                    ('GET', '/v1/aggregation/metric')]),
    'delete metric': (_CHANGE, 'Delete a metric.',
                      [('DELETE', _METRIC), ('DELETE', _NAMED_METRIC)]),
    'list metric': (ANYONE, "List the caller's own metrics.", [('GET', '/v1/metric')]),
    'list all metric': (ADMIN, "List every project's metrics.", [('GET', '/v1/metric')]),
    'search metric': (_READ_METRIC, 'Search the measures of metrics.',
                      [('POST', '/v1/search/metric')]),

    'get measures': (_READ_METRIC, "Read a metric's measures.",
                     [('GET', _MEASURES), ('GET', _NAMED_MEASURES)]),
    'post measures': (_CHANGE, 'Add measures to a metric.',
                      [('POST', _MEASURES), ('POST', _NAMED_MEASURES),
                       ('POST', '/v1/batch/metrics/measures'),
                       ('POST', '/v1/batch/resources/metrics/measures')]),

    'create subscription': (ANYONE, "Create a subscription of the caller's project.",
                            [('POST', _SUBSCRIPTIONS)]),
    'get subscription': (_OWN_SUBSCRIPTION, 'Show a subscription and its counters.',
                         [('GET', _SUBSCRIPTION)]),
    'list subscription': (ANYONE, "List the caller's project's subscriptions.",
                          [('GET', _SUBSCRIPTIONS)]),
    'list all subscription': (ADMIN, "List every project's subscriptions (project_id= "
                                     'selects one).', [('GET', _SUBSCRIPTIONS)]),
    'update subscription': (_OWN_SUBSCRIPTION, 'Change a subscription.',
                            [('PATCH', _SUBSCRIPTION)]),
    'delete subscription': (_OWN_SUBSCRIPTION, 'Delete a subscription.',
                            [('DELETE', _SUBSCRIPTION)]),
    'subscribe other projects': (
        ADMIN, "Subscribe to other projects' samples: name in projects others than one's "
               "own, or none (every project); name resources of other projects; change a "
               'subscription that reaches beyond its own project.',
        [('POST', _SUBSCRIPTIONS), ('PATCH', _SUBSCRIPTION)]),

    # CloudWatch's dashboards, read-only (the CloudWatch API writes them); the target is
    # the caller's project, the only one whose dashboards it is shown.
    'list dashboards': (ANYONE, "List the caller's project's CloudWatch dashboards.",
                        [('GET', '/v1/dashboards')]),
    'get dashboard': (_DASHBOARD_OWNER, "Show a CloudWatch dashboard of the caller's project.",
                      [('GET', '/v1/dashboards/{name}')]),

    # Aodh's v2 API, Aodh's names; a caller not passing ``segregation`` is confined to its
    # project (another project's alarm is a 404 to it).
    'telemetry:create_alarm': (ANYONE, 'Create an alarm.', [('POST', _ALARMS)]),
    'telemetry:get_alarm': (_ALARM_OWNER, 'Show an alarm.', [('GET', _ALARM)]),
    'telemetry:get_alarms': (ANYONE, 'List alarms.', [('GET', _ALARMS)]),
    'telemetry:query_alarm': (ANYONE, 'Search alarms with a complex query.',
                              [('POST', '/v2/query/alarms')]),
    'telemetry:change_alarm': (_ALARM_OWNER, 'Replace an alarm.', [('PUT', _ALARM)]),
    'telemetry:delete_alarm': (_ALARM_OWNER, 'Delete an alarm.', [('DELETE', _ALARM)]),
    'telemetry:get_alarm_state': (_ALARM_OWNER, "Show an alarm's state.",
                                  [('GET', _ALARM + '/state')]),
    'telemetry:change_alarm_state': (_ALARM_OWNER, "Set an alarm's state.",
                                     [('PUT', _ALARM + '/state')]),
    'telemetry:alarm_history': (_ALARM_OWNER, "Show an alarm's history.",
                                [('GET', _ALARM + '/history')]),
    'telemetry:query_alarm_history': (ANYONE, 'Search alarm history with a complex query.',
                                      [('POST', '/v2/query/alarms/history')]),
    'telemetry:update_quotas': (ADMIN, "Set a project's alarm quotas.",
                                [('POST', '/v2/quotas')]),
    'telemetry:delete_quotas': (ADMIN, "Delete a project's alarm quotas.",
                                [('DELETE', '/v2/quotas/{project_id}')]),
}


def list_rules():
    """Every default rule, for the Enforcer and ``oslopolicy-sample-generator``."""
    return _BASE_RULES + [
        policy.DocumentedRuleDefault(name, check, description,
                                     [{'method': method, 'path': path}
                                      for method, path in operations])
        for name, (check, description, operations) in _API_RULES.items()]


class PolicyNotAuthorized(Exception):
    """The policy refuses rule ``rule`` to the caller (the API answers 403)."""

    def __init__(self, rule):
        super().__init__('%s is disallowed by policy' % rule)
        self.rule = rule


def _flatten(target, prefix=''):
    """Nested dicts as dotted keys, as Gnocchi flattens targets: {'resource.project_id': x}."""
    flat = {}
    for key, value in target.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, prefix + key + '.'))
        else:
            flat[prefix + key] = value
    return flat


def make_enforcer(conf):
    """The API's oslo.policy Enforcer: the defaults above, each overridable in the operator's
    policy file (``[oslo_policy] policy_file``, default policy.yaml, looked up beside the
    configuration files; reloaded when it changes). Made once, shared by every request.

    Raises cfg.ConfigFilesNotFoundError when a policy_file that was set does not exist, and
    oslo_policy.policy.InvalidDefinitionError when the file refers to undefined rules.
    """
    policy_opts.set_defaults(conf, policy_file=DEFAULT_POLICY_FILE)
    enforcer = policy.Enforcer(conf)
    enforcer.register_defaults(list_rules())
    policy_file = conf.oslo_policy.policy_file
    # oslo.policy silently keeps the defaults when the file is missing: a file the operator
    # named must exist.
    if policy_file != DEFAULT_POLICY_FILE and not conf.find_file(policy_file):
        raise cfg.ConfigFilesNotFoundError([policy_file])
    enforcer.load_rules()
    enforcer.check_rules(raise_on_violation=True)
    return enforcer


def check(enforcer, context, rule, target=None):
    """Whether ``rule`` allows ``context`` (a RequestContext, or None for no caller) on
    ``target``. An unknown rule name raises oslo_policy.policy.PolicyNotRegistered."""
    if context is None:
        if rule not in enforcer.registered_rules:
            raise policy.PolicyNotRegistered(rule)
        return False
    return enforcer.authorize(rule, _flatten(target or {}), context.to_policy_creds())


def enforce(enforcer, context, rule, target=None):
    """Raise PolicyNotAuthorized unless ``check(enforcer, context, rule, target)``."""
    if not check(enforcer, context, rule, target):
        raise PolicyNotAuthorized(rule)
