"""An in-memory Gnocchi behind gnocchiclient's v1 Client interface, as the gnocchi publisher
calls it; it raises gnocchiclient's own exceptions with Gnocchi's descriptions
(docs/reference: batch 400 "Unknown resources", 409 "... already exists")."""

import collections
import types
import uuid

from gnocchiclient import exceptions as gnocchi_exc

RESOURCE_NAMESPACE = uuid.UUID('0a7a15ff-aa13-4ac2-897c-9bdf30ce175b')
BUILTIN_POLICIES = ('bool', 'low', 'medium', 'high')


class FakeGnocchi:
    """``calls`` records (method, arguments); ``fail[method]`` is a list of exceptions raised
    by the next calls of that method (e.g. 'metric.batch_resources_metrics_measures')."""

    def __init__(self, creator='admin'):
        self.creator = creator
        self.archive_policies = {name: {'name': name} for name in BUILTIN_POLICIES}
        self.resource_types = {'generic': {'name': 'generic', 'attributes': {},
                                           'state': 'active'}}
        self.resources = {}  # original id -> {'type', 'id', 'user_id', ...attributes}
        self.metrics = {}  # (original id, name) -> {'archive_policy_name', 'unit', 'measures'}
        self.calls = []
        self.fail = collections.defaultdict(list)
        self.archive_policy = self._namespace('archive_policy', list=self._ap_list,
                                              create=self._ap_create)
        self.resource_type = self._namespace(
            'resource_type', list=self._rt_list, get=self._rt_get, create=self._rt_create,
            update=self._rt_update)
        self.resource = self._namespace('resource', create=self._resource_create,
                                        update=self._resource_update)
        self.metric = self._namespace(
            'metric', batch_resources_metrics_measures=self._batch)

    def _namespace(self, prefix, **methods):
        def wrap(name, method):
            def call(*args, **kwargs):
                self.calls.append(('%s.%s' % (prefix, name), args, kwargs))
                if self.fail['%s.%s' % (prefix, name)]:
                    raise self.fail['%s.%s' % (prefix, name)].pop(0)
                return method(*args, **kwargs)
            return call
        return types.SimpleNamespace(**{n: wrap(n, m) for n, m in methods.items()})

    def called(self, method):
        return [(args, kwargs) for name, args, kwargs in self.calls if name == method]

    # -- archive policies, resource types ------------------------------------------------------

    def _ap_list(self):
        return list(self.archive_policies.values())

    def _ap_create(self, policy):
        if policy['name'] in self.archive_policies:
            raise gnocchi_exc.ArchivePolicyAlreadyExists(
                code=409, message='Archive policy %s already exists' % policy['name'])
        self.archive_policies[policy['name']] = policy
        return policy

    def _rt_list(self):
        return list(self.resource_types.values())

    def _rt_get(self, name):
        if name not in self.resource_types:
            raise gnocchi_exc.ResourceTypeNotFound(
                code=404, message='Resource type %s does not exist' % name)
        return self.resource_types[name]

    def _rt_create(self, rtype):
        if rtype['name'] in self.resource_types:
            raise gnocchi_exc.ResourceTypeAlreadyExists(
                code=409, message='Resource type %s already exists' % rtype['name'])
        stored = {'name': rtype['name'], 'state': 'active', 'attributes': {
            name: dict(attribute, min_length=0) for name, attribute in
            rtype.get('attributes', {}).items()}}
        self.resource_types[rtype['name']] = stored
        return stored

    def _rt_update(self, name, operations):
        stored = self._rt_get(name)
        for operation in operations:
            assert operation['op'] == 'add' and operation['path'].startswith('/attributes/')
            stored['attributes'][operation['path'][len('/attributes/'):]] = dict(
                operation['value'], min_length=0)
        return stored

    # -- resources, measures -------------------------------------------------------------------

    def _check_attributes(self, rtype, attributes):
        schemas = self._rt_get(rtype)['attributes']
        for name, value in attributes.items():
            schema = schemas.get(name)
            if schema is None:
                raise gnocchi_exc.BadRequest(code=400, message={
                    'cause': 'Invalid input', 'reason': 'extra keys not allowed',
                    'detail': [name]})
            if schema['type'] == 'string' and (not isinstance(value, str)
                                               or len(value) > schema['max_length']):
                raise gnocchi_exc.BadRequest(code=400, message={
                    'cause': 'Invalid input', 'reason': 'bad string', 'detail': [name]})

    def _resource_create(self, rtype, body):
        body = dict(body)
        key = body.pop('id')
        if key in self.resources:
            raise gnocchi_exc.ResourceAlreadyExists(
                code=409, message='Resource %s already exists' % key)
        user_id, project_id = body.pop('user_id', None), body.pop('project_id', None)
        self._check_attributes(rtype, body)
        self.resources[key] = dict(body, type=rtype, user_id=user_id, project_id=project_id)
        return self.resources[key]

    def _resource_update(self, rtype, key, attributes):
        if key not in self.resources or self.resources[key]['type'] != rtype:
            raise gnocchi_exc.ResourceNotFound(
                code=404, message='Resource %s does not exist' % key)
        self._check_attributes(rtype, attributes)
        self.resources[key].update(attributes)
        return self.resources[key]

    def _batch(self, measures, create_metrics=False):
        assert create_metrics is True
        unknown = [key for key in measures if key not in self.resources]
        if unknown:
            raise gnocchi_exc.BadRequest(code=400, message={
                'cause': 'Unknown resources', 'detail': [
                    {'resource_id': str(uuid.uuid5(RESOURCE_NAMESPACE,
                                                   key + '\x00' + self.creator)),
                     'original_resource_id': key} for key in unknown]})
        for key, metrics in measures.items():
            for name, entry in metrics.items():
                policy = entry.get('archive_policy_name', 'low')
                if policy not in self.archive_policies:
                    raise gnocchi_exc.BadRequest(
                        code=400, message='Archive policy %s does not exist' % policy)
        for key, metrics in measures.items():
            for name, entry in metrics.items():
                metric = self.metrics.setdefault((key, name), {
                    'archive_policy_name': entry.get('archive_policy_name', 'low'),
                    'unit': entry.get('unit'), 'measures': []})
                metric['measures'].extend(entry['measures'])
