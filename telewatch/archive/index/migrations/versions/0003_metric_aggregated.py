"""The "metrics aggregated" stream: one row per processing round.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'


def upgrade():
    op.create_table(
        'metric_aggregated',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer, 'sqlite'),
                  primary_key=True, autoincrement=True),
        sa.Column('created_at', sa.DateTime, nullable=False),
        sa.Column('metric_ids', sa.Text, nullable=False))
    op.create_index('ix_metric_aggregated_created_at', 'metric_aggregated', ['created_at'])
