"""Static files and downloads through Caddy (HTTPS) against the app directly (HTTP).

    .venv/bin/python bench/caddy_bench.py [--seconds 10] [--connections 8] [--mb 100]

A temporary data dir gets the demo and one shared file of ``--mb`` MB (the project's
Files tab); ``portal serve --with-caddy`` serves it with one worker, pebble (started here,
with a DNS server of the tests) issuing the certificates. Then, the same way on both
paths: ``--connections`` threads fetch the stylesheet (``/static/css/app.css``) for
``--seconds`` (requests/s, p50/p99), and one client downloads the file three times
(MB/s, best of three). Printed as a table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fakes.dns_server import FakeDNS  # noqa: E402
from tests.pebble import Pebble  # noqa: E402
from tests.servers import free_port  # noqa: E402

BASE_HOST = "studio.portal.test"


class Path_:
    """One way in: plain HTTP to the app, or HTTPS to Caddy with the base host as SNI."""

    def __init__(self, name: str, port: int, root: str | None) -> None:
        self.name, self.port, self.root = name, port, root

    def connection(self) -> http.client.HTTPConnection:
        if self.root is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        context = ssl.create_default_context(cadata=self.root)

        class Connection(http.client.HTTPSConnection):
            def connect(inner) -> None:
                sock = socket.create_connection(("127.0.0.1", inner.port), inner.timeout)
                inner.sock = context.wrap_socket(sock, server_hostname=inner.host)

        return Connection(BASE_HOST, self.port, timeout=60)


def requests_per_second(way: Path_, path: str, headers: dict, seconds: float, connections: int) -> tuple[float, float, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop() -> None:
        connection = way.connection()
        mine = []
        while time.monotonic() < deadline:
            start = time.perf_counter()
            connection.request("GET", path, headers={"Host": BASE_HOST, **headers})
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    cuts = statistics.quantiles(latencies, n=100)
    return len(latencies) / seconds, cuts[49] * 1000, cuts[98] * 1000


def download_mb_per_s(way: Path_, path: str, headers: dict, size: int) -> float:
    best = 0.0
    for _ in range(3):
        connection = way.connection()
        start = time.perf_counter()
        connection.request("GET", path, headers={"Host": BASE_HOST, **headers})
        response = connection.getresponse()
        got = 0
        while chunk := response.read(1 << 20):
            got += len(chunk)
        elapsed = time.perf_counter() - start
        connection.close()
        assert response.status == 200 and got == size, (response.status, got)
        best = max(best, size / elapsed / 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--mb", type=int, default=100)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portal-caddy-bench-"))
    dns = FakeDNS(default_a="127.0.0.1").start()
    http_port, https_port, app_port = free_port(), free_port(), free_port()
    pebble = Pebble(work, dns.setting, http_port, https_port)
    env = {**os.environ, "PORTAL_DATA_DIR": str(work / "data"), "PORTAL_BASE_URL": f"https://{BASE_HOST}",
           "PORTAL_SECRET_KEY": "caddy-bench-secret-key-0123456789abcdef", "PORTAL_LOG_LEVEL": "WARNING",
           "PORTAL_HTTP_PORT": str(http_port), "PORTAL_HTTPS_PORT": str(https_port), "PORTAL_ACME_CA": pebble.directory,
           "PORTAL_ACME_CA_ROOT": str(pebble.listener_root), "PORTAL_RATE_LIMIT_PER_IP": "100000", "PORTAL_BACKUP_HOURS": "0"}

    def portal(*command: str) -> str:
        return subprocess.run([sys.executable, "-m", "portal.cli", *command], env=env, cwd=ROOT, capture_output=True,
                              text=True, check=True, timeout=300).stdout

    portal("migrate")
    links = dict(re.findall(r"\((\S+@\S+)\): (http\S+)", portal("demo")))
    big = work / "big.bin"
    with open(big, "wb") as out:
        for _ in range(args.mb):
            out.write(os.urandom(1 << 20))
    front = subprocess.Popen([sys.executable, "-m", "portal.cli", "serve", "--with-caddy", "--workers", "1",
                              "--port", str(app_port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        root = pebble.issuing_root()
        caddy, direct = Path_("Caddy, HTTPS", https_port, root), Path_("app, HTTP", app_port, None)
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = caddy.connection()
                connection.request("GET", "/healthz", headers={"Host": BASE_HOST})
                if connection.getresponse().status == 200:
                    break
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not come up")
            time.sleep(0.3)
        path = f"/p/demo/projects/1/files/{share_file(env, big)}/download"
        cookie = sign_in(caddy, links["alice@northwind.example"])
        print(f"{args.connections} connections, {args.seconds:.0f} s per run; a {args.mb} MB download, best of 3\n")
        print("| path | app.css req/s | p50 ms | p99 ms | download MB/s |")
        print("|---|---:|---:|---:|---:|")
        for way in (direct, caddy):
            rate, p50, p99 = requests_per_second(way, "/static/css/app.css", {}, args.seconds, args.connections)
            speed = download_mb_per_s(way, path, {"Cookie": cookie}, args.mb << 20)
            print(f"| {way.name} | {rate:.0f} | {p50:.1f} | {p99:.1f} | {speed:.0f} |")
    finally:
        front.terminate()
        front.wait(timeout=30)
        pebble.stop()
        dns.stop()
        shutil.rmtree(work, ignore_errors=True)


SHARE = """
import asyncio, sys
from portal.db import engine
from portal.files.storage import store_bytes
from portal.files.tables import ProjectFile
from portal.settings import Settings

async def main():
    stored = await store_bytes(Settings.from_env(), 1, open(sys.argv[1], "rb").read(), "application/octet-stream")
    rows = await ProjectFile.insert(ProjectFile(workspace=1, project=1, stored_file=stored.id, name="big.bin",
                                                shared=True)).returning(ProjectFile.id)
    print(rows[0]["id"])
    await engine().close_pool()

asyncio.run(main())
"""


def share_file(env: dict, big: Path) -> int:
    """``big`` as a shared file of the demo's first project (alice's)."""
    done = subprocess.run([sys.executable, "-c", SHARE, str(big)], env=env, cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=300)
    return int(done.stdout.split()[-1])


def sign_in(way: Path_, link: str) -> str:
    """Redeem a login link through ``way``; the Cookie header of the session it opens."""
    from http.cookies import SimpleCookie

    jar: dict[str, str] = {}

    def send(method: str, path: str, body: str = "") -> str:
        connection = way.connection()
        headers = {"Host": BASE_HOST, "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                jar[name] = morsel.value
        text = response.read().decode()
        connection.close()
        return text

    path = link.split(BASE_HOST, 1)[1]
    token = re.search(r'name="_csrf_token" value="([^"]+)"', send("GET", path))[1]
    send("POST", path, f"_csrf_token={token}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


if __name__ == "__main__":
    main()
