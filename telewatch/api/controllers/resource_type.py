"""``/v1/resource_type``: resource types and their typed attributes (JSON-Patch updates)."""

import jsonpatch
import pecan
import voluptuous as vol

from telewatch.api import framework
from telewatch.api import rest
from telewatch.archive import errors

_NAME = vol.All(str, vol.Length(min=1, max=255), vol.Match(r'^[A-Za-z0-9_-]+$'))
PATCH_CONTENT_TYPE = 'application/json-patch+json'


def _checked(build):
    try:
        return build()
    except errors.InvalidResourceType as exc:
        rest.invalid_input('%s: %s' % (exc.field, exc.reason), [exc.field])


class ResourceTypeController(framework.RestController):
    def __init__(self, name):
        self.name = name

    @pecan.expose('json')
    def get(self):
        rest.enforce('get resource type')
        return rest.store().index.get_resource_type(self.name)

    @pecan.expose('json')
    def patch(self):
        rest.enforce('update resource type')
        if pecan.request.content_type != PATCH_CONTENT_TYPE:
            rest.abort(415, 'Content-Type must be %s' % PATCH_CONTENT_TYPE)
        index = rest.store().index
        current = index.get_resource_type(self.name)
        operations = rest.json_body([{vol.Required('op'): vol.Any('add', 'remove'),
                                      vol.Required('path'): vol.Match(r'^/attributes/'),
                                      vol.Optional('value'): dict}])
        try:
            patched = jsonpatch.apply_patch({'attributes': current['attributes']},
                                            operations)['attributes']
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            rest.invalid_input(str(exc))
        fill = {}
        for name, spec in patched.items():
            old = current['attributes'].get(name)
            if old is not None and old['type'] != spec.get('type'):  # Gnocchi's words
                rest.abort(400, 'Type update is not available yet. Changing %s to %s for '
                           'attribute %s of resource %s' % (old['type'], spec.get('type'),
                                                            name, self.name))
            options = spec.pop('options', None) or {}
            if not isinstance(options, dict):
                rest.invalid_input('options must be a mapping', ['attributes', name, 'options'])
            if old is None and spec.get('required', True) and 'fill' not in options:
                rest.abort(400, "Invalid input: Option 'fill' of resource attribute %s is "
                           'invalid: must not be empty if required=True' % name)
            if old is None and 'fill' in options:
                fill[name] = options['fill']
        try:
            return _checked(lambda: index.update_resource_type(self.name, patched, fill))
        except errors.InvalidAttributes as exc:  # only the fill is checked as values
            rest.abort(400, "Invalid input: Option 'fill' of resource attribute %s is "
                       'invalid: %s' % (exc.field, exc.reason))

    @pecan.expose(content_type='application/json')
    def delete(self):
        rest.enforce('delete resource type')
        rest.store().index.delete_resource_type(self.name)
        pecan.response.status = 204


class ResourceTypesController(framework.RestController):
    @pecan.expose()
    def _lookup(self, name, *remainder):
        return ResourceTypeController(name), remainder

    @pecan.expose('json')
    def get_all(self):
        rest.enforce('list resource type')
        return rest.store().index.list_resource_types()

    @pecan.expose('json')
    def post(self):
        rest.enforce('create resource type')
        body = rest.json_body({vol.Required('name'): _NAME,
                               vol.Optional('attributes', default={}): dict})
        index = rest.store().index
        created = _checked(lambda: index.create_resource_type(body['name'],
                                                              body['attributes']))
        return rest.created(rest.url('v1', 'resource_type', created['name']), created)
