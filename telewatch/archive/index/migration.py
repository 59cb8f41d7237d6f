"""Create or upgrade the archive index's schema with its alembic migrations."""

import os

from telewatch import schema_migrations
from telewatch.archive import sql

MIGRATIONS = schema_migrations.Migrations(
    os.path.join(os.path.dirname(__file__), 'migrations'))
head = MIGRATIONS.head
upgrade = MIGRATIONS.upgrade


def current(engine):
    """The revision of the database's schema; None when it has none yet."""
    with sql.retryable_errors('archive index'):
        return MIGRATIONS.current(engine)
