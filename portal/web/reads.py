"""One read scope per HTTP request (``portal.db.read_scope``).

On PostgreSQL the reads of a request are answered from the worker's read cache while the
database's snapshot is the one the request checked at its first read; the scope is what
"one request" means to the engine. SQLite's cache does not need it (it checks
``data_version`` every event-loop iteration), and a read outside any scope (the lifespan,
the worker loop it starts, commands) always goes to the database.
"""

from __future__ import annotations

from litestar.types import ASGIApp, Receive, Scope, Send

from portal.db import read_scope


def read_scoped(app: ASGIApp) -> ASGIApp:
    """``app`` with each HTTP request in a read scope of its own; nothing else in one."""

    async def scoped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with read_scope():
            await app(scope, receive, send)

    return scoped
