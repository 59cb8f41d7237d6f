"""TagResource, UntagResource and ListTagsForResource on a real alarm store."""

import pytest
import sqlalchemy as sa
from alembic import autogenerate
from alembic import migration as alembic_migration

from telewatch.alarms.storage import schema
from telewatch.cloudwatch import alarms
from telewatch.cloudwatch import dashboards
from telewatch.cloudwatch import errors
from telewatch.cloudwatch import tags
from tests.unit.cloudwatch import alarm_fixtures

alarm_store, ctx, bob = alarm_fixtures.alarm_store, alarm_fixtures.ctx, alarm_fixtures.bob
ALARM = 'arn:aws:cloudwatch:RegionOne:alice:alarm:cpu'
DASHBOARD = 'arn:aws:cloudwatch::alice:dashboard/ops'


@pytest.fixture
def resources(ctx):
    alarms.put_composite_alarm(ctx, {'AlarmName': 'cpu', 'AlarmRule': 'FALSE'})
    dashboards.put_dashboard(ctx, {'DashboardName': 'ops', 'DashboardBody': '{"widgets":[]}'})


def _list(ctx, arn):
    return tags.list_tags_for_resource(ctx, {'ResourceARN': arn})['Tags']


@pytest.mark.parametrize('arn', [ALARM, DASHBOARD])
def test_tag_untag_list(ctx, resources, arn):
    assert _list(ctx, arn) == []
    tags.tag_resource(ctx, {'ResourceARN': arn, 'Tags': [
        {'Key': 'team', 'Value': 'a'}, {'Key': 'env', 'Value': 'prod'}]})
    tags.tag_resource(ctx, {'ResourceARN': arn, 'Tags': [{'Key': 'team', 'Value': 'b'}]})
    assert _list(ctx, arn) == [{'Key': 'env', 'Value': 'prod'}, {'Key': 'team', 'Value': 'b'}]
    tags.untag_resource(ctx, {'ResourceARN': arn, 'TagKeys': ['env', 'absent']})
    assert _list(ctx, arn) == [{'Key': 'team', 'Value': 'b'}]


def test_other_projects_and_missing_resources_are_not_found(ctx, bob, resources):
    for caller, arn in ((bob, ALARM), (bob, DASHBOARD), (ctx, ALARM + 'x'),
                        (ctx, DASHBOARD + 'x')):
        with pytest.raises(errors.ResourceNotFoundException):
            tags.list_tags_for_resource(caller, {'ResourceARN': arn})
        with pytest.raises(errors.ResourceNotFoundException):
            tags.tag_resource(caller, {'ResourceARN': arn,
                                       'Tags': [{'Key': 'k', 'Value': 'v'}]})
    with pytest.raises(errors.InvalidParameterValue, match='Invalid ARN'):
        tags.list_tags_for_resource(ctx, {'ResourceARN': 'arn:aws:sns:x:y:z'})


def test_limits(ctx, resources):
    with pytest.raises(errors.InvalidParameterValue, match='reserved'):
        tags.tag_resource(ctx, {'ResourceARN': ALARM, 'Tags': [{'Key': 'aws:x', 'Value': ''}]})
    many = [{'Key': 'k%d' % n, 'Value': ''} for n in range(tags.MAX_TAGS)]
    tags.tag_resource(ctx, {'ResourceARN': ALARM, 'Tags': many})
    with pytest.raises(errors.LimitExceededException):
        tags.tag_resource(ctx, {'ResourceARN': ALARM, 'Tags': [{'Key': 'one', 'Value': ''}]})
    assert len(_list(ctx, ALARM)) == tags.MAX_TAGS


def test_the_migrations_make_the_schema(alarm_store):
    with alarm_store.engine.connect() as conn:
        context = alembic_migration.MigrationContext.configure(conn)
        diff = autogenerate.compare_metadata(context, schema.metadata)
    assert [d for d in diff if d[0] != 'remove_table' or d[1].name != 'alarms_alembic_version'
            ] == []
    assert {'cloudwatch_dashboard', 'cloudwatch_tag'} <= set(
        sa.inspect(alarm_store.engine).get_table_names())
