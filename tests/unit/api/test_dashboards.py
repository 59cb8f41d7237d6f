"""/v1/dashboards: the CloudWatch dashboards of the caller's project, read-only, from the
store PutDashboard writes; another project's are neither listed nor shown."""

import datetime
import json

from telewatch.api.controllers import aodh
from telewatch.cloudwatch import Context
from telewatch.cloudwatch import dashboards

PA = {'X-User-Id': 'ua', 'X-Project-Id': 'pa'}
PB = {'X-User-Id': 'ub', 'X-Project-Id': 'pb'}
NOW = datetime.datetime(2026, 12, 7, 12, 0, 0, tzinfo=datetime.timezone.utc)
BODY = {'widgets': [{'type': 'text', 'x': 0, 'y': 0, 'width': 6, 'height': 3,
                     'properties': {'markdown': '# Ops <b>'}}], 'start': '-PT3H'}


def put(api, project, name, body=BODY):
    ctx = Context(project_id=project, user_id='u', access_key='AK', request_id='r', now=NOW,
                  conf=None, store=None, alarms=api.app.values[aodh.ENVIRON_KEY])
    dashboards.put_dashboard(ctx, {'DashboardName': name, 'DashboardBody': json.dumps(body)})


def test_a_project_lists_and_reads_its_own_dashboards(api):
    put(api, 'pa', 'ops')
    put(api, 'pa', 'Db-1', {'widgets': []})
    put(api, 'pb', 'bobs')
    listed = api.get('/v1/dashboards', headers=PA).json
    assert [entry['name'] for entry in listed] == ['Db-1', 'ops']
    assert listed[1]['last_modified'] == '2026-12-07T12:00:00+00:00'
    assert listed[1]['size'] == len(json.dumps(BODY))
    shown = api.get('/v1/dashboards/ops', headers=PA).json
    assert shown == {'name': 'ops', 'project_id': 'pa',
                     'last_modified': '2026-12-07T12:00:00+00:00', 'body': BODY}
    assert [entry['name'] for entry in api.get('/v1/dashboards', headers=PB).json] == ['bobs']


def test_another_projects_dashboard_is_not_found(api):
    put(api, 'pa', 'ops')
    response = api.get('/v1/dashboards/ops', headers=PB, status=404)
    assert response.json['description'] == 'Dashboard ops does not exist'
    api.get('/v1/dashboards/nothing', headers=PA, status=404)


def test_read_only_and_authenticated(api):
    api.get('/v1/dashboards', status=401)
    api.post_json('/v1/dashboards', {'name': 'x'}, headers=PA, status=405)
    put(api, 'pa', 'ops')
    api.delete('/v1/dashboards/ops', headers=PA, status=405)
    assert api.get('/v1/dashboards/ops', headers=PA).json['name'] == 'ops'
