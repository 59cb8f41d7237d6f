"""Alembic environment of the alarm store: run with the connection the caller passes
(``telewatch.alarms.storage.migration.upgrade``), its own version table beside the archive
index's in the same database."""

from alembic import context

from telewatch.alarms.storage import migration
from telewatch.alarms.storage import schema

connection = context.config.attributes['connection']
context.configure(connection=connection, target_metadata=schema.metadata,
                  version_table=migration.VERSION_TABLE,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
