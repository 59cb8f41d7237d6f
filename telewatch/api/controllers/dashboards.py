"""``/v1/dashboards``: a project's CloudWatch dashboards (the bodies PutDashboard stored),
read-only, for the console and scripts; the caller sees its own project's only."""

import dataclasses
import json
import typing

import pecan
from pecan import rest as pecan_rest

from telewatch.api import rest
from telewatch.api.controllers import aodh
from telewatch.cloudwatch import alarm_shapes
from telewatch.cloudwatch import dashboards as dashboards_mod


@dataclasses.dataclass(frozen=True)
class _Scope:
    """What the CloudWatch dashboards' reads take of a request: the alarm store (whose
    database keeps them) and the project."""

    alarms: typing.Any
    project_id: str


def _scope():
    return _Scope(pecan.request.environ[aodh.ENVIRON_KEY], rest.context().project_id or '')


def _iso(moment):
    return alarm_shapes.aware(moment).isoformat()


class DashboardController(pecan_rest.RestController):
    def __init__(self, name):
        self.name = name

    @pecan.expose('json')
    def get(self):
        scope = _scope()
        rest.enforce('get dashboard', {'project_id': scope.project_id})
        found = dashboards_mod.find(scope, self.name)
        if found is None:
            rest.abort(404, 'Dashboard %s does not exist' % self.name)
        # Stored bodies were checked to be JSON objects by PutDashboard.
        return {'name': found['name'], 'project_id': scope.project_id,
                'last_modified': _iso(found['last_modified']),
                'body': json.loads(found['body'])}


class DashboardsController(pecan_rest.RestController):
    @pecan.expose()
    def _lookup(self, name, *remainder):
        # Looked up by the handler: a missing dashboard is a 404 there.
        return DashboardController(name), remainder

    @pecan.expose('json')
    def get_all(self):
        scope = _scope()
        rest.enforce('list dashboards', {'project_id': scope.project_id})
        entries, params = [], {}
        while True:
            page = dashboards_mod.list_dashboards(scope, params)
            entries += [{'name': entry['DashboardName'],
                         'last_modified': entry['LastModified'].isoformat(),
                         'size': entry['Size']} for entry in page['DashboardEntries']]
            if 'NextToken' not in page:
                return entries
            params = {'NextToken': page['NextToken']}
