"""Portal benchmark: throughput and latency of every client tab, against two references.

    .venv/bin/python bench/portal_bench.py            # about 5 minutes, prints the tables
    .venv/bin/python bench/portal_bench.py --quick    # one round per tab: a smoke check
    .venv/bin/python bench/portal_bench.py --engines pooled,uncached   # a choice of servers
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/portal_bench \
        .venv/bin/python bench/portal_bench.py        # also PostgreSQL (that database is WIPED)

Needs ``wrk`` (``apt-get install wrk``). What it does:

1. A temporary data dir: ``portal migrate`` and ``portal demo`` (the 1x data set).
2. For each data set (1x, then 100x: ``bench/clone.py`` adds 99 copies of the demo's
   client organisations with everything under them, in the same workspace) and each
   engine (the portal's SQLite engine as configured; the same with its read cache off;
   the same while another process commits 50 times a second, each commit emptying the
   read cache; Piccolo's stock ``SQLiteEngine``, one connection per query, same
   PRAGMAs; PostgreSQL when ``BENCH_DATABASE_URL`` is set, with its read cache and
   without: ``--pg-engines``),
   it starts ``uvicorn bench.server:create_bench_app`` with ONE worker, signs alice in
   with a login link, discovers her first project's tabs (links in
   ``[data-testid=project-tabs]``, one deliverable, one invoice), counts each tab's
   statements (``portal.db.count_queries``, in a separate process) and runs wrk
   (``-t1``) against: the tab as an htmx fragment (the home page also as a full page)
   with 32 connections and with 1; ``/_bench/floor`` answering as many bytes (the
   framework floor, through the portal's middleware); ``/_bench/render`` rendering the
   tab's template from the context captured from a real request (the render-only
   ceiling). All three get the same request headers (session and CSRF cookies,
   ``HX-Request``). At 32 connections the tab, the floor and the ceiling are measured in
   interleaved 1-second rounds and the median round is reported, so that the load of a
   shared machine affects all three alike. The floor and the ceiling do not touch the
   database: they are measured on the first engine's server of each data set and
   shared with the others (``--full`` measures them on every server).
3. Prints one table per data set and engine with the targets: req/s >= 1/15 of the
   floor, >= 70% of the render-only ceiling, p50 <= 2 ms at one connection, and the
   100x data set within 1.3x of the 1x req/s; on PostgreSQL >= 60% of the ceiling and
   p50 <= 1.5 ms at one connection.

``bench/profile_tab.py`` shows where one tab's time goes (CPU per request, its
statements, a pyinstrument profile).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ALICE = "alice@northwind.example"
COPIES = 99  # the 100x data set: the demo plus 99 copies

FLOOR_RATIO = 1 / 15
RENDER_RATIO = 0.70
P50_AT_ONE_MS = 2.0
#: PostgreSQL's targets: every read it answers is a round trip to another process.
PG_RENDER_RATIO = 0.60
PG_P50_AT_ONE_MS = 1.5
GROWTH_LIMIT = 1.3


@dataclasses.dataclass
class Wrk:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: str = ""  # non-2xx responses or socket errors, as wrk reports them


@dataclasses.dataclass
class TabResult:
    name: str
    path: str
    fragment: bool
    size: int
    queries: int | None
    tab: Wrk
    one: Wrk
    floor: Wrk | None = None
    render: Wrk | None = None


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([PYTHON, "-m", "portal.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"portal {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


#: Commits per second of the ``writes`` variant's other process.
WRITES_PER_SECOND = 50

WRITER = r"""
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
connection.execute("CREATE TABLE IF NOT EXISTS bench_tick (n INTEGER)")
n = 0
while True:
    n += 1
    connection.execute("INSERT INTO bench_tick VALUES (?)", (n,))
    time.sleep(1 / float(sys.argv[2]))
