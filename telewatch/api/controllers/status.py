"""``/v1/status`` (admin: what waits for processing, processors, telewatch's counters) and
``/v1/capabilities`` (every aggregation method an archive policy may use)."""

import pecan

from telewatch.api import framework
from telewatch.api import rest
from telewatch.archive import policy as policy_mod


class StatusController(framework.RestController):
    @pecan.expose('json')
    def get_all(self):
        rest.enforce('get status')
        details = rest.query_bool('details')
        storage = rest.store().status(details=details)
        counters = pecan.request.environ.get('telewatch.counters')
        return {'storage': storage,
                'metricd': {'processors': None, 'statistics': {}},
                'telewatch': counters() if counters else {}}


class CapabilitiesController(framework.RestController):
    @pecan.expose('json')
    def get_all(self):
        return {'aggregation_methods': sorted(policy_mod.ALL_METHODS)}
