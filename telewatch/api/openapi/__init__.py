"""The OpenAPI 3.1 description of the API, kept as data beside the code it describes:
``base.yaml`` (the frame and what every piece shares) and one file per controller module,
merged once; served at ``/v1/openapi.json``."""

import functools
import json
import pathlib

import yaml

HERE = pathlib.Path(__file__).resolve().parent
BASE = 'base.yaml'
# What a piece may hold: its paths and the components they use.
_PIECE_KEYS = frozenset(('paths', 'components'))


def _merge(document, piece, source):
    unknown = set(piece) - _PIECE_KEYS
    if unknown:
        raise ValueError('%s: unexpected keys %s' % (source, ', '.join(sorted(unknown))))
    sections = [(('paths',), document['paths'], piece.get('paths', {}))]
    for name, entries in piece.get('components', {}).items():
        sections.append((('components', name), document['components'].setdefault(name, {}),
                         entries))
    for where, target, entries in sections:
        for key, value in entries.items():
            if key in target:
                raise ValueError('%s: %s %s is defined twice' % (source, '.'.join(where), key))
            target[key] = value


@functools.lru_cache(maxsize=None)
def _load():
    document = yaml.safe_load((HERE / BASE).read_text())
    for path in sorted(HERE.glob('*.yaml')):
        if path.name != BASE:
            _merge(document, yaml.safe_load(path.read_text()), path.name)
    return json.dumps(document)


def document(version=None):
    """The whole description, a new dict each call; ``info.version`` is ``version`` when
    given (the API serves it with telewatch's build)."""
    loaded = json.loads(_load())
    if version is not None:
        loaded['info']['version'] = version
    return loaded


@functools.lru_cache(maxsize=4)
def as_json(version):
    """The description as the JSON bytes the API serves."""
    return json.dumps(document(version)).encode('utf-8')
