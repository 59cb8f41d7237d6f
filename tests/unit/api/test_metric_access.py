"""Who reads which metrics' measures through ``/v1/aggregates``: each metric is checked
(``get measures`` on its creator and its resource's owners), each owner once a request."""

import pytest

from telewatch.api import policy


def caller(project):
    return {'X-User-Id': 'user-' + project, 'X-Project-Id': project, 'X-Roles': 'member'}


def metrics_of(api, project, count):
    return [api.post_json('/v1/metric', {'archive_policy_name': 'low'},
                          headers=caller(project)).json['id'] for _ in range(count)]


def aggregate(api, project, metric_ids, status=200):
    operations = '(aggregate mean (metric %s))' % ' '.join('(%s mean)' % m for m in metric_ids)
    return api.post_json('/v1/aggregates', {'operations': operations},
                         headers=caller(project), status=status)


@pytest.fixture
def decisions(monkeypatch):
    """The rules and targets the policy was asked about."""
    asked = []
    enforce = policy.enforce

    def counting(enforcer, context, rule, target=None):
        asked.append((rule, dict(target or {})))
        return enforce(enforcer, context, rule, target)

    monkeypatch.setattr(policy, 'enforce', counting)
    return asked


def test_metrics_of_one_owner_are_checked_once(api, decisions):
    aggregate(api, 'pa', metrics_of(api, 'pa', 3))
    assert [rule for rule, _ in decisions].count('get measures') == 1


def test_each_owner_is_checked(api, decisions):
    mine, theirs = metrics_of(api, 'pa', 2), metrics_of(api, 'pb', 1)
    aggregate(api, 'pa', mine + theirs, status=403)
    creators = [t['created_by_project_id'] for rule, t in decisions if rule == 'get measures']
    assert creators == ['pa', 'pb']
    aggregate(api, 'pb', theirs)
