"""Applying the committed Piccolo migrations (server start, `portal migrate`, tests)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path

from piccolo.apps.migrations.commands.forwards import run_forwards

#: PostgreSQL advisory lock key of "migrating" (any constant shared by every process).
ADVISORY_KEY = 0x706F7274616C  # "portal"
LOCK_TIMEOUT_SECONDS = 300


class MigrationError(RuntimeError):
    pass


@contextlib.asynccontextmanager
async def _sqlite_lock(database: Path) -> AsyncIterator[None]:
    """An exclusive lock on ``<database>.migrate-lock`` (SQLite's processes share a host)."""
    with open(f"{database}.migrate-lock", "w") as lock:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MigrationError("another process has been migrating for 5 minutes") from None
                await asyncio.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _lock():
    from portal.db import advisory_lock, engine

    db = engine()
    if getattr(db, "path", None):
        return _sqlite_lock(Path(db.path))
    return advisory_lock(db.config["dsn"], ADVISORY_KEY, LOCK_TIMEOUT_SECONDS)


async def migrate(quiet: bool = True) -> None:
    """Run every pending migration of every area, in dependency order.

    Under a lock: two servers starting at once on one database (replicas, a restart that
    overlaps) take turns, and the second finds nothing left to apply.
    """
    output = io.StringIO()
    async with _lock():
        with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
            response = await run_forwards(app_name="all")
    if not response.success:
        raise MigrationError(f"migrations failed: {response.message}\n{output.getvalue()}")
