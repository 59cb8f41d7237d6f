"""What telewatch changes in Pecan, applied by ``make_pecan_app``: a request whose JSON body
is decoded once, and safely, and whose method is its HTTP method (no ``_method``); JSON
responses written by orjson; argument specs looked up once per controller function; and
``RestController``, the base of telewatch's, checked once per class."""

import json
import math
import re
import types
import weakref

import orjson
import pecan
import pecan.core
import pecan.jsonify
import pecan.rest
import pecan.routing
import pecan.util
import webob.multidict

from telewatch import text as text_mod

# Pecan's routing asks for the argument spec of every controller it passes through, on every
# request (about ten per metric read, each building a namedtuple class: 2 ms of a 5 ms read).
# A function's spec never changes, so it is computed once per function. Pecan's modules
# import ``getargspec`` by name from pecan.util; these are the ones that call it per request.
_PECAN_GETARGSPEC = pecan.util.getargspec
_ROUTING_MODULES = (pecan.core, pecan.rest, pecan.routing)
_ARGSPECS = weakref.WeakKeyDictionary()
# How a NUL or a surrogate appears in a JSON text (a raw one does not decode): where none
# does, no string of the body needs a look.
_UNSTORABLE_ESCAPE = re.compile(rb'\\u(?:0000|[dD][89a-fA-F])')
BODY_KEY = 'telewatch.json_body'


# Deeper than any body the API reads (operations and search queries stop at 64 levels), and
# shallow enough for any recursive code (jsonpatch's deepcopy, voluptuous) to walk.
MAX_DEPTH = 256


class UnstorableText(ValueError):
    """A body holding a text no backend can store (``telewatch.text``): ``path`` to it in
    the body (keys and indexes), ``reason``."""

    def __init__(self, path, reason):
        super().__init__('%s: %s' % ('.'.join(map(str, path)) or 'body', reason))
        self.path = path
        self.reason = reason


def decode_json(data):
    """The value of a JSON body (bytes; empty is null); ValueError saying what is wrong,
    for a body nested deeper than ``MAX_DEPTH`` too, and UnstorableText (a ValueError) for
    one holding a NUL or a lone surrogate."""
    data = data or b'null'
    too_deep = ValueError('nested deeper than %d levels' % MAX_DEPTH)
    try:
        value = json.loads(data.decode('utf-8'))
    except RecursionError:
        raise too_deep from None
    # ValueError (UnicodeError included) passes through.
    if data.count(b'[') + data.count(b'{') > MAX_DEPTH and not _within_depth(value):
        raise too_deep
    if _UNSTORABLE_ESCAPE.search(data):
        found = text_mod.find_unstorable(value)
        if found is not None:
            raise UnstorableText(*found)
    return value


