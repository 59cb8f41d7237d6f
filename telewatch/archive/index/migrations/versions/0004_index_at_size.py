"""The index at 100,000 resources: listings read an index in their default order, and
each custom attribute of each resource type has an index over that type's rows.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from telewatch.archive.index import indexer

revision = '0004'
down_revision = '0003'


def upgrade():
    # A type's first page in the default sort (revision_start, started_at, then id).
    op.create_index('ix_resource_type_revision_start_started_at_id', 'resource',
                    ['type', 'revision_start', 'started_at', 'id'])
    op.create_index('ix_resource_revision_start_started_at_id', 'resource',
                    ['revision_start', 'started_at', 'id'])
    conn = op.get_bind()
    types = sa.table('resource_type', sa.column('name'), sa.column('attributes', sa.JSON))
    for name, attributes in conn.execute(sa.select(types.c.name, types.c.attributes)).all():
        indexer.attribute_indexes(conn, name, {}, attributes)
