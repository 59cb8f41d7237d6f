"""Create or upgrade the archive index's schema with its alembic migrations."""

import os

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script
import sqlalchemy as sa

from telewatch.archive import errors

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
    try:
        with engine.connect() as conn:
            return alembic_migration.MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise errors.StorageUnavailable('archive index: %s' % (exc.orig,)) from exc


def upgrade(engine):
    """Bring the schema to ``head()``; a no-op when it is there already."""
    with engine.begin() as conn:
        command.upgrade(_config(conn), 'head')
