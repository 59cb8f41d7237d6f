"""CloudWatch metric math: a small parser of its expressions and their evaluation over time
series. Pure (numpy only): no I/O, nothing passed to ``eval``.

Supported: numbers, ids of other queries, ``+ - * / ^``, unary ``-``, comparisons
``== != < <= > >=`` (1 or 0), ``AND OR NOT``, ``[a, b]`` lists, and the functions SUM, AVG,
MIN, MAX, STDDEV (of a series: a number; of a list: a series of the per-timestamp
values), METRICS() and METRICS("text") (the metric queries, by label), RATE (per second),
DIFF, FILL(s, value | REPEAT), ABS, IF(condition, a[, b]). Series combine on the
timestamps they share; a point that is not a finite number is dropped.
"""

import dataclasses
import re

import numpy

_NS = 1_000_000_000
_TOKEN = re.compile(r'\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)'
                    r'|(?P<str>"[^"]*")|(?P<name>[A-Za-z_][A-Za-z0-9_]*)'
                    r'|(?P<op>==|!=|<=|>=|[-+*/^()<>,\[\]]))')
_COMPARE = ('==', '!=', '<', '<=', '>', '>=')
MAX_LENGTH = 1024


class MathError(ValueError):
    """The expression is invalid, or cannot be evaluated with these inputs."""


@dataclasses.dataclass(frozen=True, eq=False)
class Series:
    """A time series: int64 ns timestamps, ascending and unique, and float64 values."""

    timestamps: numpy.ndarray
    values: numpy.ndarray
    label: str = ''

    @classmethod
    def of(cls, timestamps, values, label=''):
        return cls(numpy.asarray(timestamps, numpy.int64), numpy.asarray(values, float), label)

    def finite(self):
        keep = numpy.isfinite(self.values)
        return self if keep.all() else Series(self.timestamps[keep], self.values[keep],
                                              self.label)


def _tokens(text):
    if len(text) > MAX_LENGTH:
        raise MathError('The expression is longer than %d characters.' % MAX_LENGTH)
    position, out = 0, []
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise MathError('Unexpected character at position %d: %r'
                            % (position + 1, text[position:position + 10]))
        kind = match.lastgroup
        out.append((kind, match.group(kind)))
        position = match.end()
    return out + [('end', None)]


class _Parser:
    """Precedence climbing over the tokens; nodes are tuples."""

    def __init__(self, text):
        self.tokens = _tokens(text)
        self.at = 0

    def peek(self):
        return self.tokens[self.at]

    def take(self, value=None):
        token = self.tokens[self.at]
        if value is not None and token[1] != value:
            raise MathError('Expected %r but found %s.' % (value, _describe(token)))
        self.at += 1
        return token

    def parse(self):
        node = self.logical('OR')
        if self.peek()[0] != 'end':
            raise MathError('Unexpected %s.' % _describe(self.peek()))
        return node

    def logical(self, word):
        lower = (lambda: self.logical('AND')) if word == 'OR' else self.negation
        node = lower()
        while self.peek() == ('name', word):
            self.take()
            node = ('bin', word, node, lower())
        return node

    def negation(self):
        if self.peek() == ('name', 'NOT'):
            self.take()
            return ('not', self.negation())
        return self.comparison()

    def comparison(self):
        node = self.binary(('+', '-'), lambda: self.binary(('*', '/'), self.power))
        if self.peek()[1] in _COMPARE and self.peek()[0] == 'op':
            op = self.take()[1]
            node = ('bin', op, node, self.binary(
                ('+', '-'), lambda: self.binary(('*', '/'), self.power)))
        return node

    def binary(self, ops, lower):
        node = lower()
        while self.peek()[0] == 'op' and self.peek()[1] in ops:
            op = self.take()[1]
            node = ('bin', op, node, lower())
        return node

    def power(self):
        node = self.unary()
        if self.peek() == ('op', '^'):
            self.take()
            return ('bin', '^', node, self.power())
        return node

    def unary(self):
        if self.peek() == ('op', '-'):
            self.take()
            return ('neg', self.unary())
        if self.peek() == ('op', '+'):
            self.take()
            return self.unary()
        return self.primary()

    def primary(self):
        kind, value = self.take()
        if kind == 'num':
            return ('num', float(value))
        if kind == 'str':
            return ('str', value[1:-1])
        if kind == 'op' and value == '(':
            node = self.logical('OR')
            self.take(')')
            return node
        if kind == 'op' and value == '[':
            return ('list', self.arguments(']'))
        if kind == 'name':
            if self.peek() == ('op', '('):
                self.take()
                return ('call', value, self.arguments(')'))
            return ('const', value) if value in ('REPEAT',) else ('id', value)
        raise MathError('Unexpected %s.' % _describe((kind, value)))

    def arguments(self, close):
        items = []
        if self.peek() == ('op', close):
            self.take()
            return items
        while True:
            items.append(self.logical('OR'))
            if self.take()[1] == close:
                return items
            if self.tokens[self.at - 1][1] != ',':
                raise MathError('Expected "," or %r.' % close)


