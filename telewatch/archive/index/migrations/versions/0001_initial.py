"""The first archive index: archive policies and rules, resource types, resources and their
history, metrics.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None


def _resource_columns():
    return [
        sa.Column('type', sa.String(255), sa.ForeignKey('resource_type.name'),
                  nullable=False),
        sa.Column('original_resource_id', sa.String(289), nullable=False),
        sa.Column('creator', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('project_id', sa.String(255)),
        sa.Column('started_at', sa.DateTime, nullable=False),
        sa.Column('ended_at', sa.DateTime),
        sa.Column('revision_start', sa.DateTime, nullable=False),
        sa.Column('attributes', sa.JSON, nullable=False),
    ]


def upgrade():
    op.create_table(
        'archive_policy',
        sa.Column('name', sa.String(255), primary_key=True),
        sa.Column('back_window', sa.Integer, nullable=False),
        sa.Column('definition', sa.JSON, nullable=False),
        sa.Column('aggregation_methods', sa.JSON, nullable=False))
    op.create_table(
        'archive_policy_rule',
        sa.Column('name', sa.String(255), primary_key=True),
        sa.Column('metric_pattern', sa.String(255), nullable=False),
        sa.Column('archive_policy_name', sa.String(255),
                  sa.ForeignKey('archive_policy.name'), nullable=False))
    op.create_table(
        'resource_type',
        sa.Column('name', sa.String(255), primary_key=True),
        sa.Column('attributes', sa.JSON, nullable=False),
        sa.Column('state', sa.String(32), nullable=False))
    op.create_table(
        'resource',
        sa.Column('id', sa.String(36), primary_key=True),
        *_resource_columns())
    for column in ('type', 'project_id', 'original_resource_id'):
        op.create_index('ix_resource_%s' % column, 'resource', [column])
    op.create_table(
        'resource_history',
        sa.Column('revision', sa.Integer, primary_key=True, autoincrement=True),
        sa.Column('id', sa.String(36), nullable=False),
        *_resource_columns(),
        sa.Column('revision_end', sa.DateTime, nullable=False))
    op.create_index('ix_resource_history_id_revision_end', 'resource_history',
                    ['id', 'revision_end'])
    op.create_table(
        'metric',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('archive_policy_name', sa.String(255),
                  sa.ForeignKey('archive_policy.name'), nullable=False),
        sa.Column('creator', sa.String(255)),
        sa.Column('resource_id', sa.String(36), sa.ForeignKey('resource.id')),
        sa.Column('name', sa.String(255)),
        sa.Column('unit', sa.String(31)),
        sa.Column('status', sa.String(16), nullable=False),
        sa.UniqueConstraint('resource_id', 'name'))
    op.create_index('ix_metric_archive_policy_name', 'metric', ['archive_policy_name'])
