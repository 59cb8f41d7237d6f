"""The archive index's alembic revisions, oldest first by number."""
