"""Create or upgrade the archive index's schema with its alembic migrations."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

from telewatch.archive import sql

_MIGRATIONS = os.path.join(os.path.dirname(__file__), 'migrations')


def _config(connection=None):
    cfg = alembic_config.Config()
    cfg.set_main_option('script_location', _MIGRATIONS)
    cfg.attributes['connection'] = connection
    return cfg


def head():
    """The newest migration's revision."""
    return alembic_script.ScriptDirectory.from_config(_config()).get_current_head()


def current(engine):
    """The revision of the database's schema; None when it has none yet."""
    with sql.retryable_errors('archive index'):
        with engine.connect() as conn:
            return alembic_migration.MigrationContext.configure(conn).get_current_revision()


def upgrade(engine):
    """Bring the schema to ``head()``; a no-op when it is there already."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), 'head')