"""


class Server:
    """``uvicorn bench.server:create_bench_app`` with one worker on a free port.

    Variants: ``pooled`` (the portal as configured), ``uncached`` (PORTAL_READ_CACHE_ROWS=0),
    ``writes`` (as pooled, while another process commits WRITES_PER_SECOND times a
    second, each commit emptying the read cache) and ``stock`` (Piccolo's own engine).
    """

    def __init__(self, env: dict[str, str], engine: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.writer = None
        if engine == "writes" and env["DATABASE_URL"].startswith("sqlite:///"):
            self.writer = subprocess.Popen(
                [PYTHON, "-c", WRITER, env["DATABASE_URL"].removeprefix("sqlite:///"), str(WRITES_PER_SECOND)])
        extra = {"PORTAL_READ_CACHE_ROWS": "0"} if engine == "uncached" else {}
        env = {**env, **extra, "BENCH_ENGINE": "stock" if engine == "stock" else "pooled", "PORTAL_BASE_URL": self.base}
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [PYTHON, "-m", "uvicorn", "bench.server:create_bench_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise SystemExit(f"server did not start:\n{self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.writer is not None:
            self.writer.kill()
            self.writer.wait()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---------------------------------------------------------------- wrk


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * _UNITS[unit]


def wrk(url: str, headers: list[str], connections: int, seconds: int) -> Wrk:
    """One wrk run; requests/s and the 50th/99th latency percentiles."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = "; ".join(m.group(0).strip() for m in re.finditer(r"(Non-2xx or 3xx responses: \d+|Socket errors:.*)", out))
    return Wrk(rps, p50, p99, errors)


def median(runs: list[Wrk]) -> Wrk:
    """The median of each figure over several runs (and every error any run saw)."""
    def middle(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    return Wrk(middle([r.rps for r in runs]), middle([r.p50_ms for r in runs]), middle([r.p99_ms for r in runs]),
               "; ".join(r.errors for r in runs if r.errors))


# ---------------------------------------------------------------- the portal side


def sign_in(server: Server, env: dict[str, str]) -> httpx.Client:
    """Alice's browser: a login link, GET it, POST Continue with the CSRF token."""
    link = run_cli({**env, "PORTAL_BASE_URL": server.base}, "login-link", ALICE, "--workspace", "demo").strip()
    client = httpx.Client(base_url=server.base, timeout=10)
    path = urlsplit(link).path
    page = client.get(path)
    page.raise_for_status()
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # the form's own token
    response = client.post(path, data={"_csrf_token": token})
    if response.status_code != 303 or "portal_session" not in client.cookies:
        raise SystemExit(f"sign-in failed: {response.status_code} {response.text[:300]}")
    return client


def discover(client: httpx.Client) -> list[tuple[str, str, bool]]:
    """(name, path, as fragment) of every tab to measure."""
    home = client.get("/p/demo/")
    home.raise_for_status()
    project = re.search(r'href="(/p/demo/projects/\d+)"', home.text)
    if not project:
        raise SystemExit("alice sees no project on /p/demo/")
    page = client.get(project.group(1))
    page.raise_for_status()
    nav = re.search(r'data-testid="project-tabs".*?</nav>', page.text, re.S)
    tabs = [("home (full page)", "/p/demo/", False), ("home", "/p/demo/", True)]
    for href, label in re.findall(r'<a[^>]*href="([^"]+)"[^>]*>\s*([^<]+?)\s*</a>', nav.group(0) if nav else ""):
        tabs.append((label.lower(), href, True))
    # One detail page of each kind, when the tab links to one.
    for tab_suffix, name in (("/deliverables", "deliverable"), ("/billing", "invoice")):
        for _, href, _ in list(tabs):
            if href.endswith(tab_suffix):
                body = client.get(href, headers={"HX-Request": "true"}).text
                found = re.search(rf'href="({re.escape(href)}/\d+)"', body)
                if found:
                    tabs.append((name, found.group(1), True))
    return tabs


def auth_headers(client: httpx.Client, fragment: bool) -> list[str]:
    cookies = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    headers = [f"Cookie: {cookies}"]
    if fragment:
        headers.append("HX-Request: true")
    return headers


def warm(client: httpx.Client, path: str, fragment: bool, requests: int = 60, capture: bool = False) -> int:
    """Request ``path`` a few times (warming caches); the response size in bytes."""
    headers = {"HX-Request": "true"} if fragment else {}
    size = 0
    for i in range(requests):
        extra = {"X-Bench-Capture": "1"} if capture and i == 0 else {}
        response = client.get(path, headers={**headers, **extra})
        if response.status_code != 200:
            raise SystemExit(f"GET {path} answered {response.status_code}: {response.text[:300]}")
        size = len(response.content)
    return size


# ---------------------------------------------------------------- one server


def bench_server(env: dict[str, str], engine: str, rounds: int, references: bool, count: bool) -> list[TabResult]:
    server = Server(env, engine)
    try:
        client = sign_in(server, env)
        tabs = discover(client)
        queries = count_queries(env, tabs) if count else {}
        results = []
        for name, path, fragment in tabs:
            size = warm(client, path, fragment, capture=True)
            headers = auth_headers(client, fragment)
            url = server.base + path
            key = quote(path + ("#hx" if fragment else ""))
            if references:
                warm(client, f"/_bench/render?key={key}", False, 30)
                warm(client, f"/_bench/floor?size={size}", False, 30)
            # 1-second rounds, tab and references interleaved, so that the load of a
            # shared machine drifts into all three alike; the median round counts.
            runs: dict[str, list[Wrk]] = {"tab": [], "floor": [], "render": []}
            for round_ in range(rounds if references else 0):
                runs["tab"].append(wrk(url, headers, 32, 1))
                if references and (round_ < rounds - 1 or rounds == 1):
                    # The same request headers as the tab (a CSRF cookie, so no new one is minted).
                    runs["floor"].append(wrk(f"{server.base}/_bench/floor?size={size}", headers, 32, 1))
                    runs["render"].append(wrk(f"{server.base}/_bench/render?key={key}", headers, 32, 1))
            if not references:
                # One longer run: a slow engine answers a connection only a few times a
                # second, and 1-second rounds would quantise its rate to 32/s steps.
                runs["tab"].append(wrk(url, headers, 32, rounds))
            one = wrk(url, headers, 1, 2 if rounds > 1 else 1)
            result = TabResult(name, path, fragment, size, queries.get(path + "#" + str(fragment)),
                               median(runs["tab"]), one)
            if references:
                result.floor, result.render = median(runs["floor"]), median(runs["render"])
            results.append(result)
            print(f"    {engine:<7} {name:<18} {result.tab.rps:8.0f} req/s  p50@1 {one.p50_ms:5.2f} ms", flush=True)
        client.close()
        return results
    finally:
        server.stop()


def count_queries(env: dict[str, str], tabs: list[tuple[str, str, bool]]) -> dict[str, int]:
    """Statements per request of each tab, counted in-process with portal.db.count_queries."""
    code = r"""
import asyncio, json, re, sys, httpx
from portal.app import create_app
from portal.db import count_queries, engine
from portal.settings import Settings
from portal.accounts.links import login_link

async def main(tabs):
    settings = Settings.from_env()
    app = create_app(settings)
    db = engine()
    if not settings.is_sqlite:
        await db.start_connection_pool()
    link = await login_link(settings, "alice@northwind.example", "demo")
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    out = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        path = httpx.URL(link).path
        page = await client.get(path)
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)
        signed_in = await client.post(path, data={"_csrf_token": token})
        assert signed_in.status_code == 303, signed_in.status_code
        for name, path, fragment in tabs:
            headers = {"HX-Request": "true"} if fragment else {}
            await client.get(path, headers=headers)
            with count_queries() as statements:
                await client.get(path, headers=headers)
            out[path + "#" + str(fragment)] = len(statements)
    await db.close_pool()
    print(json.dumps(out))

asyncio.run(main(json.loads(sys.argv[1])))
"""
    import json

    done = subprocess.run([PYTHON, "-c", code, json.dumps(tabs)], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        print(f"  (query count failed: {done.stderr[-500:]})")
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table(title: str, results: list[TabResult], baseline: list[TabResult] | None,
          render_ratio: float = RENDER_RATIO, p50_at_one_ms: float = P50_AT_ONE_MS) -> list[str]:
    lines = [f"### {title}", ""]
    lines.append(f"| tab | bytes | queries | req/s | p50@32 | p99@32 | p50@1 (<= {p50_at_one_ms:g} ms) | vs floor (>= 1/15) "
                 f"| vs render-only (>= {100 * render_ratio:.0f}%) | 100x vs 1x (<= 1.3x) |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
    before = {(r.path, r.fragment): r for r in baseline or []}
    for r in results:
        floor = render = growth = "n/a"
        if r.floor:
            ratio = r.tab.rps / r.floor.rps
            floor = f"1/{1 / ratio:.1f} of {r.floor.rps:.0f} {mark(ratio >= FLOOR_RATIO)}"
        if r.render:
            ratio = r.tab.rps / r.render.rps
            render = f"{100 * ratio:.0f}% of {r.render.rps:.0f} {mark(ratio >= render_ratio)}"
        old = before.get((r.path, r.fragment))
        if old:
            slower = old.tab.rps / r.tab.rps
            growth = f"{slower:.2f}x {mark(slower <= GROWTH_LIMIT)}"
        name = r.name + ("" if r.fragment or r.name.endswith("page)") else " (full page)")
        errors = f" ({r.tab.errors}{r.one.errors})" if r.tab.errors or r.one.errors else ""
        lines.append(
            f"| {name}{errors} | {r.size} | {r.queries if r.queries is not None else '?'} | {r.tab.rps:.0f} "
            f"| {r.tab.p50_ms:.2f} ms | {r.tab.p99_ms:.2f} ms "
            f"| {r.one.p50_ms:.2f} ms {mark(r.one.p50_ms <= p50_at_one_ms)} | {floor} | {render} | {growth} |"
        )
    return lines + [""]


# ---------------------------------------------------------------- main


def wipe_postgres(url: str) -> None:
    import asyncio

    import asyncpg

    async def wipe():
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        finally:
            await connection.close()

    asyncio.run(wipe())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="1-second wrk rounds per tab at 32 connections")
    parser.add_argument("--quick", action="store_true", help="one round per tab (smoke check, noisy figures)")
    parser.add_argument("--full", action="store_true", help="measure floor and render-only on every server")
    parser.add_argument("--engines", default="pooled,uncached,writes,stock",
                        help="comma-separated: pooled, uncached, writes, stock (see Server)")
    parser.add_argument("--pg-engines", default="postgres,postgres-uncached",
                        help="with BENCH_DATABASE_URL, comma-separated: postgres, postgres-uncached")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dirs")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    rounds = 1 if args.quick else args.rounds
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    setups = [("sqlite", f"sqlite:///{tmp}/sqlite/portal.sqlite3", args.engines.split(","))]
    if os.environ.get("BENCH_DATABASE_URL"):
        setups.append(("postgres", os.environ["BENCH_DATABASE_URL"], args.pg_engines.split(",")))

    report: list[str] = []
    try:
        for label, url, engines in setups:
            data_dir = tmp / label
            data_dir.mkdir()
            env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), "DATABASE_URL": url, "PORTAL_LOG_LEVEL": "WARNING",
                   "PORTAL_SECRET_KEY": "bench-" + "x" * 40, "PYTHONPATH": str(ROOT)}
            env.pop("BENCH_DATABASE_URL", None)
            if label == "postgres":
                wipe_postgres(url)
            print(f"{label}: migrate and load the demo in {data_dir}", flush=True)
            run_cli(env, "migrate")
            run_cli(env, "demo")
            baseline: dict[str, list[TabResult]] = {}
            for dataset in ("1x", "100x"):
                if dataset == "100x":
                    done = subprocess.run([PYTHON, str(ROOT / "bench" / "clone.py"), str(COPIES)], cwd=ROOT, env=env,
                                          capture_output=True, text=True)
                    if done.returncode:
                        raise SystemExit(f"clone failed:\n{done.stdout}{done.stderr}")
                    print("  " + done.stdout.strip(), flush=True)
                references: list[TabResult] | None = None
                for engine in engines:
                    print(f"  {dataset} {engine}", flush=True)
                    # Queries are counted with the portal's engine (the stock one runs the same).
                    variant = {"postgres": "pooled", "postgres-uncached": "uncached"}.get(engine, engine)
                    results = bench_server(env, variant, rounds, args.full or references is None,
                                           engine in ("pooled", "postgres"))
                    if references is None:
                        references = results
                    else:  # share the floor and render-only figures of this data set
                        by_key = {(r.path, r.fragment): r for r in references}
                        for r in results:
                            ref = by_key.get((r.path, r.fragment))
                            if ref and r.floor is None:
                                r.floor, r.render = ref.floor, ref.render
                            if r.queries is None and ref:
                                r.queries = ref.queries
                    title = {"pooled": "SQLite, portal engine (pooled connections)",
                             "stock": "SQLite, Piccolo's stock SQLiteEngine (a connection per query)",
                             "uncached": "SQLite, portal engine with the read cache off (PORTAL_READ_CACHE_ROWS=0)",
                             "writes": f"SQLite, portal engine while another process commits {WRITES_PER_SECOND} times a second",
                             "postgres": "PostgreSQL, portal engine (asyncpg pool, read cache)",
                             "postgres-uncached": "PostgreSQL with the read cache off (PORTAL_READ_CACHE_ROWS=0)"}[engine]
                    targets = (PG_RENDER_RATIO, PG_P50_AT_ONE_MS) if label == "postgres" else (RENDER_RATIO, P50_AT_ONE_MS)
                    report += table(f"{dataset} data set, {title}", results, baseline.get(engine), *targets)
                    if dataset == "1x":
                        baseline[engine] = results
    finally:
        if args.keep:
            print(f"data kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()
    print()
    print(f"Measured {dt.date.today()} on {os.cpu_count()} cores, one uvicorn worker, wrk -t1 "
          f"(-c32: median of {rounds} 1-second rounds; -c1: 2 s); load average before the report {load[0]:.2f}; "
          f"whole run {time.monotonic() - started:.0f} s.")
    print()
    print("\n".join(report))


if __name__ == "__main__":
    main()
