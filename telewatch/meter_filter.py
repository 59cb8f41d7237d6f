"""Meter selection lists of pipeline.yaml and polling.yaml: ``*`` wildcards and ``!`` exclusions.

Rules (Ceilometer's): a list holds only included patterns, only excluded ones (``!pat``), or
``*`` alone or with exclusions. A matching exclusion rejects; else a matching inclusion
accepts; else the meter is accepted only when the list has no inclusion at all.
"""

import fnmatch
import re


def check(patterns):
    """The problems of a meter list, as messages (empty when it is valid)."""
    if not isinstance(patterns, list):
        return ['expected a list of meter names or patterns']
    if not patterns:
        return ['no meters specified']
    problems = []
    for index, pattern in enumerate(patterns):
        if not isinstance(pattern, str) or not pattern.lstrip('!'):
            problems.append('entry %d: expected a meter name or pattern, got %r'
                            % (index, pattern))
    if problems:
        return problems
    included = [pattern for pattern in patterns if not pattern.startswith('!')]
    excluded = [pattern for pattern in patterns if pattern.startswith('!')]
    if '*' in included and len(included) > 1:
        problems.append("'*' already selects every meter; remove the other included meters "
                        "(%s)" % ', '.join(p for p in included if p != '*'))
    elif excluded and included and included != ['*']:
        problems.append('cannot mix included and excluded meters (include %s; exclude %s)'
                        % (', '.join(included), ', '.join(excluded)))
    return problems


def _regex(patterns):
    if not patterns:
        return None
    return re.compile('|'.join('(?:%s)' % fnmatch.translate(p) for p in patterns))


class MeterFilter:
    """A compiled, valid meter list (see ``check``)."""

    def __init__(self, patterns):
        self.patterns = tuple(patterns)
        included = [p for p in patterns if not p.startswith('!')]
        self._accept_all = '*' in included or not included
        self._included = _regex(included)
        self._excluded = _regex([p[1:] for p in patterns if p.startswith('!')])

    def __call__(self, name):
        if self._excluded is not None and self._excluded.match(name):
            return False
        if self._accept_all:
            return True
        return self._included.match(name) is not None

    @property
    def explicit_names(self):
        """Meters the list names without any wildcard (a plugin must provide each)."""
        return [p for p in self.patterns
                if not p.startswith('!') and not any(c in p for c in '*?[')]

    def __repr__(self):
        return '<MeterFilter %s>' % ', '.join(self.patterns)
