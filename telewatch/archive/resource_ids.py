"""Resource ids as Gnocchi derives them, so one resource has the same id in both stores.

A UUID (dashes optional) is used as it is; any other text becomes
``uuid5(RESOURCE_ID_NAMESPACE, text + "\\0" + creator)``, a missing creator counting as
``"\\0"`` (Gnocchi 3.1 and later).
"""

import uuid

RESOURCE_ID_NAMESPACE = uuid.UUID('0a7a15ff-aa13-4ac2-897c-9bdf30ce175b')
MAX_LENGTH = 289


def resource_uuid(value, creator):
    """The UUID text of a resource id; ValueError for a ``/`` or an id too long."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not value:
        raise ValueError('a resource id is a non-empty string')
    if '/' in value:
        raise ValueError("'/' is not supported in resource id")
    try:
        return str(uuid.UUID(value))
    except ValueError:
        pass
    if len(value) > MAX_LENGTH:
        raise ValueError('transformable resource id >%d max allowed characters' % MAX_LENGTH)
    return str(uuid.uuid5(RESOURCE_ID_NAMESPACE,
                          value + '\x00' + (creator if creator is not None else '\x00')))
