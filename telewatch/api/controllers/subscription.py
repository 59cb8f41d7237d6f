"""``/v1/subscriptions``: a project's subscriptions to part of the samples, which
telewatch-pubsub delivers to their targets (telewatch.pubsub), with what it delivered,
dropped and failed for each.

A subscription belongs to the project that creates it. Unless the ``subscribe other
projects`` rule allows it (admin), a caller receives its own project's samples only: its
subscriptions are stored with ``projects`` = [its project], and it may not name another
project, nor a resource the archive knows only in other projects (403). A resource id the
archive does not know yet is accepted: delivery is confined to the project anyway.
"""

import pecan
import voluptuous as vol
from pecan import rest as pecan_rest

from telewatch import config_file
from telewatch.api import known_meters
from telewatch.api import rest
from telewatch.api import views
from telewatch.archive import resource_ids
from telewatch.pubsub import registry as registry_mod
from telewatch.pubsub import subscription as subscription_mod

ENVIRON_KEY = 'telewatch.subscriptions'
MAX_ITEMS = 1000  # meter patterns, resources or projects of one subscription
MAX_TARGET_LENGTH = 2048  # the size of its column
# The owner of the subscriptions of a caller without a project (gnocchi-basic admin).
NO_PROJECT = ''


class Subscriptions:
    """What the subscription controllers share, made once per app: the registry on the
    archive index's database, the operator's allow-list of destinations and the known
    meters. ValueError for a malformed ``[pubsub] allowed_targets``."""

    def __init__(self, conf, index):
        self.registry = registry_mod.SubscriptionRegistry(engine=index.engine)
        try:
            self.allow_list = subscription_mod.AllowList(conf.pubsub.allowed_targets)
        except ValueError as exc:
            raise ValueError('[pubsub] allowed_targets: %s' % exc) from None
        self.known_meters = known_meters.KnownMeters(conf, index)


def _shared():
    return pecan.request.environ[ENVIRON_KEY]


# -- the body ------------------------------------------------------------------------------

def _text(max_length):
    return vol.All(str, vol.Length(min=1, max=max_length))


def _list_of(item, empty):
    return vol.All(vol.Schema([item]), vol.Length(min=1, msg=empty),
                   vol.Length(max=MAX_ITEMS, msg='at most %d entries' % MAX_ITEMS))


def _nullable(validator):
    schema = vol.Schema(validator)

    def check(value):
        return None if value is None else schema(value)
    return check


_FIELDS = {
    'name': _text(255),
    'meters': _list_of(vol.All(_text(255), vol.Match(
        r'^!?[^!]', msg="expected a meter name or pattern ('!' in front excludes it)")),
        'an empty list selects no meter'),
    'resources': _nullable(_list_of(_text(resource_ids.MAX_LENGTH),
                                    'an empty list selects no resource (null: any)')),
    'projects': _nullable(_list_of(_text(255),
                                   'an empty list selects no project (null: any)')),
    'interval': object,  # seconds or a duration text: rest.duration
    'target': _text(MAX_TARGET_LENGTH),
}
_REQUIRED = ('name', 'meters', 'target')
CREATE = vol.Schema({vol.Required(name) if name in _REQUIRED
                     else vol.Optional(name, default=None): check
                     for name, check in _FIELDS.items()})
UPDATE = vol.Schema({vol.Optional(name): check for name, check in _FIELDS.items()})


def _invalid(field, reason):
    rest.invalid_input('%s: %s' % (field, reason), [field])


def _forbidden(field, reason):
    rest.abort(403, {'cause': 'Access denied', 'reason': '%s: %s' % (field, reason),
                     'detail': [field]})


def _body(schema):
    """The request's body as ``schema`` checks it; a 400 names the first bad field as
    ``meters[2]``."""
    try:
        return schema(rest.json_body())
    except vol.Invalid as exc:
        error = getattr(exc, 'errors', [exc])[0]
        reason = error.msg
        if reason == 'extra keys not allowed':
            reason = 'unknown field (known: %s)' % ', '.join(_FIELDS)
        _invalid(config_file.format_path(error.path) or 'body', reason)


def _check_meters(patterns):
    for index, pattern in enumerate(patterns):
        problems = subscription_mod.check_meters([pattern])
        if problems:
            _invalid('meters[%d]' % index, problems[0])
    problems = subscription_mod.check_meters(patterns)  # what the patterns say together
    if problems:
        _invalid('meters', problems[0])


def _check_target(text):
    try:
        _shared().allow_list.check(subscription_mod.Target(text))
    except subscription_mod.InvalidSubscription as exc:
        _invalid(exc.field, exc.reason)


def _projects(projects, across):
    """What ``projects`` is stored as: as given when the caller may subscribe ``across``
    projects (None: every project), else the caller's project (403 for any other)."""
    if across:
        return None if projects is None else list(dict.fromkeys(projects))
    own = rest.context().project_id
    if own is None:
        _forbidden('projects', 'a subscription belongs to a project, and this caller has '
                               'none')
    others = [project for project in projects or () if project != own]
    if others:
        _forbidden('projects', "%s: only the samples of the caller's own project (%s) may "
                               'be subscribed to' % (others[0], own))
    return [own]


