"""arithmetic: a new meter computed from several meters of the same resource."""

import math
import re

import voluptuous as vol

from telewatch import expression
from telewatch import sample as sample_mod
from telewatch.transformers import base

METER_REFERENCE = re.compile(r'\$\(([\w.\-]+)\)')


class MeterExpression:
    """``expr`` with ``$(meter.name)`` references, compiled once.

    ``$(m)`` stands for the volume of the latest sample of meter m; ``$(m).field...`` for a
    field of that sample (``$(cpu).resource_metadata.cpu_number``). The first meter named is
    the reference meter: the output takes its name, unit, type and fields unless the target
    says otherwise.
    """

    def __init__(self, text):
        if not isinstance(text, str):
            raise vol.Invalid('expected an expression string')
        self.meters = []
        rewritten = METER_REFERENCE.sub(self._reference, text)
        if not self.meters:
            raise vol.Invalid('the expression refers to no meter; write meters as '
                              '$(meter.name)')
        try:
            self.expression = expression.compile_expression(rewritten, self._resolve)
        except expression.ExpressionError as exc:
            raise vol.Invalid(str(exc).replace(rewritten, text))

    def _reference(self, match):
        name = match.group(1)
        if name not in self.meters:
            self.meters.append(name)
        variable = '_meter%d' % self.meters.index(name)
        following = match.string[match.end():match.end() + 1]
        return variable if following == '.' else variable + '.volume'

    def _resolve(self, name, attributes):
        if not name.startswith('_meter') or not name[6:].isdigit():
            raise expression.ExpressionError(
                'unknown name %r: refer to meters as $(meter.name)' % name)
        if not attributes or attributes[0] not in sample_mod.FIELDS:
            raise expression.ExpressionError(
                'a meter is read as $(meter) or $(meter).<field>, with a field among %s'
                % ', '.join(sample_mod.FIELDS))
        meter = self.meters[int(name[6:])]
        field = sample_mod.FIELDS.index(attributes[0])
        return expression.path_getter(lambda env: env[meter][field], attributes[1:])


def compile_meter_expression(text):
    """The voluptuous validator of ``expr`` (a plain function: voluptuous would take the
    class itself for a type check)."""
    return MeterExpression(text)


class ArithmeticTransformer(base.Transformer):
    """Compute ``target.expr`` for each resource that has a sample of every meter it names.

    ``handle`` keeps the latest sample per (resource, meter) and passes nothing on. A flush
    evaluates every complete resource, emits the result (timestamp: the latest sample this
    transformer saw) and forgets that resource's samples whatever the outcome. A NaN result
    or an evaluation error (division by zero, a missing field) gives no sample and is
    counted. Incomplete resources are forgotten after the series TTL.
    """

    PARAMETERS = vol.Schema({vol.Required('target'): {
        vol.Optional('name'): str, vol.Optional('unit'): str,
        vol.Optional('type'): base.TYPE, vol.Required('expr'): compile_meter_expression}})
    EXAMPLE = {'target': {'name': 'memory_util', 'unit': '%', 'type': 'gauge',
                          'expr': '100 * $(memory.usage) / $(memory)'}}

    def __init__(self, parameters, **kwargs):
        super().__init__(parameters, **kwargs)
        target = parameters['target']
        self._expr = target['expr']
        self._meters = frozenset(self._expr.meters)
        self._reference = self._expr.meters[0]
        self._target = target
        self._resources = base.SeriesState(self.series_ttl)
        self._latest = None

    def handle(self, sample):
        if self._latest is None or sample.timestamp > self._latest:
            self._latest = sample.timestamp
        if sample.name in self._meters:
            found = self._resources.get(sample.resource_id)
            if found is None:
                found = self._resources[sample.resource_id] = {}
            found[sample.name] = sample
        return None

    def flush(self):
        self.counters['expired_series'] += self._resources.expire()
        complete = [resource for resource, found in self._resources.items()
                    if len(found) == len(self._meters)]
        released = []
        for resource in complete:
            result = self._evaluate(self._resources.pop(resource))
            if result is not None:
                released.append(result)
        return released

    def _evaluate(self, found):
        try:
            volume = float(self._expr.expression.evaluate(found))
        except (ArithmeticError, TypeError, ValueError):
            self.counters['evaluation_error'] += 1
            return None
        if math.isnan(volume):
            self.counters['nan'] += 1
            return None
        reference = found[self._reference]
        return reference.derive(self._target.get('name', reference.name),
                                self._target.get('type', reference.type),
                                self._target.get('unit', reference.unit), volume,
                                timestamp=self._latest)
