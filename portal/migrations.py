"""Applying the committed Piccolo migrations (server start, `portal migrate`, tests)."""

from __future__ import annotations

import contextlib
import io

from piccolo.apps.migrations.commands.forwards import run_forwards


class MigrationError(RuntimeError):
    pass


async def migrate(quiet: bool = True) -> None:
    """Run every pending migration of every area, in dependency order."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output) if quiet else contextlib.nullcontext():
        response = await run_forwards(app_name="all")
    if not response.success:
        raise MigrationError(f"migrations failed: {response.message}\n{output.getvalue()}")
