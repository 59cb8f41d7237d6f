"""The alembic environment and migrations of the archive index (a package, so that every
build ships them; ``migration.py`` runs them)."""
