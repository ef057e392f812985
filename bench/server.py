"""The portal app as the benchmark serves it: the real app plus two reference routes.

Run by ``bench/portal_bench.py`` as ``uvicorn bench.server:create_bench_app --factory``
(one worker). Everything here exists in the benchmark's server process only:

* ``GET /_bench/floor?size=N``: N bytes of text/html straight from Litestar, through the
  same middleware: the framework floor for a response of that size.
* ``GET /_bench/render?key=K``: the template and context that a real earlier request
  (key: its path, plus ``#hx`` for an htmx fragment request) rendered, rendered again
  from memory with no database access: the render-only ceiling of that page.
  A request carrying the header ``X-Bench-Capture: 1`` records its template response.
* ``BENCH_ENGINE=stock`` replaces the portal's pooled SQLite engine by Piccolo's stock
  ``SQLiteEngine`` (a new connection per query) with the same PRAGMA factory, so the
  two connection strategies can be compared on the same data (not a portal setting).
"""

from __future__ import annotations

import os
from typing import Any

from litestar import Litestar, Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

from portal.db import BUSY_TIMEOUT_MS, PragmaConnection
from portal.settings import Settings

#: key -> (template name, context) of the last captured response for that key.
CAPTURED: dict[str, tuple[str, dict[str, Any]]] = {}
_FLOOR_BODIES: dict[int, bytes] = {}


class StockSQLiteEngine(SQLiteEngine):
    """Piccolo's own SQLite engine (one connection per query), with the portal's PRAGMAs.

    Only the helpers the portal calls on its engine are added; queries run exactly as
    Piccolo runs them.
    """

    def __init__(self, path: str) -> None:
        super().__init__(path=path, factory=PragmaConnection, timeout=BUSY_TIMEOUT_MS / 1000)

    def write_transaction(self):
        return self.transaction(TransactionType.immediate)

    async def fetch(self, sql: str, args: Any = ()) -> list[dict]:
        """What ``Table.raw`` does: Piccolo's own path, a new connection per query."""
        return await self.run_querystring(QueryString(sql, *args))

    async def close_pool(self) -> None:
        return None


def _install_capture() -> None:
    """Record (template, context) of responses to requests that ask for it."""
    original = Template.to_asgi_response

    def to_asgi_response(self: Template, app, request: Request, **kwargs):
        if request.headers.get("x-bench-capture") == "1":
            # The path as requested (Litestar's own strips a trailing slash).
            key = (request.scope.get("raw_path") or request.url.path.encode()).decode() + ("#hx" if request.headers.get("hx-request") == "true" else "")
            CAPTURED[key] = (self.template_name, dict(self.context))
        return original(self, app, request, **kwargs)

    Template.to_asgi_response = to_asgi_response  # type: ignore[method-assign]


@get("/_bench/floor", cache=False)
async def floor(size: int = 5000) -> Response:
    body = _FLOOR_BODIES.get(size)
    if body is None:
        body = _FLOOR_BODIES[size] = b"x" * size
    return Response(body, media_type="text/html")


@get("/_bench/render", cache=False)
async def render(key: str) -> Template:
    captured = CAPTURED.get(key)
    if captured is None:
        raise NotFoundException()
    template_name, context = captured
    return Template(template_name, context=context)


@get("/_bench/captured", cache=False)
async def captured() -> dict[str, str]:
    """Which keys were captured, with their template names (for the benchmark's log)."""
    return {key: name for key, (name, _) in CAPTURED.items()}


@get("/_bench/stats", cache=False)
async def stats() -> dict[str, int]:
    """The engine's counters: PostgreSQL's looks at the snapshot; the read cache's hits, misses and new versions."""
    from portal.db import engine

    db = engine()
    cache = db.cache if hasattr(db, "snapshot_checks") else db.pool().cache
    return {"snapshot_checks": getattr(db, "snapshot_checks", 0), "cache_hits": cache.hits,
            "cache_misses": cache.misses, "cache_versions": cache.versions}


def create_bench_app() -> Litestar:
    """The portal app with the reference routes (and the stock engine when asked)."""
    choice = os.environ.get("BENCH_ENGINE", "pooled")
    if choice == "stock":
        import portal.piccolo_conf as conf

        settings = Settings.from_env()
        if not settings.is_sqlite:
            raise SystemExit(f"BENCH_ENGINE={choice} needs a SQLite DATABASE_URL")
        path = settings.database_url.removeprefix("sqlite:///")
        conf.DB = StockSQLiteEngine(path)
    _install_capture()
    from portal.app import create_app

    app = create_app()
    for handler in (floor, render, captured, stats):
        app.register(handler)
    return app
