"""What telewatch changes in Pecan, applied by ``make_pecan_app``: argument specs looked up
once per controller function instead of on every request."""

import types
import weakref

import pecan
import pecan.core
import pecan.rest
import pecan.routing
import pecan.util

# Pecan's routing asks for the argument spec of every controller it passes through, on every
# request (about ten per metric read, each building a namedtuple class: 2 ms of a 5 ms read).
# A function's spec never changes, so it is computed once per function. Pecan's modules
# import ``getargspec`` by name from pecan.util; these are the ones that call it per request.
_PECAN_GETARGSPEC = pecan.util.getargspec
_ROUTING_MODULES = (pecan.core, pecan.rest, pecan.routing)
_ARGSPECS = weakref.WeakKeyDictionary()


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
    return pecan.make_app(root, **options)
