"""Publish/subscribe: subscriptions and their delivery counters.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'


def upgrade():
    op.create_table(
        'subscription',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('user_id', sa.String(255)),
        sa.Column('meters', sa.JSON, nullable=False),
        sa.Column('resources', sa.JSON),
        sa.Column('projects', sa.JSON),
        sa.Column('sampling_interval', sa.Float),
        sa.Column('target', sa.String(2048), nullable=False),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False),
        sa.Column('revision', sa.Integer, nullable=False),
        sa.UniqueConstraint('project_id', 'name',
                            name='uq_subscription_project_id_name'))
    op.create_table(
        'subscription_counter',
        sa.Column('subscription_id', sa.String(36),
                  sa.ForeignKey('subscription.id', ondelete='CASCADE',
                                name='fk_subscription_counter_subscription_id_subscription'),
                  primary_key=True),
        sa.Column('worker', sa.String(255), primary_key=True),
        sa.Column('delivered', sa.BigInteger, nullable=False),
        sa.Column('dropped', sa.BigInteger, nullable=False),
        sa.Column('failed', sa.BigInteger, nullable=False),
        sa.Column('skipped', sa.BigInteger, nullable=False),
        sa.Column('queue_length', sa.Integer, nullable=False),
        sa.Column('updated_at', sa.DateTime, nullable=False))
