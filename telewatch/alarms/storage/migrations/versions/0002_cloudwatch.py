"""The CloudWatch API's dashboards and resource tags.

Revision ID: alarms_0002
Revises: alarms_0001
"""

import sqlalchemy as sa
from alembic import op

revision = 'alarms_0002'
down_revision = 'alarms_0001'


def upgrade():
    op.create_table(
        'cloudwatch_dashboard',
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('body', sa.Text, nullable=False),
        sa.Column('last_modified', sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'name', name='pk_cloudwatch_dashboard'),
    )
    op.create_table(
        'cloudwatch_tag',
        sa.Column('resource_arn', sa.String(1024), nullable=False),
        sa.Column('key', sa.String(128), nullable=False),
        sa.Column('value', sa.String(256), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint('resource_arn', 'key', name='pk_cloudwatch_tag'),
    )
