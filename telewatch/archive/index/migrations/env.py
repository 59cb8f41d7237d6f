"""Alembic environment of the archive index: run with the connection the caller passes
(``telewatch.archive.index.migration.upgrade``), never with a URL of its own."""

from alembic import context

from telewatch.archive.index import schema

connection = context.config.attributes['connection']
context.configure(connection=connection, target_metadata=schema.metadata,
                  render_as_batch=connection.dialect.name == 'sqlite')
with context.begin_transaction():
    context.run_migrations()
