"""Where a tab's time goes: CPU per request, its statements, and a pyinstrument profile.

    PORTAL_DATA_DIR=/tmp/x DATABASE_URL=sqlite:////tmp/x/portal.sqlite3 \
        .venv/bin/python bench/profile_tab.py /p/demo/projects/2 [--requests 500] [--profile] [--full]

Runs the app in this process (httpx ASGITransport, no server, no sockets), signs alice
in, then requests the path (as an htmx fragment unless ``--full``) ``--requests`` times
8 at a time. Prints the process CPU time per request (the event loop plus aiosqlite's
threads), the statements of one request, and with ``--profile`` where the time went.
The database must hold the demo (``portal demo``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(args: argparse.Namespace) -> None:
    import httpx

    from portal.accounts.links import login_link
    from portal.app import create_app
    from portal.db import count_queries, engine
    from portal.settings import Settings

    settings = Settings.from_env()
    app = create_app(settings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the client's own log lines cost CPU here
    db = engine()
    if not settings.is_sqlite:
        await db.start_connection_pool()
    # A fresh client address per run: sign-ins are rate limited per IP.
    transport = httpx.ASGITransport(app=app, client=(f"198.51.100.{random.randrange(1, 255)}", 50000))
    headers = {} if args.full else {"HX-Request": "true"}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        path = httpx.URL(await login_link(settings, args.email, "demo")).path
        page = await client.get(path)
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # the form's own token
        signed_in = await client.post(path, data={"_csrf_token": token})
        assert signed_in.status_code == 303, f"sign-in failed: {signed_in.status_code}"
        for _ in range(20):
            response = await client.get(args.path, headers=headers)
            assert response.status_code == 200, response.status_code
        with count_queries() as statements:
            await client.get(args.path, headers=headers)
        print(f"{args.path}: {len(response.content)} bytes, {len(statements)} statements")
        for sql in statements:
            print("   ", " ".join(sql.split())[:160])

        async def batch(n: int) -> None:
            for start in range(0, n, 8):
                await asyncio.gather(*(client.get(args.path, headers=headers) for _ in range(min(8, n - start))))

        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled", interval=0.0002)
            profiler.start()
        checks = getattr(db, "snapshot_checks", 0)  # PostgreSQL: looks at the database's snapshot
        cpu, wall = time.process_time(), time.perf_counter()
        await batch(args.requests)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profiler:
            profiler.stop()
        print(f"{args.requests} requests: {1000 * cpu / args.requests:.2f} ms CPU and "
              f"{1000 * wall / args.requests:.2f} ms wall per request (in-process, 8 at a time)")
        if not settings.is_sqlite:
            print(f"snapshot checks: {(db.snapshot_checks - checks) / args.requests:.2f} per request")
        if profiler:
            print(profiler.output_text(unicode=False, color=False, show_all=False))
    await db.close_pool()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--full", action="store_true", help="the full page, not the htmx fragment")
    parser.add_argument("--email", default="alice@northwind.example")
    asyncio.run(main(parser.parse_args()))
