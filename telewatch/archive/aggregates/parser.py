"""Gnocchi's operations language, read from an s-expression string or the equivalent
nested JSON list, validated into a tree of ``tree`` nodes.

Errors follow Gnocchi's bodies: a string that is not an s-expression raises
InvalidOperations ("Fail to parse the operations string"); a malformed tree raises
InvalidOperationsInput naming the operation and the path of the offending node; a tree
that reads no metric raises NoMetricInOperations.
"""

import re

from telewatch.archive import calendar
from telewatch.archive.aggregates import errors
from telewatch.archive.aggregates import tree as tree_mod

MAX_DEPTH = 64  # deeper nesting is refused rather than exhausting the stack
_MAX_NS = 2 ** 63 - 1  # what a datetime64[ns] granularity can count
_DURATION = re.compile(
    r'\s*([0-9]+(?:\.[0-9]*)?)\s*(?:(s|secs?|seconds?)|(m|mins?|minutes?)|(h|hrs?|hours?)'
    r'|(d|days?)|(w|wks?|weeks?))\s*\Z')
_UNIT_SECONDS = (1, 60, 3600, 86400, 7 * 86400)


def parse_operations(value, parse_duration=None):
    """The validated tree of ``value``, an s-expression string or a nested list.

    ``parse_duration(text)`` gives the seconds of a text resample period (``"1h"``) or
    None; the REST layer passes ``pytimeparse.parse`` to accept every form Gnocchi does.
    Without it numbers and ``<number><unit>`` (s, min, h, d, w) are understood. As with
    Gnocchi, text after the first complete expression of a string is ignored.
    """
    if isinstance(value, str):
        value = parse_sexpr(value)
    elif not isinstance(value, (list, tuple)):
        raise errors.InvalidOperationsInput(
            'Expected a tuple/list, got a %s' % type(value).__name__)
    node = _Builder(parse_duration or _builtin_duration).operation(value, 'operations', 0)
    if not node.has_metric:
        raise errors.NoMetricInOperations(node.to_list())
    return node


def references(tree):
    """The ``(reference, aggregation)`` pairs ``tree`` reads, in order of appearance, each
    once: the series the caller must load (``reference`` as written, id or name)."""
    return tree_mod.references(tree)


# -- s-expressions ---------------------------------------------------------------------

def parse_sexpr(text):
    """Nested lists of the atoms (strings) of the first parenthesised expression."""
    position = _skip_blanks(text, 0)
    if position >= len(text) or text[position] != '(':
        raise errors.InvalidOperations("Expected '(', found %s (at char %d)"
                                       % (_found(text, position), position))
    stack = [[]]
    while True:
        position = _skip_blanks(text, position)
        if position >= len(text):
            raise errors.InvalidOperations(
                "Expected ')', found end of text (at char %d)" % position)
        char = text[position]
        if char == '(':
            if len(stack) > MAX_DEPTH:
                raise errors.InvalidOperations(
                    'Operations nested deeper than %d levels (at char %d)'
                    % (MAX_DEPTH, position))
            stack.append([])
            position += 1
        elif char == ')':
            done = stack.pop()
            position += 1
            if len(stack) == 1:
                return done
            stack[-1].append(done)
        else:
            atom, position = _atom(text, position)
            stack[-1].append(atom)


def _skip_blanks(text, position):
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _found(text, position):
    if position >= len(text):
        return 'end of text'
    return repr(_atom(text, position)[0] if text[position] not in '()' else text[position])


def _atom(text, position):
    """A quoted string (kept with its quotes, as Gnocchi) or a run of other characters."""
    if text[position] in '"\'':
        end = text.find(text[position], position + 1)
        if end < 0:
            raise errors.InvalidOperations(
                'Unterminated quoted string (at char %d)' % position)
        return text[position:end + 1], end + 1
    end = position
    while end < len(text) and not text[end].isspace() and text[end] not in '()':
        end += 1
    return text[position:end], end


# -- trees -----------------------------------------------------------------------------

def _number(item):
    if isinstance(item, bool):
        return None
    if isinstance(item, (int, float)):
        return float(item)
    if isinstance(item, str):
        try:
            return float(item)
        except ValueError:
            return None
    return None


