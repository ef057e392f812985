"""The SQL a backup asks of a database snapshot (through sqlite3 or psql, not the app's engine:
the snapshot is a file or an exported transaction that the app's connections cannot see)."""

from __future__ import annotations

#: Columns that name blobs (``data/blobs/<aa>/<sha256>``).
BLOB_COLUMNS = (
    ("stored_file", "sha256"), ("stored_file", "thumbnail_sha256"), ("workspace", "portal_logo_sha256"),
)
SCHEMA = 'SELECT "app_name", "name" FROM "migration" ORDER BY "id"'
INTEGRITY_CHECK = "PRAGMA integrity_check"


def tables(engine: str) -> str:
    if engine == "sqlite":
        return "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    return "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"


def row_count(table: str) -> str:
    return f'SELECT COUNT(*) FROM "{table}"'


def blob_references(table: str, column: str) -> str:
    return f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL'
