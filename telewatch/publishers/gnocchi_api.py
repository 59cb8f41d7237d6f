"""What the gnocchi publisher needs from Gnocchi besides measures (the archive policies and
resource types of its mapping), and gnocchiclient's and keystoneauth's errors as PublishErrors.
"""

import json
import logging

from gnocchiclient import exceptions as gnocchi_exc
from keystoneauth1 import exceptions as ka_exc

from telewatch.archive import policy as archive_policy
from telewatch.publishers import base

LOG = logging.getLogger(__name__)
# What a new resource type attribute is: the mapping's values are sent as text.
STRING_ATTRIBUTE = {'type': 'string', 'required': False, 'max_length': 256}


def ensure_archive_policies(client, names, named_by):
    """Create the archive policies ``names`` that Gnocchi lacks, from Gnocchi's and
    Ceilometer's definitions (telewatch.archive.policy.builtin_policies); another name that
    Gnocchi lacks is a PermanentPublishError (``named_by`` says where it comes from)."""
    existing = {policy['name'] for policy in client.archive_policy.list()}
    known = archive_policy.builtin_policies()
    for name in sorted(set(names) - existing):
        if name not in known:
            raise base.PermanentPublishError(
                'the archive policy %s (named by %s) does not exist in Gnocchi, and telewatch '
                'has no definition of it: create it in Gnocchi' % (name, named_by))
        try:
            client.archive_policy.create(known[name].to_dict())
            LOG.info('created the archive policy %s in Gnocchi', name)
        except gnocchi_exc.ArchivePolicyAlreadyExists:
            pass  # created since by another agent


def ensure_resource_types(client, types):
    """Create the resource types of ``types`` (name -> attribute names) that Gnocchi lacks,
    with string attributes, and add the attributes missing from the others; returns
    {type: {attribute: its schema in Gnocchi}}."""
    existing = {rtype['name']: rtype for rtype in client.resource_type.list()}
    schemas = {}
    for name, attributes in types.items():
        rtype = existing.get(name)
        if rtype is None:
            rtype = _create_resource_type(client, name, attributes)
        missing = [a for a in attributes if a not in rtype.get('attributes', {})]
        if missing:
            rtype = client.resource_type.update(name, [
                {'op': 'add', 'path': '/attributes/%s' % attribute, 'value': STRING_ATTRIBUTE}
                for attribute in missing])
            LOG.info('added the attributes %s to the resource type %s in Gnocchi',
                     ', '.join(missing), name)
        schemas[name] = rtype.get('attributes', {})
    return schemas


def _create_resource_type(client, name, attributes):
    try:
        rtype = client.resource_type.create({
            'name': name, 'attributes': {a: STRING_ATTRIBUTE for a in attributes}})
    except gnocchi_exc.ResourceTypeAlreadyExists:
        return client.resource_type.get(name)  # created since by another agent
    LOG.info('created the resource type %s in Gnocchi', name)
    return rtype


def coerce_attributes(attributes, schemas):
    """``attributes`` as Gnocchi takes them for a type whose attributes are ``schemas``
    (a value that does not fit its attribute's type is left out)."""
    values = {}
    for name, value in attributes.items():
        value = _coerce(value, schemas.get(name, STRING_ATTRIBUTE))
        if value is not None:
            values[name] = value
    return values


def _coerce(value, schema):
    kind = schema.get('type', 'string')
    if kind == 'bool':
        return value if isinstance(value, bool) else None
    if kind == 'number':
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return value if number else None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if kind == 'string':
        return text[:schema.get('max_length', STRING_ATTRIBUTE['max_length'])]
    return text  # uuid, datetime: Gnocchi parses the text


def unknown_resources(exc):
    """The keys of the resources in Gnocchi's "Unknown resources" answer to a batch, or
    None for any other error."""
    description = getattr(exc, 'message', None)
    if (isinstance(exc, gnocchi_exc.BadRequest) and isinstance(description, dict)
            and description.get('cause') == 'Unknown resources'):
        return [item['original_resource_id'] for item in description.get('detail') or ()
                if isinstance(item, dict) and 'original_resource_id' in item]
    return None


class translated:
    """A context that turns gnocchiclient's and keystoneauth's errors into PublishErrors
    concerning ``samples`` samples, except those for which ``keep(exception)`` is truthy,
    which the caller handles; any other exception passes unchanged."""

    def __init__(self, action, samples, keep=None):
        self.action = action
        self.samples = samples
        self.keep = keep

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, traceback):
        if exc is None or isinstance(exc, base.PublishError):
            return False
        if self.keep is not None and self.keep(exc):
            return False
        retryable = is_retryable(exc)
        if retryable is None:
            return False  # not an error of the services: a bug, raised as it is
        error = base.RetryablePublishError if retryable else base.PermanentPublishError
        raise error('%s: %s' % (self.action, describe(exc)), samples=self.samples) from exc


def is_retryable(exc):
    """True for an error that may pass (connection, timeout, 408, 429, 5xx), False for one
    that will not, None for an exception that is not gnocchiclient's or keystoneauth's."""
    if isinstance(exc, (gnocchi_exc.SSLError, ka_exc.SSLError)):
        return False  # a certificate problem does not go away by itself
    if isinstance(exc, (gnocchi_exc.ConnectionFailure, gnocchi_exc.ConnectionTimeout,
                        gnocchi_exc.UnknownConnectionError, ka_exc.ConnectionError,
                        ka_exc.DiscoveryFailure)):
        return True
    if isinstance(exc, gnocchi_exc.ClientException):
        status = exc.code or 0
    elif isinstance(exc, ka_exc.HttpError):
        status = exc.http_status or 0
    elif isinstance(exc, ka_exc.ClientException):
        return False  # no endpoint in the catalog, an auth plugin that cannot work, ...
    else:
        return None
    return status >= 500 or status in (408, 429)


def describe(exc):
    """Gnocchi's (or Keystone's) own description of an error, with its status."""
    message = getattr(exc, 'message', None) or str(exc)
    if not isinstance(message, str):
        message = json.dumps(message, sort_keys=True, default=str)
    # keystoneauth's messages carry their status already; gnocchiclient's do not.
    status = exc.code if isinstance(exc, gnocchi_exc.ClientException) else None
    return '%s (HTTP %s)' % (message, status) if status else message
