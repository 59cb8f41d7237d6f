"""What telewatch changes in Pecan (telewatch/api/framework.py)."""

import pecan.core
import pecan.rest
import pecan.routing
import pecan.util

from telewatch.api import framework
from telewatch.api.controllers import metric as metric_api
from telewatch.api.controllers import root


def test_the_app_routes_with_cached_argument_specs(api):
    # If a Pecan upgrade renames or moves its getargspec, this fails: the cache is gone.
    for module in (pecan.core, pecan.rest, pecan.routing):
        assert module.getargspec is framework.cached_getargspec, module.__name__


def test_a_cached_spec_is_pecans():
    controllers = [root.RootController().index_get,
                   metric_api.MetricsController()._lookup,
                   metric_api.MetricsController().post,  # decorated by pecan.expose
                   metric_api.MetricsController._lookup,
                   pecan.rest.RestController()._handle_get]
    for controller in controllers:
        assert framework.cached_getargspec(controller) == pecan.util.getargspec(controller)


def test_a_function_spec_is_computed_once():
    first = framework.cached_getargspec(metric_api.MetricsController()._lookup)
    again = framework.cached_getargspec(metric_api.MetricsController()._lookup)
    assert again is first
    assert first.args == ['self', 'metric_id'] and first.varargs == 'remainder'


def test_a_callable_object_is_not_kept():
    class Handler:
        def __call__(self, a, b=1):
            return a

    handler = Handler()
    assert framework.cached_getargspec(handler) == pecan.util.getargspec(handler)
    assert handler not in framework._ARGSPECS
