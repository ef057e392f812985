"""Existing invoices: their subtotal is their total (they had no tax).

Written by hand: Piccolo runs a migration's raw steps before its column changes, so
the backfill of the columns added by the previous migration is a migration of its own.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-02T19:56:12:000000"
VERSION = "1.38.0"
DESCRIPTION = "subtotal of existing invoices"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="billing", description=DESCRIPTION)

    async def backfill():
        await engine_finder().run_ddl('UPDATE "invoice" SET "subtotal_cents" = "total_cents", "tax_cents" = 0')

    manager.add_raw(backfill)
    return manager
