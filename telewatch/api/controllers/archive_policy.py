"""``/v1/archive_policy`` and ``/v1/archive_policy_rule``: admin-managed, readable by all."""

import pecan
import voluptuous as vol

from telewatch.api import framework
from telewatch.api import rest
from telewatch.api import views
from telewatch.archive import errors
from telewatch.archive import policy as policy_mod

_NAME = vol.All(str, vol.Length(min=1, max=255))
_ITEM = {vol.Optional('granularity'): vol.Any(str, int, float),
         vol.Optional('points'): vol.Any(str, int),
         vol.Optional('timespan'): vol.Any(str, int, float)}


def _definition(items):
    """Items with durations in seconds and points as integers (the CLI sends strings)."""
    out = []
    for index, item in enumerate(items):
        converted = {}
        for key, value in item.items():
            path = 'definition[%d].%s' % (index, key)
            if key == 'points':
                try:
                    converted[key] = int(value)
                except ValueError:
                    rest.invalid_input('points must be a whole number', [path])
                if converted[key] < 1:
                    _out_of_range('value must be at least 1', index, key)
            elif isinstance(value, (int, float)) and value <= 0:
                _out_of_range('Timespan must be positive', index, key)
            else:
                seconds = rest.duration(value, path)
                converted[key] = int(seconds) if seconds == int(seconds) else seconds
        out.append(converted)
    return out


def _out_of_range(reason, index, key):
    """Gnocchi's (voluptuous') answer for a zero or negative number of an item."""
    rest.invalid_input("%s for dictionary value @ data['definition'][%d]['%s']"
                       % (reason, index, key), ['definition', str(index), key])


def _policy_or_400(build):
    try:
        return build()
    except errors.UnsupportedArchivePolicyChange as exc:
        rest.abort(400, exc.reason)  # Gnocchi's plain text, which its client matches
    except errors.InvalidArchivePolicy as exc:
        rest.invalid_input('%s: %s' % (exc.field, exc.reason), [exc.field])


class ArchivePolicyController(framework.RestController):
    def __init__(self, name):
        self.name = name

    @pecan.expose('json')
    def get(self):
        rest.enforce('get archive policy', {'name': self.name})
        index = rest.store().index
        return views.policy_to_dict(index.get_archive_policy(self.name, fresh=True))

    @pecan.expose('json')
    def patch(self):
        rest.enforce('update archive policy', {'name': self.name})
        body = rest.json_body({vol.Required('definition'): [_ITEM],
                               vol.Optional('back_window'): vol.All(int, vol.Range(min=0))})
        index = rest.store().index
        policy = _policy_or_400(lambda: index.update_archive_policy(
            self.name, _definition(body['definition']), body.get('back_window')))
        return views.policy_to_dict(policy)

    @pecan.expose(content_type='application/json')
    def delete(self):
        rest.enforce('delete archive policy', {'name': self.name})
        rest.store().index.delete_archive_policy(self.name)
        pecan.response.status = 204


class ArchivePoliciesController(framework.RestController):
    @pecan.expose()
    def _lookup(self, name, *remainder):
        return ArchivePolicyController(name), remainder

    @pecan.expose('json')
    def get_all(self):
        rest.enforce('list archive policy')
        return [views.policy_to_dict(p) for p in rest.store().index.list_archive_policies()]

    @pecan.expose('json')
    def post(self):
        rest.enforce('create archive policy')
        body = rest.json_body({
            vol.Required('name'): _NAME,
            vol.Optional('back_window', default=0): vol.All(int, vol.Range(min=0)),
            vol.Optional('aggregation_methods'): [str],
            vol.Required('definition'): vol.All([_ITEM], vol.Length(min=1))})
        policy = _policy_or_400(lambda: policy_mod.ArchivePolicy(
            body['name'], body['back_window'], body.get('aggregation_methods'),
            _definition(body['definition'])))
        rest.store().index.create_archive_policy(policy)
        return rest.created(rest.url('v1', 'archive_policy', policy.name),
                            views.policy_to_dict(policy))


class ArchivePolicyRuleController(framework.RestController):
    def __init__(self, name):
        self.name = name

    @pecan.expose('json')
    def get(self):
        rest.enforce('get archive policy rule')
        return rest.store().index.get_archive_policy_rule(self.name)

    @pecan.expose('json')
    def patch(self):
        rest.enforce('update archive policy rule')
        body = rest.json_body({vol.Required('name'): _NAME})
        try:
            return rest.store().index.rename_archive_policy_rule(self.name, body['name'])
        except errors.ArchivePolicyRuleAlreadyExists:  # Gnocchi's 400 and words
            rest.abort(400, 'Archive policy rule %s already exists.' % body['name'])

    @pecan.expose(content_type='application/json')
    def delete(self):
        rest.enforce('delete archive policy rule')
        rest.store().index.delete_archive_policy_rule(self.name)
        pecan.response.status = 204


class ArchivePolicyRulesController(framework.RestController):
    @pecan.expose()
    def _lookup(self, name, *remainder):
        return ArchivePolicyRuleController(name), remainder

    @pecan.expose('json')
    def get_all(self):
        rest.enforce('list archive policy rule')
        return rest.store().index.list_archive_policy_rules()

    @pecan.expose('json')
    def post(self):
        rest.enforce('create archive policy rule')
        body = rest.json_body({vol.Required('name'): _NAME,
                               vol.Required('metric_pattern'): _NAME,
                               vol.Required('archive_policy_name'): _NAME})
        index = rest.store().index
        try:
            rule = index.create_archive_policy_rule(
                body['name'], body['metric_pattern'], body['archive_policy_name'])
        except errors.NoSuchArchivePolicy:
            rest.abort(400, {'cause': 'Archive policy does not exist',
                             'detail': body['archive_policy_name']})
        return rest.created(rest.url('v1', 'archive_policy_rule', rule['name']), rule)