def _describe(token):
    return 'end of expression' if token[0] == 'end' else repr(token[1])


def parse(text):
    """The tree of an expression; MathError if it does not parse."""
    return _Parser(text).parse()


def _children(node):
    kind = node[0]
    if kind == 'call':
        return node[2]
    if kind == 'list':
        return node[1]
    if kind == 'bin':
        return node[2:]
    if kind in ('neg', 'not'):
        return node[1:]
    return ()


def references(node):
    """The ids an expression reads (for the order of evaluation)."""
    if node[0] == 'id':
        return {node[1]}
    return set().union(set(), *[references(c) for c in _children(node)])


def uses_metrics(node):
    """True when the expression calls METRICS() (it then reads every metric query)."""
    if node[0] == 'call' and node[1] == 'METRICS':
        return True
    return any(uses_metrics(c) for c in _children(node))


# -- evaluation ------------------------------------------------------------------------


@dataclasses.dataclass
class Inputs:
    """What an expression reads: ``series`` {id: Series or list of Series} of the queries
    computed so far, ``metrics`` (the metric queries' Series, for METRICS()) and ``grid``
    (the period starts of the request, int64 ns, for FILL and numbers)."""

    series: dict
    metrics: list
    grid: numpy.ndarray


_OPS = {
    '+': numpy.add, '-': numpy.subtract, '*': numpy.multiply, '/': numpy.true_divide,
    '^': numpy.power,
    '==': lambda a, b: numpy.equal(a, b) * 1.0, '!=': lambda a, b: numpy.not_equal(a, b) * 1.0,
    '<': lambda a, b: numpy.less(a, b) * 1.0, '<=': lambda a, b: numpy.less_equal(a, b) * 1.0,
    '>': lambda a, b: numpy.greater(a, b) * 1.0,
    '>=': lambda a, b: numpy.greater_equal(a, b) * 1.0,
    'AND': lambda a, b: numpy.logical_and(a != 0, b != 0) * 1.0,
    'OR': lambda a, b: numpy.logical_or(a != 0, b != 0) * 1.0,
}


def _map(value, fn):
    if isinstance(value, list):
        return [_map(v, fn) for v in value]
    if isinstance(value, Series):
        return Series(value.timestamps, fn(value.values), value.label)
    return float(fn(numpy.float64(value)))


def _binary(op, left, right):
    fn = _OPS[op]
    if isinstance(left, list):
        return [_binary(op, item, right) for item in left]
    if isinstance(right, list):
        return [_binary(op, left, item) for item in right]
    if isinstance(left, Series) and isinstance(right, Series):
        common, li, ri = numpy.intersect1d(left.timestamps, right.timestamps,
                                           assume_unique=True, return_indices=True)
        return Series(common, fn(left.values[li], right.values[ri]), left.label)
    if isinstance(left, Series):
        return Series(left.timestamps, fn(left.values, right), left.label)
    if isinstance(right, Series):
        return Series(right.timestamps, fn(left, right.values), right.label)
    return float(fn(numpy.float64(left), numpy.float64(right)))


def _matrix(items):
    stamps = numpy.unique(numpy.concatenate([s.timestamps for s in items])) if items else \
        numpy.empty(0, numpy.int64)
    table = numpy.full((len(items), len(stamps)), numpy.nan)
    for row, item in enumerate(items):
        table[row, numpy.searchsorted(stamps, item.timestamps)] = item.values
    return stamps, table


def _reducer(name):
    plain = {'SUM': numpy.sum, 'AVG': numpy.mean, 'MIN': numpy.min, 'MAX': numpy.max,
             'STDDEV': numpy.std}[name]
    across = {'SUM': numpy.nansum, 'AVG': numpy.nanmean, 'MIN': numpy.nanmin,
              'MAX': numpy.nanmax, 'STDDEV': numpy.nanstd}[name]

    def reduce(args, inputs):
        value = _one(name, args, inputs)
        if isinstance(value, Series):
            return float(plain(value.values)) if len(value.values) else float('nan')
        if isinstance(value, list):
            stamps, table = _matrix(value)
            some = ~numpy.isnan(table).all(axis=0)
            return Series(stamps[some], across(table[:, some], axis=0))
        return float(value)
    return reduce


def _one(name, args, inputs, count=1):
    if len(args) != count:
        raise MathError('%s takes %d argument%s, not %d.'
                        % (name, count, '' if count == 1 else 's', len(args)))
    return _eval(args[0], inputs)


def _metrics(args, inputs):
    if len(args) > 1 or (args and args[0][0] != 'str'):
        raise MathError('METRICS takes no argument or one string.')
    text = args[0][1] if args else ''
    return [s for s in inputs.metrics if text in s.label]


def _series_fn(name, fn):
    def apply(args, inputs):
        value = _one(name, args, inputs)
        if isinstance(value, float):
            raise MathError('%s needs a time series.' % name)
        return _map_series(value, fn)
    return apply


