"""botocore's service model of ``monitoring`` 2010-08-01 and the input checks every protocol
shares: required members, types, enums, lengths and ranges, in AWS's codes and wording.

The protocols turn their bodies into a tree of raw leaves; ``parse_input`` walks it along the
model, decodes each leaf with the protocol's decoder and collects the violations.
"""

import functools

from botocore import loaders
from botocore import model as botocore_model

from telewatch.cloudwatch import errors

SERVICE = 'cloudwatch'
API_VERSION = '2010-08-01'
TARGET_PREFIX = 'GraniteServiceVersion20100801'
XML_NAMESPACE = 'http://monitoring.amazonaws.com/doc/2010-08-01/'


@functools.lru_cache(maxsize=1)
def service_model():
    """The ``botocore.model.ServiceModel`` of CloudWatch (the installed botocore's)."""
    definition = loaders.Loader().load_service_model(SERVICE, 'service-2', API_VERSION)
    return botocore_model.ServiceModel(definition, service_name=SERVICE)


def operation(name):
    """The OperationModel called ``name``, or None when the service has no such operation."""
    model = service_model()
    if name not in model.operation_names:
        return None
    return model.operation_model(name)


def error_shape(name):
    """The error structure ``name`` of the model (for the members an error carries)."""
    return service_model().shape_for(name)


def _query_name(path):
    """MetricData.member.1.Value: the name MissingParameter and InvalidParameterValue use."""
    return '.'.join(step if isinstance(step, str) else 'member.%d' % step for step in path)


def _coral_name(path):
    """metricData.1.member.value: the path ValidationError's messages use."""
    return '.'.join(step[:1].lower() + step[1:] if isinstance(step, str)
                    else '%d.member' % step for step in path)


class _Walk:
    """One walk of an input tree: the decoder and the violations found so far. A path is a
    tuple of member names and list indexes (from 1), spelled out only for a message."""

    def __init__(self, decode):
        self.decode = decode
        self.violations = []

    def violate(self, raw, path, constraint):
        shown = 'null' if raw is None else "'%s'" % (raw,)
        self.violations.append("Value %s at '%s' failed to satisfy constraint: %s"
                               % (shown, _coral_name(path), constraint))

    def value(self, shape, raw, path):
        """``raw`` checked and decoded."""
        kind = shape.type_name
        if kind == 'structure':
            return self.structure(shape, raw, path)
        if kind == 'list':
            return self.list(shape, raw, path)
        if kind == 'map':
            return self.map(shape, raw, path)
        try:
            value = self.decode(shape, raw)
        except (ValueError, TypeError, OverflowError):
            raise errors.InvalidParameterValue(
                'The value %s for parameter %s is invalid.' % (raw, _query_name(path))) \
                from None
        if shape.metadata:
            self.scalar_constraints(shape, value, path)
        return value

    def structure(self, shape, raw, path):
        if not isinstance(raw, dict):
            raise errors.InvalidParameterValue(
                'The value for parameter %s is not a structure.' % _query_name(path))
        for member in shape.required_members:
            if raw.get(member) is None:
                raise errors.MissingParameter(
                    'The parameter %s is required.' % _query_name(path + (member,)))
        parsed = {}
        members = shape.members
        for member, item in raw.items():  # members the model lacks are ignored, as AWS does
            member_shape = members.get(member)
            if member_shape is not None and item is not None:
                parsed[member] = self.value(member_shape, item, path + (member,))
        return parsed

    def list(self, shape, raw, path):
        if not isinstance(raw, list):
            raise errors.InvalidParameterValue(
                'The value for parameter %s is not a list.' % _query_name(path))
        self.length(shape, raw, len(raw), path)
        member = shape.member
        return [self.value(member, item, path + (index,))
                for index, item in enumerate(raw, 1)]

    def map(self, shape, raw, path):
        if not isinstance(raw, dict):
            raise errors.InvalidParameterValue(
                'The value for parameter %s is not a map.' % _query_name(path))
        self.length(shape, raw, len(raw), path)
        return {self.value(shape.key, key, path): self.value(shape.value, value,
                                                             path + (str(key),))
                for key, value in raw.items()}

    def length(self, shape, raw, size, path):
        low, high = shape.metadata.get('min'), shape.metadata.get('max')
        if low is not None and size < low:
            self.violate(raw, path, 'Member must have length greater than or equal to %d'
                         % low)
        if high is not None and size > high:
            self.violate(raw, path, 'Member must have length less than or equal to %d' % high)

    def scalar_constraints(self, shape, value, path):
        if shape.type_name == 'string':
            enum = shape.metadata.get('enum')
            if enum and value not in enum:
                self.violate(value, path, 'Member must satisfy enum value set: [%s]'
                             % ', '.join(enum))
            self.length(shape, value, len(value), path)
        elif shape.type_name in ('integer', 'long', 'double'):
            low, high = shape.metadata.get('min'), shape.metadata.get('max')
            if low is not None and value < low:
                self.violate(value, path, 'Member must have value greater than or equal to %s'
                             % low)
            if high is not None and value > high:
                self.violate(value, path, 'Member must have value less than or equal to %s'
                             % high)


def parse_input(operation_model, tree, decode):
    """The operation's params from ``tree`` (a dict of raw values shaped like the input),
    with ``decode(shape, raw) -> value`` for the scalars (ValueError when it cannot).

    Raises MissingParameter for the first required member missing, InvalidParameterValue
    for a value that does not decode, ValidationError listing every constraint violated.
    """
    shape = operation_model.input_shape
    if shape is None:
        return {}
    walk = _Walk(decode)
    params = walk.structure(shape, tree or {}, ())
    if walk.violations:
        count = len(walk.violations)
        raise errors.ValidationError('%d validation error%s detected: %s' % (
            count, '' if count == 1 else 's', '; '.join(walk.violations)))
    return params
