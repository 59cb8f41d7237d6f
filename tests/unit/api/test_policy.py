"""The API's default policy (Gnocchi's semantics), an operator's policy file, and the
shipped policy.yaml.sample."""

import os
import pathlib

from oslo_config import cfg
from oslo_policy import generator
from oslo_policy import policy as oslo_policy
import pytest

from telewatch.api import auth
from telewatch.api import policy

REPO = pathlib.Path(__file__).resolve().parents[3]

ALICE = auth.RequestContext('alice', 'project-a', ('member', 'reader'))
BOB = auth.RequestContext('bob', 'project-b', ('member', 'reader'))
ADMIN = auth.RequestContext('admin', 'admin-project', ('admin', 'member', 'reader'))
CAROL = auth.RequestContext('carol', None, auth_method=auth.BASIC)
DAVE = auth.RequestContext('dave', None, auth_method=auth.BASIC)
BASIC_ADMIN = auth.RequestContext('admin', None, ('admin',), auth_method=auth.BASIC)


def resource(project_id, creator='ceilometer:service'):
    """A resource's JSON as the API passes it: in project_id, created by ``creator``."""
    user, _, project = creator.partition(':')
    return {'id': 'r1', 'type': 'generic', 'project_id': project_id, 'user_id': None,
            'creator': creator, 'created_by_user_id': user, 'created_by_project_id': project}


def metric(resource_project_id=None, creator='ceilometer:service'):
    user, _, project = creator.partition(':')
    return {'id': 'm1', 'name': 'cpu', 'creator': creator, 'created_by_user_id': user,
            'created_by_project_id': project,
            'resource': None if resource_project_id is None else resource(resource_project_id)}


@pytest.fixture
def make_enforcer(tmp_path):
    def make(policy_yaml=None, policy_file=None):
        args = []
        if policy_yaml is not None:
            path = tmp_path / 'policy.yaml'
            path.write_text(policy_yaml)
            config = tmp_path / 'telewatch.conf'
            config.write_text('[oslo_policy]\npolicy_file = %s\n' % (policy_file or path))
            args = ['--config-file', str(config)]
        conf = cfg.ConfigOpts()
        conf(args)
        return policy.make_enforcer(conf)
    return make


@pytest.fixture
def enforcer(make_enforcer):
    return make_enforcer()


def test_a_member_reads_the_resources_of_its_project_only(enforcer):
    assert policy.check(enforcer, ALICE, 'get resource', resource('project-a'))
    assert not policy.check(enforcer, ALICE, 'get resource', resource('project-b'))
    assert policy.check(enforcer, BOB, 'get resource', resource('project-b'))


@pytest.mark.parametrize('rule', ['update resource', 'delete resource', 'delete resources'])
def test_a_project_changes_only_what_it_created(enforcer, rule):
    assert policy.check(enforcer, ALICE, rule, resource('project-a', creator='alice:project-a'))
    # Another user of the same project created it: still the project's.
    assert policy.check(enforcer, ALICE, rule, resource(None, creator='eve:project-a'))
    assert not policy.check(enforcer, ALICE, rule, resource('project-b', creator='bob:project-b'))
    # As in Gnocchi, the project a resource describes may read it (above) but not change
    # what the telemetry service created for it.
    assert not policy.check(enforcer, ALICE, rule, resource('project-a'))


def test_a_project_sees_what_it_created_in_another_project(enforcer):
    assert policy.check(enforcer, ALICE, 'get resource', resource('project-b', 'alice:project-a'))


def test_admin_may_do_everything(enforcer):
    actions = [rule for rule in policy.list_rules()
               if isinstance(rule, oslo_policy.DocumentedRuleDefault)]
    assert len(actions) == 54
    for rule in actions:
        assert policy.check(enforcer, ADMIN, rule.name, resource('project-b')), rule.name
        assert policy.check(enforcer, ADMIN, rule.name, metric('project-b')), rule.name


def test_metrics_belong_to_their_creator_and_to_their_resource_project(enforcer):
    for rule in ('get metric', 'get measures', 'search metric'):
        assert policy.check(enforcer, ALICE, rule, metric('project-a')), rule
        assert not policy.check(enforcer, ALICE, rule, metric('project-b')), rule
        assert not policy.check(enforcer, ALICE, rule, metric(None)), rule
        assert policy.check(enforcer, ALICE, rule, metric(None, creator='alice:project-a')), rule
    for rule in ('delete metric', 'post measures'):
        assert policy.check(enforcer, ALICE, rule, metric(None, creator='alice:project-a')), rule
        assert not policy.check(enforcer, ALICE, rule, metric('project-a')), rule


