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


def _lower_first(name):
    return name[:1].lower() + name[1:]


class _Walk:
    """One walk of an input tree: the decoder and the violations found so far."""

    def __init__(self, decode):
        self.decode = decode
        self.violations = []

    def violate(self, raw, where, constraint):
        shown = 'null' if raw is None else "'%s'" % (raw,)
        self.violations.append("Value %s at '%s' failed to satisfy constraint: %s"
                               % (shown, where, constraint))

    def value(self, shape, raw, name, where):
        """``raw`` checked and decoded; ``name`` is the query-style name (MetricData.member.1)
        of the messages MissingParameter and InvalidParameterValue use, ``where`` the
        camelCase path of ValidationError's."""
        kind = shape.type_name
        if kind == 'structure':
            return self.structure(shape, raw, name, where)
        if kind == 'list':
            return self.list(shape, raw, name, where)
        if kind == 'map':
            return self.map(shape, raw, name, where)
        try:
            value = self.decode(shape, raw)
        except (ValueError, TypeError, OverflowError):
            raise errors.InvalidParameterValue(
                'The value %s for parameter %s is invalid.' % (raw, name)) from None
        self.scalar_constraints(shape, value, where)
        return value

    def structure(self, shape, raw, name, where):
        if not isinstance(raw, dict):
            raise errors.InvalidParameterValue(
                'The value for parameter %s is not a structure.' % name)
        parsed = {}
        for member, member_shape in shape.members.items():
            inner = '%s.%s' % (name, member) if name else member
            at = '%s.%s' % (where, _lower_first(member)) if where else _lower_first(member)
            if raw.get(member) is None:
                if member in shape.required_members:
                    raise errors.MissingParameter('The parameter %s is required.' % inner)
                continue
            parsed[member] = self.value(member_shape, raw[member], inner, at)
        return parsed

    def list(self, shape, raw, name, where):
        if not isinstance(raw, list):
            raise errors.InvalidParameterValue(
                'The value for parameter %s is not a list.' % name)
        self.length(shape, raw, len(raw), where)
        return [self.value(shape.member, item, '%s.member.%d' % (name, index),
                           '%s.%d.member' % (where, index))
                for index, item in enumerate(raw, 1)]

    def map(self, shape, raw, name, where):
        if not isinstance(raw, dict):
            raise errors.InvalidParameterValue('The value for parameter %s is not a map.' % name)
        self.length(shape, raw, len(raw), where)
        return {self.value(shape.key, key, name, where):
                self.value(shape.value, value, '%s.%s' % (name, key), '%s.%s' % (where, key))
                for key, value in raw.items()}

    def length(self, shape, raw, size, where):
        low, high = shape.metadata.get('min'), shape.metadata.get('max')
        if low is not None and size < low:
            self.violate(raw, where, 'Member must have length greater than or equal to %d'
                         % low)
        if high is not None and size > high:
            self.violate(raw, where, 'Member must have length less than or equal to %d' % high)

    def scalar_constraints(self, shape, value, where):
        if shape.type_name == 'string':
            if shape.enum and value not in shape.enum:
                self.violate(value, where, 'Member must satisfy enum value set: [%s]'
                             % ', '.join(shape.enum))
            self.length(shape, value, len(value), where)
        elif shape.type_name in ('integer', 'long', 'double'):
            low, high = shape.metadata.get('min'), shape.metadata.get('max')
            if low is not None and value < low:
                self.violate(value, where, 'Member must have value greater than or equal to %s'
                             % low)
            if high is not None and value > high:
                self.violate(value, where, 'Member must have value less than or equal to %s'
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
    params = walk.structure(shape, tree or {}, '', '')
    if walk.violations:
        count = len(walk.violations)
        raise errors.ValidationError('%d validation error%s detected: %s' % (
            count, '' if count == 1 else 's', '; '.join(walk.violations)))
    return params
