"""The queries of ``POST /v1/search/metric`` (Gnocchi's measure search): a JSON tree of
comparisons and arithmetic over a point's value, evaluated on whole series. Pure: no I/O.

``{"and": [{">=": 10}, {"<": [{"*": 2}, 30]}]}``: a binary operator takes a number (the
value on its left) or a pair of operands (numbers, or operators applied to the value);
``and``/``∧``, ``or``/``∨`` take a list of operators, ``not`` one.
"""

import operator

import numpy

BINARY = {}
for _names, _function in (
        (('=', '==', 'eq'), operator.eq), (('<', 'lt'), operator.lt),
        (('>', 'gt'), operator.gt), (('<=', '≤', 'le'), operator.le),
        (('>=', '≥', 'ge'), operator.ge), (('!=', '≠', 'ne'), operator.ne),
        (('%', 'mod'), operator.mod), (('+', 'add'), operator.add),
        (('-', 'sub'), operator.sub), (('*', '×', 'mul'), operator.mul),
        (('/', '÷', 'div'), operator.truediv), (('**', '^', 'pow'), operator.pow)):
    BINARY.update(dict.fromkeys(_names, _function))
MULTIPLE = {'and': numpy.logical_and.reduce, '∧': numpy.logical_and.reduce,
            'or': numpy.logical_or.reduce, '∨': numpy.logical_or.reduce}


class InvalidQuery(ValueError):
    """What is wrong with a query; ``path`` the keys leading to it."""

    def __init__(self, reason, path):
        super().__init__(reason)
        self.reason = reason
        self.path = path


def _number(node):
    return isinstance(node, (int, float)) and not isinstance(node, bool)


def compile_query(tree, path=()):
    """A function of a float64 array giving the query's value for each element (booleans
    for a comparison); InvalidQuery."""
    if not isinstance(tree, dict) or len(tree) != 1:
        raise InvalidQuery('expected a dictionary of one operator', list(path))
    (name, nodes), = tree.items()
    where = list(path) + [name]
    if name in MULTIPLE:
        if not isinstance(nodes, list) or not nodes:
            raise InvalidQuery('expected a non-empty list of operators', where)
        parts = [compile_query(node, where + [i]) for i, node in enumerate(nodes)]
        reduce = MULTIPLE[name]
        return lambda values: reduce([part(values) for part in parts])
    if name == 'not':
        part = compile_query(nodes, where)
        return lambda values: numpy.logical_not(part(values))
    if name not in BINARY:
        raise InvalidQuery('Unknown operator %s' % name, where)
    function = BINARY[name]
    if _number(nodes):
        return lambda values: function(values, nodes)
    if not isinstance(nodes, list) or len(nodes) != 2:
        raise InvalidQuery('expected a number or a list of two operands', where)
    left, right = (_operand(node, where + [i]) for i, node in enumerate(nodes))
    return lambda values: function(left(values), right(values))


def _operand(node, path):
    if _number(node):
        return lambda values: node
    return compile_query(node, path)


def select(query, values):
    """The boolean mask of ``values`` (float64) the compiled ``query`` keeps."""
    with numpy.errstate(all='ignore'):  # a division by zero is inf or nan, as in Python
        mask = numpy.asarray(query(values), dtype=bool)
    return numpy.broadcast_to(mask, values.shape)