def _map_series(value, fn):
    if isinstance(value, list):
        return [_map_series(v, fn) for v in value]
    return fn(value)


def _rate(series):
    seconds = numpy.diff(series.timestamps) / _NS
    with numpy.errstate(divide='ignore', invalid='ignore'):
        return Series(series.timestamps[1:], numpy.diff(series.values) / seconds, series.label)


def _diff(series):
    return Series(series.timestamps[1:], numpy.diff(series.values), series.label)


def _fill(args, inputs):
    if len(args) != 2:
        raise MathError('FILL takes 2 arguments, not %d.' % len(args))
    value = _eval(args[0], inputs)
    repeat = args[1] == ('const', 'REPEAT')
    filler = None if repeat else _eval(args[1], inputs)
    return _map_series(value, lambda s: _fill_one(s, inputs.grid, filler, repeat))


def _fill_one(series, grid, filler, repeat):
    stamps = numpy.union1d(series.timestamps, grid)
    values = numpy.full(len(stamps), numpy.nan)
    values[numpy.searchsorted(stamps, series.timestamps)] = series.values
    missing = numpy.isnan(values)
    if repeat:
        last = numpy.where(~missing, numpy.arange(len(values)), 0)
        numpy.maximum.accumulate(last, out=last)
        values = values[last]
    elif isinstance(filler, Series):
        at = _lookup(filler, stamps[missing])
        values[missing] = at
    elif isinstance(filler, float):
        values[missing] = filler
    else:
        raise MathError('FILL needs a number, a time series or REPEAT.')
    return Series(stamps, values, series.label).finite()


def _lookup(series, stamps):
    """Values of ``series`` at ``stamps`` (NaN where it has none)."""
    where = numpy.searchsorted(series.timestamps, stamps)
    where = numpy.minimum(where, max(len(series.timestamps) - 1, 0))
    found = numpy.full(len(stamps), numpy.nan)
    if len(series.timestamps):
        hit = series.timestamps[where] == stamps
        found[hit] = series.values[where[hit]]
    return found


def _at(value, stamps):
    if isinstance(value, Series):
        return _lookup(value, stamps)
    if isinstance(value, list):
        raise MathError('IF does not take a list.')
    return numpy.full(len(stamps), numpy.nan if value is None else value)


def _if(args, inputs):
    if len(args) not in (2, 3):
        raise MathError('IF takes 2 or 3 arguments, not %d.' % len(args))
    condition = _eval(args[0], inputs)
    then = _eval(args[1], inputs)
    otherwise = _eval(args[2], inputs) if len(args) == 3 else None
    if isinstance(condition, float):
        return then if condition != 0 else otherwise
    if not isinstance(condition, Series):
        raise MathError('The condition of IF must be one time series or a number.')
    stamps = condition.timestamps
    values = numpy.where(condition.values != 0, _at(then, stamps), _at(otherwise, stamps))
    return Series(stamps, values, condition.label).finite()


_FUNCTIONS = {
    'SUM': _reducer('SUM'), 'AVG': _reducer('AVG'), 'MIN': _reducer('MIN'),
    'MAX': _reducer('MAX'), 'STDDEV': _reducer('STDDEV'), 'METRICS': _metrics,
    'RATE': _series_fn('RATE', _rate), 'DIFF': _series_fn('DIFF', _diff), 'FILL': _fill,
    'ABS': lambda args, inputs: _map(_one('ABS', args, inputs), numpy.abs), 'IF': _if,
}


def _eval(node, inputs):
    kind = node[0]
    if kind == 'num':
        return node[1]
    if kind == 'id':
        if node[1] not in inputs.series:
            raise MathError('Unknown id %s.' % node[1])
        return inputs.series[node[1]]
    if kind == 'list':
        items = [_eval(item, inputs) for item in node[1]]
        if not all(isinstance(i, (Series, list)) for i in items):
            raise MathError('A list holds time series only.')
        return [s for i in items for s in (i if isinstance(i, list) else [i])]
    if kind == 'neg':
        return _map(_eval(node[1], inputs), numpy.negative)
    if kind == 'not':
        return _map(_eval(node[1], inputs), lambda v: (v == 0) * 1.0)
    if kind == 'bin':
        with numpy.errstate(all='ignore'):
            return _binary(node[1], _eval(node[2], inputs), _eval(node[3], inputs))
    if kind == 'call':
        if node[1] not in _FUNCTIONS:
            raise MathError('Unknown function %s.' % node[1])
        with numpy.errstate(all='ignore'):
            return _FUNCTIONS[node[1]](node[2], inputs)
    raise MathError('%s cannot be used here.' % node[1])


def evaluate(node, inputs):
    """The value of a parsed expression: a Series (non-finite points dropped), a list of
    Series, or a number spread over the grid; MathError."""
    value = _eval(node, inputs)
    if isinstance(value, float):
        return Series(inputs.grid, numpy.full(len(inputs.grid), value)).finite()
    if value is None:
        return Series.of([], [])
    return _map_series(value, Series.finite)
