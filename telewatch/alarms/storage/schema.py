"""The alarm store's tables: alarms, their history and the projects' quotas, on SQLite or
PostgreSQL, in their own MetaData (``migrations/`` creates them, with its own version table).

Timestamps are naive UTC; ids are UUIDs in their 36-character text form; a history entry's
``detail`` is Aodh's JSON text.
"""

import sqlalchemy as sa

metadata = sa.MetaData(naming_convention={
    'ix': 'ix_%(table_name)s_%(column_0_N_name)s',
    'pk': 'pk_%(table_name)s',
})

alarm = sa.Table(
    'alarm', metadata,
    sa.Column('alarm_id', sa.String(36), primary_key=True),
    sa.Column('name', sa.String(255), nullable=False),
    sa.Column('description', sa.Text),
    sa.Column('type', sa.String(64), nullable=False),
    sa.Column('enabled', sa.Boolean, nullable=False),
    sa.Column('project_id', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('severity', sa.String(50)),
    sa.Column('state', sa.String(32), nullable=False),
    sa.Column('state_reason', sa.Text, nullable=False),
    sa.Column('reason_data', sa.JSON),
    sa.Column('state_timestamp', sa.DateTime, nullable=False),
    sa.Column('timestamp', sa.DateTime, nullable=False),
    sa.Column('evaluate_timestamp', sa.DateTime),
    sa.Column('repeat_actions', sa.Boolean, nullable=False),
    sa.Column('ok_actions', sa.JSON, nullable=False),
    sa.Column('alarm_actions', sa.JSON, nullable=False),
    sa.Column('insufficient_data_actions', sa.JSON, nullable=False),
    sa.Column('time_constraints', sa.JSON, nullable=False),
    sa.Column('rule', sa.JSON, nullable=False),
    sa.Index(None, 'project_id'),
    sa.Index(None, 'user_id'),
    sa.Index(None, 'enabled', 'type'),
)

alarm_history = sa.Table(
    'alarm_history', metadata,
    sa.Column('event_id', sa.String(36), primary_key=True),
    sa.Column('alarm_id', sa.String(36), nullable=False),
    sa.Column('on_behalf_of', sa.String(255)),
    sa.Column('project_id', sa.String(255)),
    sa.Column('user_id', sa.String(255)),
    sa.Column('type', sa.String(20), nullable=False),
    sa.Column('detail', sa.Text, nullable=False),
    sa.Column('severity', sa.String(50)),
    sa.Column('timestamp', sa.DateTime, nullable=False),
    sa.Index(None, 'alarm_id', 'timestamp'),
    sa.Index(None, 'timestamp'),
)

alarm_quota = sa.Table(
    'alarm_quota', metadata,
    sa.Column('project_id', sa.String(255), primary_key=True),
    sa.Column('resource', sa.String(50), primary_key=True),
    sa.Column('limit', sa.Integer, nullable=False),
)

# The CloudWatch API's dashboards and resource tags (telewatch.cloudwatch.dashboards, tags),
# beside the alarms whose ARNs the tags name.
cloudwatch_dashboard = sa.Table(
    'cloudwatch_dashboard', metadata,
    sa.Column('project_id', sa.String(255), primary_key=True),
    sa.Column('name', sa.String(255), primary_key=True),
    sa.Column('body', sa.Text, nullable=False),
    sa.Column('last_modified', sa.DateTime, nullable=False),
)

cloudwatch_tag = sa.Table(
    'cloudwatch_tag', metadata,
    sa.Column('resource_arn', sa.String(1024), primary_key=True),
    sa.Column('key', sa.String(128), primary_key=True),
    sa.Column('value', sa.String(256), nullable=False),
    sa.Column('project_id', sa.String(255), nullable=False),
)