class _Builder:
    """Turns a nested list into nodes; each method checks one kind of operation."""

    def __init__(self, parse_duration):
        self.parse_duration = parse_duration
        self.kinds = {'metric': self.metric, 'aggregate': self.aggregate,
                      'rolling': self.rolling, 'resample': self.resample}

    def operation(self, items, path, depth):
        if not isinstance(items, (list, tuple)):
            raise errors.InvalidOperationsInput(
                'Expected a tuple/list, got a %s' % type(items).__name__, path=path)
        if not items:
            raise errors.InvalidOperationsInput('Operation must not be empty', path=path)
        if depth > MAX_DEPTH:
            raise errors.InvalidOperationsInput(
                "'%s' operation invalid" % (items[0],),
                'operations nested deeper than %d levels' % MAX_DEPTH, path)
        op = items[0]
        if isinstance(op, str) and op in self.kinds:
            return self.kinds[op](items, path, depth)
        if isinstance(op, str) and (op in tree_mod.UNARY or op in tree_mod.BINARY
                                    or op in tree_mod.TERNARY):
            return self.operator(items, path, depth)
        raise errors.InvalidOperationsInput("'%s' operation invalid" % (op,),
                                            'unknown operator', path)

    def operand(self, items, index, path, depth, series=False):
        item, where = items[index], '%s[%d]' % (path, index)
        if isinstance(item, (list, tuple)):
            node = self.operation(item, where, depth + 1)
        else:
            number = _number(item)
            if number is None:
                raise errors.InvalidOperationsInput(
                    "'%s' operation invalid" % items[0],
                    '%r is neither a number nor an operation' % (item,), where)
            node = tree_mod.Number(number)
        if series and not node.has_metric:
            raise errors.InvalidOperationsInput(
                "'%s' operation invalid" % items[0],
                'needs a series (an operation that reads a metric), got %s' % node, where)
        return node

    @staticmethod
    def arity(items, path, counts, usage):
        if len(items) - 1 not in counts:
            raise errors.InvalidOperationsInput(
                "'%s' operation invalid" % items[0],
                'expected %s, got %d arguments' % (usage, len(items) - 1), path)

    def metric(self, items, path, depth):
        if len(items) < 2:
            raise errors.InvalidOperationsInput('Operation need at least one argument',
                                                path=path)
        args = items[1:]
        if len(args) == 2 and all(isinstance(a, str) for a in args):
            return tree_mod.Metric((tuple(args),))
        pairs = all(isinstance(a, (list, tuple)) and len(a) == 2
                    and all(isinstance(x, str) for x in a) for a in args)
        if not pairs:
            raise errors.InvalidOperationsInput(
                "'metric' operation invalid",
                'expected (metric <reference> <aggregation>) or '
                '(metric (<reference> <aggregation>) ...)', path)
        return tree_mod.Metric(tuple(tuple(a) for a in args), listed=True)

    def method(self, items, path, allowed):
        if not isinstance(items[1], str) or items[1] not in allowed:
            raise errors.InvalidOperationsInput(
                "'%s' operation invalid" % items[0],
                'unknown method %r, expected one of %s'
                % (items[1], ', '.join(sorted(allowed))), '%s[1]' % path)
        return items[1]

    def aggregate(self, items, path, depth):
        self.arity(items, path, (2,), '(aggregate <method> <series>)')
        method = self.method(items, path, tree_mod.AGGREGATE_METHODS)
        return tree_mod.Aggregate(method, self.operand(items, 2, path, depth, series=True))

    def rolling(self, items, path, depth):
        self.arity(items, path, (3,), '(rolling <method> <window> <series>)')
        method = self.method(items, path, tree_mod.AGGREGATE_METHODS)
        window = _window(items[2])
        if window is None:
            raise errors.InvalidOperationsInput(
                "'rolling' operation invalid",
                'the window must be a whole number >= 1, got %r' % (items[2],),
                '%s[2]' % path)
        return tree_mod.Rolling(method, window,
                                self.operand(items, 3, path, depth, series=True))

    def resample(self, items, path, depth):
        self.arity(items, path, (3,), '(resample <method> <granularity> <series>)')
        method = self.method(items, path, tree_mod.RESAMPLE_METHODS)
        if calendar.is_period(items[2]):
            granularity = items[2]
        else:
            granularity = _duration_ns(items[2], self.parse_duration)
        if granularity is None:
            raise errors.InvalidOperationsInput(
                "'resample' operation invalid",
                'the granularity must be a positive duration or a calendar period (%s), '
                'got %r' % (', '.join(calendar.PERIODS), items[2]), '%s[2]' % path)
        return tree_mod.Resample(method, granularity,
                                 self.operand(items, 3, path, depth, series=True))

    def operator(self, items, path, depth):
        op = items[0]
        if op in tree_mod.UNARY:
            name = tree_mod.UNARY[op]
            self.arity(items, path, (1,), '(%s <operand>)' % op)
        elif op in tree_mod.BINARY:
            name = tree_mod.BINARY[op]
            self.arity(items, path, (2,), '(%s <operand> <operand>)' % op)
        else:
            name = tree_mod.TERNARY[op]
            self.arity(items, path, (2, 3), '(%s <operand> <min> [<max>])' % op)
        series = name in tree_mod.TIMED_UNARY
        operands = tuple(self.operand(items, i, path, depth, series)
                         for i in range(1, len(items)))
        return tree_mod.Operator(op, name, operands)


def _window(item):
    if isinstance(item, bool):
        return None
    if isinstance(item, float) and item.is_integer():
        item = int(item)
    if isinstance(item, str):
        try:
            item = int(item)
        except ValueError:
            return None
    if isinstance(item, int) and item >= 1:
        return item
    return None


def _duration_ns(item, parse_duration):
    seconds = _number(item)
    if seconds is None and isinstance(item, str):
        seconds = parse_duration(item)
    if seconds is None or not 0 < seconds * 1e9 <= _MAX_NS:  # NaN, or beyond int64 ns
        return None
    return int(round(seconds * 1e9))


def _builtin_duration(text):
    match = _DURATION.match(text)
    if match is None:
        return None
    unit = next(i for i, group in enumerate(match.groups()[1:]) if group)
    return float(match.group(1)) * _UNIT_SECONDS[unit]
