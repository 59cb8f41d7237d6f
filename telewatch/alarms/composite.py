"""Aodh's composite rules: an and/or tree of threshold rules whose leaves are judged on
their own and combined. Pure.

The tree is ``{"and": [...]}`` / ``{"or": [...]}`` nested at will, its leaves threshold rules
(named ``rule1``, ``rule2``, ... depth first, as Aodh names them). The alarm goes to
``alarm`` when the tree holds with each leaf read as "is in alarm"; otherwise to ``ok`` when
the dual tree (and and or swapped) holds with each leaf read as "is ok"; otherwise, neither
being conclusive, to ``insufficient data``. A leaf whose window is mixed (Aodh's rules) or
whose missing data is ignored counts as the alarm's current state (its most recent point's
side when that is insufficient data), as it would alone; Aodh's code instead counts it as
the opposite of its trend, which reads as a slip and is not copied (doc/alarms.md).
"""

import dataclasses

from telewatch.alarms import constraints
from telewatch.alarms import evaluation
from telewatch.alarms import rules

_DESCRIPTIONS = {rules.ALARM: 'outside their threshold.',
                 rules.OK: 'inside their threshold.',
                 rules.INSUFFICIENT_DATA: 'state evaluated to unknown.'}
_DUAL = {'and': 'or', 'or': 'and'}


@dataclasses.dataclass(frozen=True)
class CompositeRule:
    """``shape``: a leaf's index, or ``(operator, (shape, ...))``; ``rules``: the leaves'
    ``ThresholdRule``, depth first; ``sources``: the leaves as given."""

    shape: object
    rules: tuple
    sources: tuple

    @classmethod
    def from_aodh(cls, tree):
        leaves = []
        shape = _parse(tree, leaves, 'composite_rule')
        return cls(shape, tuple(rule for rule, _ in leaves),
                   tuple(source for _, source in leaves))

    @property
    def form(self):
        """Aodh's composition form: ``(rule1 and (rule2 or rule3))``."""
        return _form(self.shape)


def evaluate(composite, previous, datapoints, now, repeat_actions=False, time_constraints=()):
    """``datapoints``: one list per leaf, in ``composite.rules`` order."""
    evaluation.check_state(previous)
    if len(datapoints) != len(composite.rules):
        raise ValueError('%d datapoint lists for %d rules'
                         % (len(datapoints), len(composite.rules)))
    if not constraints.within(time_constraints, now):
        return evaluation.outside_time_constraints(previous)
    verdicts = [evaluation.judge(rule, points, now)
                for rule, points in zip(composite.rules, datapoints)]
    return combine(composite, verdicts, previous, repeat_actions)


def combine(composite, verdicts, previous, repeat_actions=False):
    """Combine the leaves' ``evaluation.Verdict``s into the alarm's ``Evaluation``."""
    leaf_states = [leaf_state(verdict, previous) for verdict in verdicts]
    if _holds(composite.shape, leaf_states, rules.ALARM, dual=False):
        state = rules.ALARM
    elif _holds(composite.shape, leaf_states, rules.OK, dual=True):
        state = rules.OK
    else:
        state = rules.INSUFFICIENT_DATA
    reason, reason_data = _reason(composite, leaf_states, state, previous)
    return evaluation.Evaluation(state, previous, state != previous or bool(repeat_actions),
                                 reason, reason_data)


def leaf_state(verdict, previous):
    # An inconclusive leaf does what it would alone.
    if verdict.state is None:
        return evaluation.next_state(verdict, previous)
    return verdict.state


def _parse(tree, leaves, path):
    if isinstance(tree, dict) and len(tree) == 1 and next(iter(tree)) in _DUAL:
        operator = next(iter(tree))
        children = tree[operator]
        if not isinstance(children, list) or not children:
            raise rules.InvalidRule('%s.%s' % (path, operator), 'a non-empty list of rules')
        return (operator, tuple(_parse(child, leaves, '%s.%s[%d]' % (path, operator, index))
                                for index, child in enumerate(children)))
    if not isinstance(tree, dict):
        raise rules.InvalidRule(path, 'a rule or an and/or of rules, not %r' % (tree,))
    try:
        leaves.append((rules.ThresholdRule.from_aodh(tree), tree))
    except rules.InvalidRule as error:
        raise rules.InvalidRule('%s.%s' % (path, error.field), error.detail) from None
    return len(leaves) - 1


def _holds(shape, leaf_states, wanted, dual):
    if isinstance(shape, int):
        return leaf_states[shape] == wanted
    operator, children = shape
    if dual:
        operator = _DUAL[operator]
    results = (_holds(child, leaf_states, wanted, dual) for child in children)
    return all(results) if operator == 'and' else any(results)


def _form(shape):
    if isinstance(shape, int):
        return 'rule%d' % (shape + 1)
    operator, children = shape
    return '(' + (' %s ' % operator).join(_form(child) for child in children) + ')'


def _reason(composite, leaf_states, state, previous):
    causes = {'rule%d' % (index + 1): composite.sources[index]
              for index, leaf in enumerate(leaf_states) if leaf == state}
    reason_data = {'type': 'composite', 'composition_form': composite.form,
                   'causative_rules': causes}
    words = {'expression': composite.form, 'state': state,
             'rules': ', '.join(sorted(causes)), 'description': _DESCRIPTIONS[state],
             'change': 'transition to' if state != previous else 'remaining as'}
    return ('Composite rule alarm with composition form: %(expression)s %(change)s '
            '%(state)s, due to rules: %(rules)s %(description)s' % words), reason_data
