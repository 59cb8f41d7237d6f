"""What ``/v1/status`` tells the console's overview: resources by type (active and ended)
and the reports of the other components (agents, evaluators), kept apart from the
processors' and dropped a day after their last one."""

import pathlib
import time

from telewatch import component_reports

REPO = pathlib.Path(__file__).resolve().parents[3]
ADMIN = {'X-User-Id': 'admin', 'X-Project-Id': 'admin', 'X-Roles': 'admin'}


def test_resources_are_counted_by_type_with_the_ended_ones(api):
    for n in range(3):
        api.post_json('/v1/resource/generic', {'id': 'r%d' % n}, headers=ADMIN)
    api.post_json('/v1/resource/generic', {'id': 'gone', 'ended_at': '2024-01-01T00:00:00'},
                  headers=ADMIN)
    api.post_json('/v1/resource_type', {'name': 'box', 'attributes': {}}, headers=ADMIN)
    api.post_json('/v1/resource/box', {'id': 'b1'}, headers=ADMIN)
    counts = api.get('/v1/status', headers=ADMIN).json['telewatch']['resources']
    assert counts == {'generic': {'active': 3, 'ended': 1}, 'box': {'active': 1, 'ended': 0}}


def test_components_are_listed_by_kind_and_not_as_processors(api, store):
    now = time.time()
    store.report_processor('host-1', {'state': 'ok', 'updated': now})
    store.report_component('agent', 'node-1-10', {'received': 5, 'updated': now - 30})
    store.report_component('evaluator', 'node-2-11', {'ticks': 2, 'updated': now})
    store.report_component('agent', 'old-12', {'received': 1, 'updated': now - 2 * 86400})
    telewatch = api.get('/v1/status', headers=ADMIN).json['telewatch']
    assert list(telewatch['storage']['processors']) == ['host-1']
    components = telewatch['components']
    assert components == {
        'agent': {'node-1-10': {'received': 5, 'updated': now - 30, 'kind': 'agent'}},
        'evaluator': {'node-2-11': {'ticks': 2, 'updated': now, 'kind': 'evaluator'}}}
    assert store.components() == components  # the stale one is gone for good


def test_status_stays_admin_only(api):
    api.get('/v1/status', headers={'X-User-Id': 'alice', 'X-Project-Id': 'a'}, status=403)


class _Store:
    def __init__(self, fail=False):
        self.reports = []
        self.fail = fail

    def report_component(self, kind, name, status):
        if self.fail:
            raise OSError('disk gone')
        self.reports.append((kind, name, status))


def test_reports_are_stamped_and_a_failing_store_is_counted_not_raised():
    store = _Store()
    reports = component_reports.ComponentReports(store)
    reports.add('evaluator', lambda: component_reports.evaluator_report(
        {'ticks': 3}, {'alarm': 2}), name='e1')
    reports.report()
    kind, name, status = store.reports[0]
    assert (kind, name) == ('evaluator', 'e1')
    assert status['ticks'] == 3 and status['loop_errors'] == 2 and status['updated'] > 0
    reports.store = _Store(fail=True)
    reports.report()
    assert reports.loop_errors['component-reports'] == 1


class _Runner:
    def __init__(self, publisher):
        self.publisher = publisher

    def status(self):
        return {'published': 7, 'dropped': 1, 'queued': 2, 'queue_length': 0,
                'policy': 'queue'}


class _Manager:
    def __init__(self, publishers):
        self.runners = [_Runner(p) for p in publishers]
        self.pipelines = []

    def counters(self):
        return {'received': 9, 'publishers': {repr(r.publisher): r.status()
                                              for r in self.runners},
                'loop_errors': {}}


def test_an_agent_that_archives_reports_through_its_own_store(conf, store):
    from telewatch.publishers import archive
    from telewatch.publishers import base
    assert component_reports.for_agent(conf, lambda: _Manager([object()])) is None
    publisher = archive.ArchivePublisher(base.PublisherURL(
        'archive://?resources_definition_file=%s' % (REPO / 'etc' / 'archive_resources.yaml')),
        conf)
    reports = component_reports.for_agent(conf, lambda: _Manager([publisher]))
    reports.report()
    reports.stop()
    [(name, report)] = store.components()['agent'].items()
    assert report['received'] == 9 and report['derived'] == 0
    assert list(report['publishers'].values()) == [{
        'published': 7, 'dropped': 1, 'queued': 2, 'queue_length': 0, 'policy': 'queue'}]
    assert list(report['publishers'])[0].startswith('archive://')
