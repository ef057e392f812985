"""Load: 50 concurrent clients mixing reads and writes against `portal serve` with two workers.

    .venv/bin/python bench/load_bench.py [--clients 50] [--seconds 60] [--workers 2]
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/portal_bench .venv/bin/python bench/load_bench.py
                                                   # on PostgreSQL (that database is WIPED)

A temporary data dir gets the demo (``portal migrate``, ``portal demo``); ``portal serve``
(granian, ``--workers``) serves it. Alice and the owner sign in once each (login links);
then ``--clients`` asyncio clients loop for ``--seconds``: four in five requests read one of
alice's pages (home, progress, deliverables, a deliverable, files, billing, an invoice),
one in five writes (alice sends feedback, or the owner adds a milestone). Printed: requests,
req/s, p50/p90/p99 per kind, every status code seen, and how often the server log says
"database is locked". The target: no 5xx, no "database is locked".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.servers import free_port  # noqa: E402

READS = ("/p/demo/", "/p/demo/projects/1", "/p/demo/projects/1/deliverables", "/p/demo/projects/1/deliverables/1",
         "/p/demo/projects/1/files", "/p/demo/projects/1/billing", "/p/demo/projects/1/billing/3")
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def portal(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "portal.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=300).stdout


async def signed_in(base: str, link: str) -> tuple[dict, str]:
    """The cookies and CSRF token of a session opened with ``link``."""
    async with httpx.AsyncClient(base_url=base, follow_redirects=True) as client:
        page = await client.get(link)
        token = CSRF.search(page.text)[1]
        await client.post(link, data={"_csrf_token": token})
        home = await client.get(link.split("/login")[0] + "/")
        return dict(client.cookies), CSRF.search(home.text)[1] if CSRF.search(home.text) else token


async def run(base: str, alice: tuple[dict, str], owner: tuple[dict, str], clients: int, seconds: float) -> dict:
    latencies: dict[str, list[float]] = {"read": [], "write": []}
    statuses: Counter = Counter()
    deadline = time.monotonic() + seconds

    async def client_loop(n: int) -> None:
        rng = random.Random(n)
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=base, cookies=alice[0], limits=limits, timeout=30) as as_alice, \
                httpx.AsyncClient(base_url=base, cookies=owner[0], limits=limits, timeout=30) as as_owner:
            count = 0
            while time.monotonic() < deadline:
                count += 1
                start = time.perf_counter()
                if rng.random() < 0.8:
                    kind, response = "read", await as_alice.get(rng.choice(READS), headers={"HX-Request": "true"})
                elif rng.random() < 0.5:
                    kind, response = "write", await as_alice.post("/p/demo/projects/1/feedback", data={
                        "_csrf_token": alice[1], "subject": f"Load {n}-{count}", "message": "A note under load."})
                else:
                    kind, response = "write", await as_owner.post("/studio/projects/1/milestones", data={
                        "_csrf_token": owner[1], "name": f"Load {n}-{count}"})
                latencies[kind].append(time.perf_counter() - start)
                statuses[response.status_code] += 1

    await asyncio.gather(*(client_loop(n) for n in range(clients)))
    return {"latencies": latencies, "statuses": statuses}


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else (values[0] if values else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portal-load-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    database = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{work / 'portal.sqlite3'}"
    env = {**os.environ, "PORTAL_DATA_DIR": str(work), "DATABASE_URL": database, "PORTAL_BASE_URL": base,
           "PORTAL_SECRET_KEY": "load-bench-secret-key-0123456789abcdef", "PORTAL_LOG_LEVEL": "WARNING",
           "PORTAL_RATE_LIMIT_PER_IP": "100000", "PORTAL_BACKUP_HOURS": "0"}
    if database.startswith("postgresql://"):
        subprocess.run(["psql", database, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"], check=True)
    portal(env, "migrate")
    links = dict(re.findall(r"\((\S+@\S+)\): (http\S+)", portal(env, "demo")))
    log = open(work / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve", "--workers", str(args.workers),
                               "--port", str(port)], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        alice = asyncio.run(signed_in(base, links["alice@northwind.example"].removeprefix(base)))
        owner = asyncio.run(signed_in(base, links["owner@brightline.example"].removeprefix(base)))
        started = time.monotonic()
        result = asyncio.run(run(base, alice, owner, args.clients, args.seconds))
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    text = (work / "server.log").read_text()
    total = sum(result["statuses"].values())
    engine = "PostgreSQL" if database.startswith("postgresql://") else "SQLite"
    print(f"{engine}, {args.workers} workers, {args.clients} clients, {elapsed:.0f} s: {total} requests,"
          f" {total / elapsed:.0f} req/s")
    for kind, values in result["latencies"].items():
        print(f"  {kind:5}: {len(values):6} requests, p50 {quantile(values, 50) * 1000:.1f} ms,"
              f" p90 {quantile(values, 90) * 1000:.1f} ms, p99 {quantile(values, 99) * 1000:.1f} ms")
    print(f"  statuses: {dict(sorted(result['statuses'].items()))}")
    errors = sum(n for status, n in result["statuses"].items() if status >= 500)
    locked = text.count("database is locked")
    print(f"  5xx: {errors}; 'database is locked' in the server log: {locked}")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if errors or locked else 0)


if __name__ == "__main__":
    main()
