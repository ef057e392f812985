"""One read scope per HTTP request (``portal.db.read_scope``).

On PostgreSQL the reads of a request are answered from the worker's read cache while the
database's snapshot is the one the request looked at: a look asked for as it arrives,
which its first read waits for if the answer is not back yet; the scope is what "one
request" means to the engine. SQLite's cache does not need it (it checks
``data_version`` every event-loop iteration), and a read outside any scope (the lifespan,
the worker loop it starts, commands) always goes to the database.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.types import ASGIApp, Receive, Scope, Send

from portal.db import look_early, read_scope
from portal.web.hosts import AS_THEY_ARE  # static files: they never read the database


def read_scoped(app: ASGIApp, db: Any = None) -> ASGIApp:
    """``app`` with each HTTP request in a read scope of its own; nothing else in one.

    On PostgreSQL the request's look at the snapshot is asked for as it arrives. A request
    alone lets it travel while it is routed (its first read waits for what is left of
    the round trip); while others are being served, the answer is shared and the request
    waits for it here, before routing, so that it then runs to its answer without
    stopping again: a pause this shallow costs the event loop less than one in the middle
    of its first read, and under load that is what counts. ``db``: the engine (default:
    the app's)."""
    serving = 0

    async def scoped(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal serving
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with read_scope() as reads:
            if not scope["path"].startswith(AS_THEY_ARE) and look_early(reads, db):
                if serving:
                    await asyncio.shield(reads.early)
                else:
                    await asyncio.sleep(0)  # the look leaves now
            serving += 1
            try:
                await app(scope, receive, send)
            finally:
                serving -= 1

    return scoped
