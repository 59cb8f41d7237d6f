"""Alarms, their history and the projects' alarm quotas.

Revision ID: alarms_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = 'alarms_0001'
down_revision = None


def upgrade():
    op.create_table(
        'alarm',
        sa.Column('alarm_id', sa.String(36), nullable=False),
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
        sa.PrimaryKeyConstraint('alarm_id', name='pk_alarm'))
    op.create_index('ix_alarm_project_id', 'alarm', ['project_id'])
    op.create_index('ix_alarm_user_id', 'alarm', ['user_id'])
    op.create_index('ix_alarm_enabled_type', 'alarm', ['enabled', 'type'])
    op.create_table(
        'alarm_history',
        sa.Column('event_id', sa.String(36), nullable=False),
        sa.Column('alarm_id', sa.String(36), nullable=False),
        sa.Column('on_behalf_of', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('type', sa.String(20), nullable=False),
        sa.Column('detail', sa.Text, nullable=False),
        sa.Column('severity', sa.String(50)),
        sa.Column('timestamp', sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint('event_id', name='pk_alarm_history'))
    op.create_index('ix_alarm_history_alarm_id_timestamp', 'alarm_history',
                    ['alarm_id', 'timestamp'])
    op.create_index('ix_alarm_history_timestamp', 'alarm_history', ['timestamp'])
    op.create_table(
        'alarm_quota',
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('resource', sa.String(50), nullable=False),
        sa.Column('limit', sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'resource', name='pk_alarm_quota'))
