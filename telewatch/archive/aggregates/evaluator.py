"""Evaluation of an operations tree over the series of one granularity.

A ``Frame`` is what a node evaluates to: a ``[timestamps, columns]`` matrix (one column per
series) or a constant, with the granularity its timestamps follow (int ns, or a calendar
period after a calendar ``resample``) and whether series were combined (``aggregated``),
which decides the shape of the output as in Gnocchi.
"""

import dataclasses

import numpy
from numpy.lib.stride_tricks import sliding_window_view

from telewatch.archive.aggregates import errors
from telewatch.archive.aggregates import reducers
from telewatch.archive.aggregates import tree as tree_mod

_NS_PER_SECOND = 1e9


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: compare explicitly
class Frame:
    """``timestamps`` int64 ns; ``values`` float64 ``[len(timestamps), columns]`` or a
    float constant (then ``timestamps`` are those of the context)."""

    granularity: object
    timestamps: numpy.ndarray
    values: object
    aggregated: bool = False

    @property
    def is_series(self):
        return isinstance(self.values, numpy.ndarray)

    def derive(self, **changes):
        return dataclasses.replace(self, **changes)


def _comparison(ufunc):
    return lambda a, b: ufunc(a, b).astype(numpy.float64)


_BINARY = {
    'eq': _comparison(numpy.equal), 'ne': _comparison(numpy.not_equal),
    'lt': _comparison(numpy.less), 'le': _comparison(numpy.less_equal),
    'gt': _comparison(numpy.greater), 'ge': _comparison(numpy.greater_equal),
    'mod': numpy.mod, 'add': numpy.add, 'sub': numpy.subtract, 'mul': numpy.multiply,
    'div': numpy.true_divide, 'pow': numpy.power,
    'clip_min': lambda a, b: numpy.clip(a, b, None),
    'clip_max': lambda a, b: numpy.clip(a, None, b),
    'max': numpy.fmax,  # the larger operand, NaN only where both are NaN
}
_UNARY = {
    'abs': numpy.absolute, 'neg': numpy.negative, 'cos': numpy.cos, 'sin': numpy.sin,
    'tan': numpy.tan, 'floor': numpy.floor, 'ceil': numpy.ceil,
}


def _rate_of_change(frame):
    return frame.derive(timestamps=frame.timestamps[1:],
                        values=numpy.diff(frame.values, axis=0))


def _rate_of_change_per_second(frame):
    seconds = numpy.diff(frame.timestamps.astype(numpy.float64), prepend=numpy.nan)
    seconds /= _NS_PER_SECOND
    change = numpy.diff(frame.values, axis=0, prepend=numpy.nan)
    return frame.derive(values=change / seconds[:, None])


_TIMED_UNARY = {'rateofchange': _rate_of_change,
                'rateofchangesec': _rate_of_change_per_second}


class Evaluator:
    """Evaluates nodes over ``frame`` (the aligned series of one granularity).

    ``lookups[i]`` is the ``(reference, aggregation)`` of column ``i`` of ``frame``: a
    ``metric`` node selects the columns whose lookup it names. ``references`` (lists) are
    the error details of Gnocchi's "Metrics cannot be aggregated".
    """

    def __init__(self, frame, lookups):
        self.frame = frame
        self.lookups = list(lookups)
        self.references = [list(lookup) for lookup in self.lookups]
        self.handlers = {
            tree_mod.Number: self.number, tree_mod.Metric: self.metric,
            tree_mod.Aggregate: self.aggregate, tree_mod.Rolling: self.rolling,
            tree_mod.Resample: self.resample, tree_mod.Operator: self.operator,
        }

    def __call__(self, node):
        with numpy.errstate(all='ignore'):
            return self.handlers[type(node)](node)

    def number(self, node):
        return self.frame.derive(values=node.value, aggregated=False)

    def metric(self, node):
        chosen = [i for i, lookup in enumerate(self.lookups) if lookup in node.refs]
        return self.frame.derive(values=self.frame.values[:, chosen], aggregated=False)

    def aggregate(self, node):
        operand = self(node.operand)
        values = reducers.across(node.method, operand.values, axis=1)
        stamps = operand.timestamps
        if node.method.startswith(tree_mod.RATE_PREFIX):
            stamps = stamps[1:]
        return operand.derive(timestamps=stamps, values=values.reshape(-1, 1),
                              aggregated=True)

    def rolling(self, node):
        operand = self(node.operand)
        length = len(operand.timestamps)
        if node.window > length:
            raise errors.RollingWindowTooLarge(node.window, length, self.references)
        windows = sliding_window_view(operand.values, node.window, axis=0)
        stamps = operand.timestamps[node.window - 1:]
        if node.method.startswith(tree_mod.RATE_PREFIX):
            stamps = stamps[1:]
        return operand.derive(timestamps=stamps,
                              values=reducers.across(node.method, windows, axis=-1))

    def resample(self, node):
        operand = self(node.operand)
        stamps, values = reducers.resample(node.method, operand.timestamps, operand.values,
                                           node.granularity)
        return operand.derive(granularity=node.granularity, timestamps=stamps, values=values)

    def operator(self, node):
        operands = [self(o) for o in node.operands]
        if node.name in _TIMED_UNARY:
            return _TIMED_UNARY[node.name](operands[0])
        if node.name in _UNARY:
            return operands[0].derive(values=_UNARY[node.name](operands[0].values))
        base = self._combined(node, operands)
        if node.name == 'clip':
            bounds = [o.values for o in operands[1:]] + [None]
            values = numpy.clip(operands[0].values, bounds[0], bounds[1])
        else:
            values = _BINARY[node.name](operands[0].values, operands[1].values)
        if not base.is_series:
            values = float(values)
        return base.derive(values=values)

    def _combined(self, node, operands):
        """The frame an operation of several operands follows: its first series operand.

        Series operands must share timestamps and granularity (400 otherwise); combining
        two series makes the result ``aggregated``.
        """
        series = [o for o in operands if o.is_series]
        aggregated = any(o.aggregated for o in operands) or len(series) > 1
        if not series:
            return operands[0].derive(aggregated=aggregated)
        first = series[0]
        for other in series[1:]:
            if (other.granularity != first.granularity
                    or not numpy.array_equal(other.timestamps, first.timestamps)):
                raise errors.OperandsMismatch(node.operands, self.references)
            columns = {first.values.shape[1], other.values.shape[1]}
            if len(columns) > 1 and 1 not in columns:
                raise errors.OperandsMismatch(node.operands, self.references,
                                              'numbers of series')
        return first.derive(aggregated=aggregated)
