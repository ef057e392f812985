"""Path integers bounded by what the database can hold, for every route at once.

Ids, version numbers and the like are 32-bit integer columns on PostgreSQL (SERIAL) and
at most 64-bit on SQLite; a larger number in a URL would make the driver raise an
overflow error (a 500). Nothing can exist beyond ``MAX_ID``, so such a path answers 404
like any other unknown id, before a handler or a query runs.
"""

from __future__ import annotations

from litestar.exceptions import NotFoundException
from litestar.types import ASGIApp, Receive, Scope, Send

MAX_ID = 2**31 - 1  # the largest value of PostgreSQL's integer/serial


def path_integer_bounds_middleware(app: ASGIApp) -> ASGIApp:
    """404 for any ``{name:int}`` path parameter outside 0..MAX_ID."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        for value in (scope.get("path_params") or {}).values():
            if type(value) is int and not 0 <= value <= MAX_ID:
                raise NotFoundException()
        await app(scope, receive, send)

    return middleware
