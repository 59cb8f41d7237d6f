"""Safe expressions for configuration (a transformer's ``scale``, ``expr``).

An expression is parsed once, checked against a whitelist, and compiled into a tree of
closures; nothing is ever passed to ``eval``. Allowed: numbers, strings, True/False/None,
tuples and lists of those, ``+ - * / // % **``, unary ``- + not``, comparisons (``in`` too),
``and``/``or``, ``x if c else y``, the functions min max abs round float int, and names
with attribute or constant-subscript paths (``resource_metadata.flavor.vcpus``). Which names
exist is the caller's choice (a resolver). A path that does not exist yields MISSING, which
is falsy, so ``resource_metadata.cpu_number or 1`` works. Pure: no config, no I/O.
"""

import ast
import operator

MAX_EXPONENT = 1024
MAX_INTEGER_BITS = 65536
_NUMBERS = (int, float, bool)


class ExpressionError(ValueError):
    """The text is not a valid expression, or uses something not allowed (load time)."""


class EvaluationError(ArithmeticError):
    """Evaluating a valid expression failed for one input (division by zero, missing value)."""


class _Missing:
    __slots__ = ()

    def __bool__(self):
        return False

    def __repr__(self):
        return 'MISSING'


MISSING = _Missing()


def _checked_mul(left, right):
    # Refuse str/list repetition, which would let a configured expression allocate at will.
    if type(left) in _NUMBERS and type(right) in _NUMBERS:
        return left * right
    raise TypeError('* needs numbers, got %s and %s' % (type(left).__name__,
                                                        type(right).__name__))


def _checked_pow(base, exponent):
    if type(base) not in _NUMBERS or type(exponent) not in _NUMBERS:
        raise TypeError('** needs numbers')
    if abs(exponent) > MAX_EXPONENT:
        raise OverflowError('exponent %r is larger than %d' % (exponent, MAX_EXPONENT))
    # Integer powers are exact: bound the result's size, or nested powers allocate at will.
    if type(base) is int and exponent > 0 and \
            (abs(base).bit_length() - 1) * exponent > MAX_INTEGER_BITS:
        raise OverflowError('the power would have more than %d bits' % MAX_INTEGER_BITS)
    return base ** exponent


def _checked_mod(left, right):
    if type(left) in _NUMBERS and type(right) in _NUMBERS:
        return left % right
    raise TypeError('% needs numbers')


_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: _checked_mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: _checked_mod,
           ast.Pow: _checked_pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b}
FUNCTIONS = {'min': min, 'max': max, 'abs': abs, 'round': round, 'float': float, 'int': int}


class Expression:
    """A compiled expression: ``evaluate(env)`` runs it against one input."""

    def __init__(self, text, function, constant, names):
        self.text = text
        self._function = function
        self.is_constant = constant
        self.names = frozenset(names)

    def evaluate(self, env):
        try:
            result = self._function(env)
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise EvaluationError('%s: %s' % (self.text, exc)) from None
        if result is MISSING:
            raise EvaluationError('%s: a value it needs is missing' % self.text)
        return result

    def __repr__(self):
        return '<Expression %r>' % self.text