def _within_depth(value):
    """Whether ``value`` nests lists and dicts at most ``MAX_DEPTH`` deep (level by
    level, without recursion)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [item for container in level
                 for item in (container.values() if type(container) is dict else container)
                 if type(item) is list or type(item) is dict]
        if not level:
            return True
    return False


class Request(pecan.Request):
    """Pecan's request, its JSON body decoded at most once (``decoded_json``).

    Pecan decodes the body of every ``application/json`` request itself (``json``), to
    pass an object's keys as controller arguments (telewatch's controllers take none): a
    body nested deeper than Python's recursion limit raised there, before any controller
    ran (a 500); every body was decoded twice; and a body that is no object was formatted
    into an exception's message (3 ms for 5,000 measures).
    """

    def decoded_json(self):
        """The body's JSON value (null when empty), decoded on the first call; ValueError
        when it does not decode or nests deeper than ``MAX_DEPTH`` (``rest.json_body``
        answers it with a 400)."""
        decoded = self.environ.get(BODY_KEY)
        if decoded is None:
            try:
                decoded = (decode_json(self.body), None)
            except ValueError as exc:
                decoded = (None, exc)
            self.environ[BODY_KEY] = decoded
        value, error = decoded
        if error is not None:
            raise error.with_traceback(None)
        return value

    @property
    def json(self):
        """What Pecan passes as controller arguments: a body that is a JSON object;
        ValueError for any other, which Pecan takes as no arguments."""
        value = self.decoded_json()
        if not isinstance(value, dict):
            raise ValueError('the body is not a JSON object')
        return value

    json_body = json

    @property
    def params(self):
        """The query's parameters but ``_method``; a body is never read as a form.

        Pecan's RestController routes a request by ``params['_method']`` when there is
        one: a GET of ``?_method=post`` created, a POST of ``?_method=delete`` (or of a form
        body ``_method=delete`` without a Content-Type) deleted. A page on another site can
        send such requests from a browser; Gnocchi's clients never send ``_method``, so a
        request here is routed by its HTTP method alone.
        """
        query = self.GET
        if '_method' not in query:
            return query
        return webob.multidict.MultiDict(
            (name, value) for name, value in query.items() if name != '_method')


class RestController(pecan.rest.RestController):
    """Pecan's RestController, its class checked at the first instantiation only.

    Pecan checks the class's members (``inspect.getmembers``) at every instantiation, and
    a metric's controllers are made for each request (75 us of a 2 ms read).
    """

    _checked = False

    def __new__(cls, *args, **kwargs):
        if cls.__dict__.get('_checked'):
            return object.__new__(cls)
        instance = super().__new__(cls, *args, **kwargs)
        cls._checked = True
        return instance


class JsonRenderer:
    """Pecan's ``json`` template, written by orjson (a 1,000-point read: 0.1 ms instead of
    0.6 with json).

    orjson writes NaN and infinities as null, where json (and so Gnocchi) writes ``NaN``
    and ``Infinity``, which clients read back as numbers: a document whose orjson text holds
    a null, and one orjson cannot write (a type it does not know, an integer beyond 64
    bits), goes through Pecan's own encoder, as before.
    """

    def __init__(self, path, extra_vars):
        pass

    def render(self, template_path, namespace):
        try:
            text = orjson.dumps(namespace)
        except TypeError:
            return pecan.jsonify.encode(namespace)
        if b'null' in text:
            if _has_nonfinite(namespace):
                return pecan.jsonify.encode(namespace)
            # Written with ": " as Pecan's encoder (and Gnocchi) writes them, which
            # clients matching text (Gnocchi's own tests) look for.
            return orjson.dumps(namespace, option=orjson.OPT_INDENT_2)
        return text


def _has_nonfinite(value):
    """Whether a NaN or an infinity is somewhere in ``value`` (a listing of 1,000 resources
    holds nulls, and is looked through in 2 ms where Pecan's encoder takes 40)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            return True
    return False


def cached_getargspec(method):
    """``pecan.util.getargspec(method)``, computed once per function (a bound method's spec
    is its function's, ``self`` included)."""
    function = getattr(method, '__func__', method)
    if not isinstance(function, types.FunctionType):  # a callable object: not kept
        return _PECAN_GETARGSPEC(method)
    spec = _ARGSPECS.get(function)
    if spec is None:
        spec = _ARGSPECS[function] = _PECAN_GETARGSPEC(method)
    return spec


def install_argspec_cache():
    """Make Pecan's routing use ``cached_getargspec`` (process-wide, idempotent)."""
    for module in _ROUTING_MODULES:
        if getattr(module, 'getargspec', None) is _PECAN_GETARGSPEC:
            module.getargspec = cached_getargspec


def make_pecan_app(root, **options):
    """``pecan.make_app(root, **options)`` with the changes above."""
    install_argspec_cache()
    return pecan.make_app(root, request_cls=Request,
                          custom_renderers={'json': JsonRenderer}, **options)


def error_json(document):
    """The JSON text of an error body with its non-ASCII text as is (Gnocchi's: clients
    match on ``timespan ≠ granularity × points``); escaped only where a lone surrogate
    (from a request's own escapes) could not be sent as UTF-8."""
    text = json.dumps(document, ensure_ascii=False)
    try:
        text.encode('utf-8')
    except UnicodeEncodeError:
        return json.dumps(document)
    return text
