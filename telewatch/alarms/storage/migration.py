"""Create or upgrade the alarm store's schema with its alembic migrations (their own version
table, ``alarms_alembic_version``, so that they share a database with the archive index)."""

import os

from telewatch import schema_migrations

VERSION_TABLE = 'alarms_alembic_version'
MIGRATIONS = schema_migrations.Migrations(
    os.path.join(os.path.dirname(__file__), 'migrations'), VERSION_TABLE)
head = MIGRATIONS.head
current = MIGRATIONS.current
upgrade = MIGRATIONS.upgrade
