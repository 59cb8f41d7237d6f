"""``/v1/status`` (admin: what waits for processing, processors, telewatch's counters, the
storage's health: ``telewatch.storage``, see ``ArchiveStore.health``; resources by type,
and the other components' reports: ``ArchiveStore.components``) and
``/v1/capabilities`` (every aggregation method an archive policy may use)."""

import pecan

from telewatch.api import framework
from telewatch.api import rest
from telewatch.archive import policy as policy_mod


class StatusController(framework.RestController):
    @pecan.expose('json')
    def get_all(self):
        rest.enforce('get status')
        details = rest.query_bool('details', default=True)  # Gnocchi's default
        store = rest.store()
        counters = pecan.request.environ.get('telewatch.counters')
        storage, backlog = store.backlog(details=details)
        telewatch = dict(counters() if counters else {}, storage=store.health(),
                         resources=store.index.count_resources(),
                         components=store.components(), backlog=backlog)
        return {'storage': storage,
                'metricd': {'processors': None, 'statistics': {}},
                'telewatch': telewatch}


class CapabilitiesController(framework.RestController):
    @pecan.expose('json')
    def get_all(self):
        return {'aggregation_methods': sorted(policy_mod.ALL_METHODS)}