@pytest.mark.parametrize('kind', ['archive policy', 'archive policy rule', 'resource type'])
def test_archive_policies_rules_and_resource_types_are_admin_managed(enforcer, kind):
    for action in ('create', 'update', 'delete'):
        rule = '%s %s' % (action, kind)
        assert not policy.check(enforcer, ALICE, rule, {}), rule
        assert not policy.check(enforcer, CAROL, rule, {}), rule
        assert policy.check(enforcer, ADMIN, rule, {}), rule
        assert policy.check(enforcer, BASIC_ADMIN, rule, {}), rule
    for action in ('get', 'list'):
        assert policy.check(enforcer, ALICE, '%s %s' % (action, kind), {})


def test_status_is_admin_only(enforcer):
    assert not policy.check(enforcer, ALICE, 'get status', {})
    assert policy.check(enforcer, ADMIN, 'get status', {})


def test_anyone_creates_resources_and_metrics(enforcer):
    for context in (ALICE, CAROL):
        assert policy.check(enforcer, context, 'create resource', {'resource_type': 'generic'})
        assert policy.check(enforcer, context, 'create metric', {})


@pytest.mark.parametrize('kind', ['list all resource', 'search all resource', 'list all metric'])
def test_listing_everything_is_admin_only_and_anyone_lists_their_own(enforcer, kind):
    target = {'resource_type': 'generic'}
    assert not policy.check(enforcer, ALICE, kind, target)
    assert not policy.check(enforcer, CAROL, kind, target)
    assert policy.check(enforcer, ADMIN, kind, target)
    own_rule = kind.replace(' all', '')
    # The API then filters the listing to the caller's own objects.
    assert policy.check(enforcer, ALICE, own_rule, target)
    assert policy.check(enforcer, CAROL, own_rule, target)
    assert policy.check(enforcer, ALICE, own_rule)


def test_basic_users_own_what_they_created_and_nothing_project_less_of_others(enforcer):
    assert policy.check(enforcer, CAROL, 'get resource', resource(None, creator='carol'))
    assert policy.check(enforcer, CAROL, 'update resource', resource(None, creator='carol'))
    # Neither has a project: 'None' must not match 'None'.
    assert not policy.check(enforcer, CAROL, 'get resource', resource(None, creator='dave'))
    assert not policy.check(enforcer, DAVE, 'get metric', metric(None, creator='carol'))
    assert not policy.check(enforcer, CAROL, 'get resource', resource('project-a'))


def test_enforce_raises_a_typed_error_naming_the_rule(enforcer):
    policy.enforce(enforcer, ALICE, 'get resource', resource('project-a'))
    with pytest.raises(policy.PolicyNotAuthorized) as caught:
        policy.enforce(enforcer, ALICE, 'get resource', resource('project-b'))
    assert caught.value.rule == 'get resource'
    assert str(caught.value) == 'get resource is disallowed by policy'


def test_no_context_is_refused_even_an_open_rule(enforcer):
    assert not policy.check(enforcer, None, 'list archive policy')
    with pytest.raises(policy.PolicyNotAuthorized):
        policy.enforce(enforcer, None, 'list archive policy')


def test_an_unknown_rule_name_is_a_programming_error(enforcer):
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        policy.check(enforcer, ADMIN, 'get resources')
    with pytest.raises(oslo_policy.PolicyNotRegistered):
        policy.check(enforcer, None, 'get resources')


def test_gnocchi_rule_names_are_all_defined():
    gnocchi = {
        'context_is_admin', 'admin_or_creator', 'resource_owner', 'metric_owner',
        'get status', 'create resource', 'get resource', 'update resource', 'delete resource',
        'delete resources', 'list resource', 'list all resource', 'search resource',
        'search all resource', 'create resource type', 'delete resource type',
        'update resource type', 'list resource type', 'get resource type',
        'get archive policy', 'list archive policy', 'create archive policy',
        'update archive policy', 'delete archive policy', 'create archive policy rule',
        'get archive policy rule', 'list archive policy rule', 'update archive policy rule',
        'delete archive policy rule', 'create metric', 'delete metric', 'get metric',
        'search metric', 'list metric', 'list all metric', 'get measures', 'post measures'}
    # and telewatch's own, for the subscriptions of telewatch.pubsub
    subscriptions = {
        'subscription_owner', 'create subscription', 'get subscription', 'list subscription',
        'list all subscription', 'update subscription', 'delete subscription',
        'subscribe other projects'}
    # and Aodh's, for its v2 API
    aodh = {
        'segregation', 'telemetry:create_alarm', 'telemetry:get_alarm',
        'telemetry:get_alarms', 'telemetry:query_alarm', 'telemetry:change_alarm',
        'telemetry:delete_alarm', 'telemetry:get_alarm_state', 'telemetry:change_alarm_state',
        'telemetry:alarm_history', 'telemetry:query_alarm_history', 'telemetry:update_quotas',
        'telemetry:delete_quotas'}
    # and the CloudWatch dashboards' (read-only)
    dashboards = {'list dashboards', 'get dashboard'}
    assert {rule.name for rule in policy.list_rules()} == (
        gnocchi | subscriptions | aodh | dashboards)


