"""Static files: the app's own handler (with the security headers) against granian's mount.

    .venv/bin/python bench/static_bench.py [--seconds 10] [--connections 32]

Starts granian with one worker twice on a scratch data dir: once serving the portal as
it ships (static files answered by ``portal.web.static`` through the app, so they carry
the security headers), once with granian's own static mount in front (the reference:
fast, but without those headers). Runs wrk against a small and a 50 KB asset on each
and prints requests per second and latency. Needs wrk (``apt-get install wrk``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ("/static/css/app.css?v=4", "/static/js/htmx-2.0.11.min.js")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(port: int, env: dict[str, str], mount: bool) -> subprocess.Popen:
    code = (
        "from granian import Granian\n"
        "from granian.constants import Interfaces\n"
        "from pathlib import Path\n"
        f"kwargs = dict(static_path_route=['/static'], static_path_mount=[Path({str(ROOT / 'static')!r})]) if {mount} else {{}}\n"
        f"Granian('portal.app:create_app', factory=True, address='127.0.0.1', port={port}, interface=Interfaces.ASGI,"
        " workers=1, log_level='warning', **kwargs).serve()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the server did not start")


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    return rate, p50


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    scratch = Path(tempfile.mkdtemp(prefix="portal-static-bench-"))
    env = {**os.environ, "PORTAL_DATA_DIR": str(scratch), "PORTAL_LOG_LEVEL": "WARNING",
           "DATABASE_URL": f"sqlite:///{scratch / 'portal.sqlite3'}"}
    subprocess.run([sys.executable, "-m", "portal.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    print(f"{'server':<38} {'asset':<36} {'req/s':>9} {'p50':>9}  security headers")
    try:
        for label, mount in (("app handler (as shipped)", False), ("granian static mount (reference)", True)):
            port = free_port()
            process = serve(port, env, mount)
            try:
                for asset in ASSETS:
                    url = f"http://127.0.0.1:{port}{asset}"
                    headers = urllib.request.urlopen(url).headers
                    wrk(url, 2, args.connections)  # warm-up
                    rate, p50 = wrk(url, args.seconds, args.connections)
                    has = "yes" if headers.get("content-security-policy") and headers.get("x-content-type-options") else "no"
                    print(f"{label:<38} {asset:<36} {rate:>9.0f} {p50:>9}  {has}", flush=True)
            finally:
                process.terminate()
                process.wait(10)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