def compile_expression(text, resolve_name):
    """Compile ``text``; ``resolve_name(name, attributes)`` returns a getter(env) or raises
    ExpressionError for a name that is not allowed. Raises ExpressionError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError('an expression must be a non-empty string')
    try:
        tree = ast.parse(text.strip(), mode='eval')
    except SyntaxError as exc:
        raise ExpressionError('cannot parse %r: %s' % (text, exc.msg)) from None
    compiler = _Compiler(resolve_name)
    function, constant = compiler.compile(tree.body)
    if constant:
        value = function(None)
        function = lambda env: value  # noqa: E731
    return Expression(text, function, constant, compiler.names)


def walk_path(value, attributes):
    """Follow attribute names or keys through nested dicts; MISSING where one is absent."""
    for attribute in attributes:
        if type(value) is dict:
            value = value.get(attribute, MISSING)
        elif isinstance(value, (list, tuple)) and type(attribute) is int:
            value = value[attribute] if -len(value) <= attribute < len(value) else MISSING
        else:
            return MISSING
    return value


def path_getter(getter, attributes):
    """A getter(env) for ``name.a.b`` given the getter of ``name``."""
    attributes = tuple(attributes)
    if not attributes:
        return getter
    if len(attributes) == 1:
        key = attributes[0]

        def get_one(env):
            value = getter(env)
            return value.get(key, MISSING) if type(value) is dict else walk_path(value, (key,))
        return get_one
    return lambda env: walk_path(getter(env), attributes)


def _path(node):
    """The (name, attributes) of a Name/Attribute/constant-Subscript chain, or None."""
    attributes = []
    while True:
        if isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
                and isinstance(node.slice.value, (str, int)):
            attributes.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id, tuple(reversed(attributes))
        else:
            return None


class _Compiler:
    def __init__(self, resolve_name):
        self._resolve_name = resolve_name
        self.names = set()

    def compile(self, node):
        """(function(env), is_constant) for one AST node."""
        method = getattr(self, '_' + type(node).__name__, None)
        if method is None:
            raise ExpressionError('%s is not allowed in an expression'
                                  % _describe(node))
        return method(node)

    def _fold(self, function, *children):
        """Run ``function`` now when every child is constant (constant folding)."""
        if all(constant for _, constant in children):
            try:
                value = function(None)
            except (ArithmeticError, TypeError, ValueError) as exc:
                raise ExpressionError('cannot compute a constant part: %s' % exc) from None
            return (lambda env: value), True
        return function, False

    def _Constant(self, node):
        if not isinstance(node.value, (int, float, str, bool, type(None))):
            raise ExpressionError('the constant %r is not allowed' % (node.value,))
        value = node.value
        return (lambda env: value), True

    def _Tuple(self, node):
        items = [self.compile(item) for item in node.elts]
        functions = tuple(function for function, _ in items)
        return self._fold(lambda env: tuple(f(env) for f in functions), *items)

    _List = _Tuple

    def _Name(self, node):
        return self._path(node)

    def _Attribute(self, node):
        return self._path(node)

    def _Subscript(self, node):
        return self._path(node)

    def _path(self, node):
        found = _path(node)
        if found is None:
            raise ExpressionError('only names, attributes and constant keys can be read')
        name, attributes = found
        if name in FUNCTIONS:
            raise ExpressionError('%s is a function; call it' % name)
        self.names.add(name)
        return self._resolve_name(name, attributes), False

    def _BinOp(self, node):
        op = _BINARY.get(type(node.op))
        if op is None:
            raise ExpressionError('the operator %s is not allowed' % type(node.op).__name__)
        (left, left_constant), (right, right_constant) = \
            self.compile(node.left), self.compile(node.right)
        if right_constant and not left_constant:
            value = right(None)
            return self._fold(lambda env: op(left(env), value), (left, False))
        return self._fold(lambda env: op(left(env), right(env)),
                          (left, left_constant), (right, right_constant))

    def _UnaryOp(self, node):
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ExpressionError('the operator %s is not allowed' % type(node.op).__name__)
        operand = self.compile(node.operand)
        function = operand[0]
        return self._fold(lambda env: op(function(env)), operand)

    def _BoolOp(self, node):
        values = [self.compile(value) for value in node.values]
        functions = tuple(function for function, _ in values)
        if isinstance(node.op, ast.And):
            def evaluate(env):
                result = True
                for function in functions:
                    result = function(env)
                    if not result:
                        return result
                return result
        else:
            def evaluate(env):
                result = False
                for function in functions:
                    result = function(env)
                    if result:
                        return result
                return result
        return self._fold(evaluate, *values)

    def _Compare(self, node):
        operands = [self.compile(node.left)] + [self.compile(c) for c in node.comparators]
        ops = []
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExpressionError('the comparison %s is not allowed' % type(op).__name__)
            ops.append(_COMPARE[type(op)])
        functions = tuple(function for function, _ in operands)
        pairs = tuple(zip(ops, functions, functions[1:]))

        def evaluate(env):
            for op, left, right in pairs:
                if not op(left(env), right(env)):
                    return False
            return True
        return self._fold(evaluate, *operands)

    def _IfExp(self, node):
        test, body, orelse = (self.compile(node.test), self.compile(node.body),
                              self.compile(node.orelse))
        t, b, o = test[0], body[0], orelse[0]
        return self._fold(lambda env: b(env) if t(env) else o(env), test, body, orelse)

    def _Call(self, node):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise ExpressionError('only %s can be called' % ', '.join(sorted(FUNCTIONS)))
        if node.keywords:
            raise ExpressionError('%s() takes no keyword arguments here' % node.func.id)
        function = FUNCTIONS[node.func.id]
        arguments = [self.compile(argument) for argument in node.args]
        getters = tuple(getter for getter, _ in arguments)
        if len(getters) == 1:
            only = getters[0]
            return self._fold(lambda env: function(only(env)), *arguments)
        return self._fold(lambda env: function(*[g(env) for g in getters]), *arguments)


def _describe(node):
    names = {'Lambda': 'lambda', 'ListComp': 'a comprehension', 'GeneratorExp':
             'a generator', 'DictComp': 'a comprehension', 'SetComp': 'a comprehension',
             'NamedExpr': ':=', 'Starred': '*', 'Dict': 'a dict', 'Set': 'a set',
             'JoinedStr': 'an f-string', 'Await': 'await', 'Yield': 'yield'}
    return names.get(type(node).__name__, type(node).__name__)