def _owners(wanted):
    """``{resource id as given: {project ids}}`` of the archive's resources each id names:
    by original id, or by id (a UUID, or an original id of the caller's)."""
    creator = rest.context().creator
    by_id = {}
    for value in wanted:
        try:
            by_id[resource_ids.resource_uuid(value, creator)] = value
        except ValueError:  # not an id the archive could hold ('/', too long)
            pass
    query = {'or': [{'in': {'original_resource_id': list(wanted)}},
                    {'in': {'id': list(by_id)}}]}
    index = rest.store().index
    owners, marker = {}, None
    while True:
        page = index.search_resources('generic', query, limit=index.MAX_LIMIT, marker=marker)
        for resource in page:
            for value in {resource.original_resource_id, by_id.get(resource.id)}:
                if value in wanted:
                    owners.setdefault(value, set()).add(resource.project_id)
        if len(page) < index.MAX_LIMIT:
            return owners
        marker = index.marker_of(page[-1])


def _check_resources(resources):
    """403 for a resource the archive knows in other projects and not in the caller's."""
    own = rest.context().project_id
    owners = _owners(set(resources))
    for index, resource_id in enumerate(resources):
        projects = owners.get(resource_id, set())
        if own not in projects and projects - {None}:
            _forbidden('resources[%d]' % index, 'resource %s belongs to another project'
                       % resource_id)


def _checked(fields):
    """The values to store of a body's ``fields`` (all of a creation's, those a PATCH
    changes): a 400 names a malformed one, a 403 another project's data."""
    values = dict(fields)
    if 'meters' in fields:
        _check_meters(fields['meters'])
    if 'target' in fields:
        _check_target(fields['target'])
    if fields.get('interval') is not None:
        values['interval'] = float(rest.duration(fields['interval'], 'interval'))
    across = rest.allowed('subscribe other projects')
    if 'projects' in fields:
        values['projects'] = _projects(fields['projects'], across)
    if fields.get('resources') is not None:
        values['resources'] = list(dict.fromkeys(fields['resources']))
        if not across:
            _check_resources(values['resources'])
    return values


def _warnings(patterns):
    known = _shared().known_meters.names()
    return ['meter pattern %r matches no known meter yet' % pattern
            for pattern in subscription_mod.unmatched_patterns(patterns, known)]


def _with_counters(subscription, warnings=None):
    counters = _shared().registry.counters([subscription['id']])[subscription['id']]
    return views.subscription_to_dict(subscription, counters, warnings)


def _policy_target(subscription):
    return {'project_id': subscription['project_id'], 'user_id': subscription['user_id']}


# -- the controllers -----------------------------------------------------------------------

class SubscriptionController(pecan_rest.RestController):
    def __init__(self, subscription):
        self.subscription = subscription

    @pecan.expose('json')
    def get(self):
        rest.enforce('get subscription', _policy_target(self.subscription))
        return _with_counters(self.subscription)

    @pecan.expose('json')
    def patch(self):
        current = self.subscription
        rest.enforce('update subscription', _policy_target(current))
        if (not rest.allowed('subscribe other projects')
                and current['projects'] != [rest.context().project_id]):
            _forbidden('projects', "this subscription receives other projects' samples: "
                                   'only an admin may change it')
        changes = _checked(_body(UPDATE))
        registry = _shared().registry
        updated = registry.update(current['id'], changes) if changes else current
        return _with_counters(updated, _warnings(updated['meters']))

    @pecan.expose(content_type='application/json')
    def delete(self):
        rest.enforce('delete subscription', _policy_target(self.subscription))
        _shared().registry.delete(self.subscription['id'])
        pecan.response.status = 204


class SubscriptionsController(pecan_rest.RestController):
    @pecan.expose()
    def _lookup(self, subscription_id, *remainder):
        try:
            found = _shared().registry.get(subscription_id)
        except registry_mod.NoSuchSubscription as exc:
            return rest.NotFoundController(str(exc)), remainder
        return SubscriptionController(found), remainder

    @pecan.expose('json')
    def post(self):
        rest.enforce('create subscription')
        values = _checked(_body(CREATE))
        context = rest.context()
        created = _shared().registry.create(values, context.project_id or NO_PROJECT,
                                            context.user_id)
        return rest.created(rest.url('v1', 'subscriptions', created['id']),
                            _with_counters(created, _warnings(created['meters'])))

    @pecan.expose('json')
    def get_all(self):
        page = rest.page_parameters()
        if page['sort']:
            _invalid('sort', 'subscriptions are listed by id only')
        project_id = pecan.request.GET.get('project_id')
        if not rest.allowed('list all subscription'):
            rest.enforce('list subscription')
            own = rest.context().project_id
            if project_id is not None and project_id != own:
                rest.enforce('list all subscription')  # 403
            if own is None:
                return []  # subscriptions belong to projects: it has none
            project_id = own
        registry = _shared().registry
        found = registry.list(project_id, page['limit'], page['marker'])
        rest.link_next(found, page['limit'], lambda subscription: subscription['id'])
        counters = registry.counters([subscription['id'] for subscription in found])
        return [views.subscription_to_dict(s, counters[s['id']]) for s in found]