def alarm(project_id):
    return {'user_id': 'someone', 'project_id': project_id}


@pytest.mark.parametrize('rule', ['telemetry:get_alarm', 'telemetry:change_alarm',
                                  'telemetry:delete_alarm', 'telemetry:get_alarm_state',
                                  'telemetry:change_alarm_state', 'telemetry:alarm_history'])
def test_an_alarm_belongs_to_its_project(enforcer, rule):
    assert policy.check(enforcer, ALICE, rule, alarm('project-a'))
    assert not policy.check(enforcer, ALICE, rule, alarm('project-b'))
    assert policy.check(enforcer, ADMIN, rule, alarm('project-b'))


def test_only_admin_sees_every_project_and_sets_quotas(enforcer):
    for rule in ('segregation', 'telemetry:update_quotas', 'telemetry:delete_quotas'):
        assert policy.check(enforcer, ADMIN, rule)
        assert not policy.check(enforcer, ALICE, rule)


def subscription(project_id):
    return {'id': 's1', 'name': 'feed', 'project_id': project_id, 'user_id': 'someone'}


@pytest.mark.parametrize('rule', ['get subscription', 'update subscription',
                                  'delete subscription'])
def test_a_subscription_belongs_to_its_project(enforcer, rule):
    assert policy.check(enforcer, ALICE, rule, subscription('project-a'))
    assert not policy.check(enforcer, ALICE, rule, subscription('project-b'))
    assert policy.check(enforcer, ADMIN, rule, subscription('project-b'))
    assert policy.check(enforcer, BASIC_ADMIN, rule, subscription('project-b'))
    # A caller without a project owns no subscription, not even a project-less one.
    assert not policy.check(enforcer, CAROL, rule, subscription(''))


def test_anyone_subscribes_to_their_own_project_and_only_admin_beyond(enforcer):
    for caller in (ALICE, CAROL, ADMIN):
        assert policy.check(enforcer, caller, 'create subscription', {})
        assert policy.check(enforcer, caller, 'list subscription', {})
    for rule in ('subscribe other projects', 'list all subscription'):
        assert not policy.check(enforcer, ALICE, rule, {})
        assert not policy.check(enforcer, CAROL, rule, {})
        assert policy.check(enforcer, ADMIN, rule, {})
        assert policy.check(enforcer, BASIC_ADMIN, rule, {})


def test_an_operator_policy_file_overrides_rules(make_enforcer):
    enforcer = make_enforcer('"create archive policy": "role:member"\n'
                             '"get resource": ""\n')
    assert policy.check(enforcer, ALICE, 'create archive policy', {})
    assert not policy.check(enforcer, CAROL, 'create archive policy', {})
    assert policy.check(enforcer, ALICE, 'get resource', resource('project-b'))
    # The rules the file does not name keep their defaults.
    assert not policy.check(enforcer, ALICE, 'delete archive policy', {})


def test_the_policy_file_is_reloaded_when_it_changes(make_enforcer, tmp_path):
    enforcer = make_enforcer('"get status": "role:member"\n')
    assert policy.check(enforcer, ALICE, 'get status', {})
    path = tmp_path / 'policy.yaml'
    path.write_text('"get status": "role:admin"\n')
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
    assert not policy.check(enforcer, ALICE, 'get status', {})


def test_a_missing_policy_file_that_was_named_stops_start_up(make_enforcer, tmp_path):
    with pytest.raises(cfg.ConfigFilesNotFoundError):
        make_enforcer('', policy_file=tmp_path / 'nowhere.yaml')


def test_a_policy_file_naming_an_undefined_rule_stops_start_up(make_enforcer):
    with pytest.raises(oslo_policy.InvalidDefinitionError):
        make_enforcer('"get status": "rule:is_operator"\n')


def test_sample_policy_is_up_to_date(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    output = tmp_path / 'policy.yaml.sample'
    generator.generate_sample(['--config-file', 'etc/telewatch/telewatch-policy-generator.conf',
                               '--output-file', str(output)])
    shipped = REPO / 'etc' / 'telewatch' / 'policy.yaml.sample'
    assert output.read_text() == shipped.read_text(), (
        'etc/telewatch/policy.yaml.sample is stale: run `tox -e genpolicy`')


def test_a_project_reads_its_own_dashboards_only(enforcer):
    # The API passes the caller's own project as the target: an operator's policy file
    # may narrow who reads dashboards (a role), never widen it to other projects.
    assert policy.check(enforcer, ALICE, 'list dashboards', {'project_id': 'project-a'})
    assert policy.check(enforcer, ALICE, 'get dashboard', {'project_id': 'project-a'})
    assert not policy.check(enforcer, ALICE, 'get dashboard', {'project_id': 'project-b'})
