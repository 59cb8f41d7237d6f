"""CloudWatch's AlarmRule language of composite alarms, parsed (never evaluated as code) into a
small tree and evaluated over the states of the alarms it names. Pure: no I/O.

Grammar (AWS's): ``ALARM(name)``, ``OK(name)``, ``INSUFFICIENT_DATA(name)`` (the name bare, or
in double quotes with ``\\"`` and ``\\\\`` escapes, or an alarm ARN), ``TRUE``, ``FALSE``,
``NOT x``, ``x AND y``, ``x OR y`` and parentheses; NOT binds tighter than AND, AND than OR.
A tree is ``('state', STATE, name)``, ``('const', bool)``, ``('not', x)``, ``('and', x, y)``
or ``('or', x, y)``.
"""

import re

STATES = ('ALARM', 'OK', 'INSUFFICIENT_DATA')
MAX_LENGTH = 10240
MAX_ALARMS = 100  # alarms one rule may name (AWS's limit)
MAX_DEPTH = 64  # nesting refused beyond this, rather than recursing without end
_TOKEN = re.compile(r'\s*(?:(?P<punct>[()])|(?P<word>[A-Za-z_]+))')
_ARN = re.compile(r'^arn:[^:]+:cloudwatch:[^:]*:[^:]*:alarm:(?P<name>.+)$')


class InvalidAlarmRule(ValueError):
    """The rule does not parse; the text says where and why (``position``: its offset)."""

    def __init__(self, message, position):
        super().__init__('%s (at character %d)' % (message, position + 1))
        self.position = position


def parse(text):
    """The tree of an AlarmRule text; InvalidAlarmRule when it does not parse."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidAlarmRule('the rule is empty', 0)
    if len(text) > MAX_LENGTH:
        raise InvalidAlarmRule('the rule is longer than %d characters' % MAX_LENGTH,
                               MAX_LENGTH)
    parser = _Parser(text)
    tree = parser.expression(0)
    parser.skip_space()
    if parser.position != len(text):
        raise InvalidAlarmRule('unexpected %r' % _excerpt(text, parser.position),
                               parser.position)
    if len(names(tree)) > MAX_ALARMS:
        raise InvalidAlarmRule('the rule names more than %d alarms' % MAX_ALARMS, 0)
    return tree


def names(tree):
    """The alarm names a tree refers to, each once, in order of appearance."""
    found = {}
    _collect(tree, found)
    return list(found)


def _collect(tree, found):
    if tree[0] == 'state':
        found.setdefault(tree[2])
    elif tree[0] in ('not', 'and', 'or'):
        for child in tree[1:]:
            _collect(child, found)


def evaluate(tree, states):
    """Whether the rule holds, ``states`` giving each named alarm's state (one of
    ``STATES``; an alarm it lacks counts as INSUFFICIENT_DATA)."""
    kind = tree[0]
    if kind == 'const':
        return tree[1]
    if kind == 'state':
        return states.get(tree[2], 'INSUFFICIENT_DATA') == tree[1]
    if kind == 'not':
        return not evaluate(tree[1], states)
    left = evaluate(tree[1], states)
    if kind == 'and':
        return left and evaluate(tree[2], states)
    return left or evaluate(tree[2], states)


def alarm_name(reference):
    """The alarm name of an AlarmRule's reference: the name itself, or an alarm ARN's."""
    match = _ARN.match(reference)
    return match.group('name') if match else reference


def _excerpt(text, position):
    return text[position:position + 20]


class _Parser:
    """A recursive-descent parser over the text (precedence climbing: OR < AND < NOT)."""

    def __init__(self, text):
        self.text = text
        self.position = 0

    def skip_space(self):
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def peek_word(self):
        match = _TOKEN.match(self.text, self.position)
        return match.group('word') if match and match.group('word') else None

    def take_word(self, word):
        match = _TOKEN.match(self.text, self.position)
        if match and match.group('word') == word:
            self.position = match.end()
            return True
        return False

    def expect(self, char):
        self.skip_space()
        if not self.text.startswith(char, self.position):
            found = _excerpt(self.text, self.position) or 'the end of the rule'
            raise InvalidAlarmRule('expected %r, found %r' % (char, found), self.position)
        self.position += 1

    def expression(self, depth):
        if depth > MAX_DEPTH:
            raise InvalidAlarmRule('the rule nests deeper than %d levels' % MAX_DEPTH,
                                   self.position)
        tree = self.conjunction(depth)
        while self.take_word('OR'):
            tree = ('or', tree, self.conjunction(depth))
        return tree

    def conjunction(self, depth):
        tree = self.negation(depth)
        while self.take_word('AND'):
            tree = ('and', tree, self.negation(depth))
        return tree

    def negation(self, depth):
        if self.take_word('NOT'):
            if depth > MAX_DEPTH:
                raise InvalidAlarmRule('the rule nests deeper than %d levels' % MAX_DEPTH,
                                       self.position)
            return ('not', self.negation(depth + 1))
        return self.primary(depth)

    def primary(self, depth):
        self.skip_space()
        start = self.position
        if self.text.startswith('(', start):
            self.position += 1
            tree = self.expression(depth + 1)
            self.expect(')')
            return tree
        word = self.peek_word()
        if word in ('TRUE', 'FALSE'):
            self.take_word(word)
            return ('const', word == 'TRUE')
        if word in STATES:
            self.take_word(word)
            self.expect('(')
            name = self.argument()
            self.expect(')')
            return ('state', word, alarm_name(name))
        found = _excerpt(self.text, start) or 'the end of the rule'
        raise InvalidAlarmRule('expected ALARM(...), OK(...), INSUFFICIENT_DATA(...), TRUE, '
                               'FALSE, NOT or "(", found %r' % found, start)

    def argument(self):
        self.skip_space()
        start = self.position
        if self.text.startswith('"', start):
            return self.quoted()
        end = self.text.find(')', start)
        if end < 0:
            raise InvalidAlarmRule('the alarm name is not closed by ")"', start)
        name = self.text[start:end].strip()
        if not name or '"' in name or '(' in name:
            raise InvalidAlarmRule('an alarm name is expected, found %r' % name, start)
        self.position = end
        return name

    def quoted(self):
        start = self.position
        self.position += 1
        chars = []
        while self.position < len(self.text):
            char = self.text[self.position]
            if char == '\\' and self.position + 1 < len(self.text):
                chars.append(self.text[self.position + 1])
                self.position += 2
                continue
            self.position += 1
            if char == '"':
                if not chars:
                    raise InvalidAlarmRule('the alarm name is empty', start)
                return ''.join(chars)
            chars.append(char)
        raise InvalidAlarmRule('the quoted alarm name is not closed', start)
