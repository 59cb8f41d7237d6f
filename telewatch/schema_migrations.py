"""Alembic migrations run with a connection the caller passes: one set of them per schema
(the archive index's, the alarm store's), each with its own version table."""

from alembic import command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from alembic import script as alembic_script

DEFAULT_VERSION_TABLE = 'alembic_version'


class Migrations:
    """The migrations in ``directory`` (its ``env.py`` reads the connection from the
    config's ``connection`` attribute), versioned in ``version_table``."""

    def __init__(self, directory, version_table=DEFAULT_VERSION_TABLE):
        self.directory = directory
        self.version_table = version_table

    def config(self, connection=None):
        cfg = alembic_config.Config()
        cfg.set_main_option('script_location', self.directory)
        cfg.attributes['connection'] = connection
        return cfg

    def head(self):
        """The newest migration's revision."""
        return alembic_script.ScriptDirectory.from_config(self.config()).get_current_head()

    def current(self, engine):
        """The revision of the database's schema; None when it has none yet."""
        with engine.connect() as conn:
            return alembic_migration.MigrationContext.configure(
                conn, opts={'version_table': self.version_table}).get_current_revision()

    def upgrade(self, engine):
        """Bring the schema to ``head()``; a no-op when it is there already."""
        with engine.begin() as conn:
            command.upgrade(self.config(conn), 'head')
