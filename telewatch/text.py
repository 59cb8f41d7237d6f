"""Which texts telewatch accepts: those every archive backend can store. The one rule the
API's input (and the samples) are checked against at the edge, so that the SQLite and
PostgreSQL indexes never disagree on what is kept."""

import re

# PostgreSQL refuses NUL in text and jsonb ("A string literal cannot contain NUL"), where
# SQLite stores it; a lone UTF-16 surrogate is no character, and no UTF-8 text holds one.
_UNSTORABLE = re.compile('[\x00\ud800-\udfff]')


def unstorable_reason(text):
    """Why no backend can store the str ``text``, or None when every one can."""
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == '\x00':
        return 'NUL (U+0000) is not allowed in a text'
    return 'a lone surrogate (U+%04X) is no character' % ord(match.group())


def find_unstorable(value):
    """``(path, reason)`` of the first text of a JSON value (object keys included) that no
    backend can store, the path a list of the keys and indexes leading to it; None when
    there is none."""
    pending = [((), value)]
    while pending:  # no recursion: a value may nest as deep as its decoder allowed
        path, item = pending.pop()
        if isinstance(item, str):
            reason = unstorable_reason(item)
            if reason is not None:
                return list(path), reason
        elif isinstance(item, dict):
            for key in item:
                reason = unstorable_reason(key) if isinstance(key, str) else None
                if reason is not None:
                    return list(path) + [key], reason
            pending.extend((path + (key,), child) for key, child in reversed(item.items()))
        elif isinstance(item, (list, tuple)):
            pending.extend((path + (i,), item[i]) for i in reversed(range(len(item))))
    return None
