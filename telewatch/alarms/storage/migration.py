"""Create or upgrade the alarm store's schema with its alembic migrations (their own version
table, ``alarms_alembic_version``, so that they share a database with the archive index)."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

_MIGRATIONS = os.path.join(os.path.dirname(__file__), 'migrations')
VERSION_TABLE = 'alarms_alembic_version'


def _config(connection=None):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', _MIGRATIONS)
    cfg.attributes['connection'] = connection
    return cfg


def head():
    """The newest migration's revision."""
    return alembic_script.ScriptDirectory.from_config(_config()).get_current_head()


def current(engine):
    """The revision of the database's alarm schema; None when it has none yet."""
    with engine.connect() as conn:
        return alembic_migration.MigrationContext.configure(
            conn, opts={'version_table': VERSION_TABLE}).get_current_revision()


def upgrade(engine):
    """Bring the schema to ``head()``; a no-op when it is there already."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), 'head')
