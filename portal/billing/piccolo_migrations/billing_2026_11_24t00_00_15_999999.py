"""Composite unique keys of the billing tables.

Written by hand: Piccolo emits composite unique constraints as
ALTER TABLE ... ADD CONSTRAINT, which SQLite does not support; a unique index
works on both engines.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-24T00:00:15:999999"
VERSION = "1.38.0"
DESCRIPTION = "composite unique keys"

STATEMENTS = (
        'CREATE UNIQUE INDEX invoice_workspace_number_key ON "invoice" ("workspace", "number")',
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="billing", description=DESCRIPTION)

    async def create_unique_keys():
        for statement in STATEMENTS:
            await engine_finder().run_ddl(statement)

    async def drop_unique_keys():
        for statement in STATEMENTS:
            name = statement.split()[3]
            await engine_finder().run_ddl(f"DROP INDEX {name}")

    manager.add_raw(create_unique_keys)
    manager.add_raw_backwards(drop_unique_keys)
    return manager
