"""The validated operations tree: one frozen node type per kind of operation, and the
operator names (with every alias) the language knows.

Each node renders back to Gnocchi's list form (``to_list``) and to an s-expression
(``str``); ``operands`` lists its sub-nodes in order.
"""

import dataclasses

# Reducers across series (``aggregate``), over windows (``rolling``) and in buckets
# (``resample``); each may take the ``rate:`` prefix. ``resample`` has no ``var``.
REDUCERS = ('mean', 'median', 'std', 'min', 'max', 'sum', 'var', 'count')
RATE_PREFIX = 'rate:'
AGGREGATE_METHODS = frozenset(REDUCERS + tuple(RATE_PREFIX + r for r in REDUCERS))
RESAMPLE_METHODS = frozenset(m for m in AGGREGATE_METHODS if not m.endswith('var'))

# Alias -> canonical name; the evaluator maps canonical names to numpy.
BINARY = {
    '=': 'eq', '==': 'eq', 'eq': 'eq',
    '<': 'lt', 'lt': 'lt',
    '>': 'gt', 'gt': 'gt',
    '<=': 'le', '≤': 'le', 'le': 'le',
    '>=': 'ge', '≥': 'ge', 'ge': 'ge',
    '!=': 'ne', '≠': 'ne', 'ne': 'ne',
    '%': 'mod', 'mod': 'mod',
    '+': 'add', 'add': 'add',
    '-': 'sub', 'sub': 'sub',
    '*': 'mul', '×': 'mul', 'mul': 'mul',
    '/': 'div', '÷': 'div', 'div': 'div',
    '**': 'pow', '^': 'pow', 'pow': 'pow',
    'clip_min': 'clip_min', 'clip_max': 'clip_max',
    'max': 'max',
}
TERNARY = {'clip': 'clip'}
UNARY = {
    'abs': 'abs', 'absolute': 'abs',
    'neg': 'neg', 'negative': 'neg',
    'cos': 'cos', 'sin': 'sin', 'tan': 'tan', 'floor': 'floor', 'ceil': 'ceil',
    'rateofchange': 'rateofchange', 'rateofchangesec': 'rateofchangesec',
}
# Unary operators that change the timestamps, so they need a series.
TIMED_UNARY = frozenset(('rateofchange', 'rateofchangesec'))


class Node:
    """Base of the operation nodes."""

    operands = ()

    def to_list(self):
        raise NotImplementedError

    @property
    def has_metric(self):
        """Whether this node reads a series (else it is a constant)."""
        return any(o.has_metric for o in self.operands)

    def __str__(self):
        return _sexpr(self.to_list())


def _sexpr(item):
    if isinstance(item, list):
        return '(%s)' % ' '.join(_sexpr(i) for i in item)
    if isinstance(item, float):
        return repr(item)
    return str(item)


@dataclasses.dataclass(frozen=True)
class Number(Node):
    value: float

    has_metric = False

    def to_list(self):
        return self.value


@dataclasses.dataclass(frozen=True)
class Metric(Node):
    """``refs`` are ``(reference, aggregation)`` pairs; ``listed`` when written as pairs."""

    refs: tuple
    listed: bool = False

    has_metric = True

    def to_list(self):
        if self.listed:
            return ['metric'] + [list(r) for r in self.refs]
        return ['metric'] + list(self.refs[0])


@dataclasses.dataclass(frozen=True)
class Aggregate(Node):
    method: str
    operand: Node

    @property
    def operands(self):
        return (self.operand,)

    def to_list(self):
        return ['aggregate', self.method, self.operand.to_list()]


@dataclasses.dataclass(frozen=True)
class Rolling(Node):
    method: str
    window: int
    operand: Node

    @property
    def operands(self):
        return (self.operand,)

    def to_list(self):
        return ['rolling', self.method, self.window, self.operand.to_list()]


@dataclasses.dataclass(frozen=True)
class Resample(Node):
    """``granularity``: int ns, or a calendar period (``telewatch.archive.calendar``)."""

    method: str
    granularity: object
    operand: Node

    @property
    def operands(self):
        return (self.operand,)

    def to_list(self):
        granularity = self.granularity
        if not isinstance(granularity, str):
            granularity = granularity / 1e9
        return ['resample', self.method, granularity, self.operand.to_list()]


@dataclasses.dataclass(frozen=True)
class Operator(Node):
    """A unary, binary or ternary operator; ``op`` as written, ``name`` canonical."""

    op: str
    name: str
    operands: tuple

    def to_list(self):
        return [self.op] + [o.to_list() for o in self.operands]


def references(tree):
    """``(reference, aggregation)`` pairs the tree reads, in order, each once."""
    found = []
    _collect(tree, found)
    return found


def _collect(node, found):
    if isinstance(node, Metric):
        for ref in node.refs:
            if ref not in found:
                found.append(ref)
        return
    for operand in node.operands:
        _collect(operand, found)
