"""Several replicas behind one load balancer: real Caddy, configured by
``portal balancer-caddyfile``, in front of two ``portal serve`` processes (data dirs of
their own, one database), with its certificate from a real ACME CA (pebble), on loopback.

Requests through the balancer reach both replicas; Caddy's internal paths are not served
to the outside; when one replica stops, every request still gets its answer from the
other; the replicas believe the balancer's X-Forwarded-For (``PORTAL_TRUSTED_PROXIES``),
so a client's address is its own, not the balancer's nor one it made up.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from portal.audit.tables import AuditEvent
from tests.conftest import TEST_ENV
from tests.fakes.dns_server import FakeDNS
from tests.pebble import Pebble, https_get
from tests.servers import free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
BASE_HOST = "studio.portal.test"
LOGIN = "/p/acme/login"


def _login_requests(replica) -> float:
    """How many GETs of the portal's sign-in page this replica answered (its /metrics)."""
    text = httpx.get(f"{replica.url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("portal_requests_total{") and "/login" in line and 'method="GET"' in line
               and 'status="200"' in line and "{token" not in line)


def _wait(condition, what: str, log: Path, seconds: float = 40) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if condition():
                return
        except (OSError, ssl.SSLError, http.client.HTTPException):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not there; {log.read_text()[-3000:] if log.exists() else ''}")
        time.sleep(0.2)


class _From(http.client.HTTPSConnection):
    """HTTPS to the balancer on 127.0.0.1 from another loopback address, as another machine."""

    def __init__(self, source: str, port: int, context: ssl.SSLContext) -> None:
        super().__init__(BASE_HOST, port, context=context, timeout=20)
        self.source = source

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout, source_address=(self.source, 0))
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _request_from(source: str, port: int, root: str, method: str, path: str, body: str | None = None,
                  headers: dict | None = None) -> tuple[int, str, str]:
    """(status, body, the cookies it set as a Cookie header) of one request from ``source``."""
    connection = _From(source, port, ssl.create_default_context(cadata=root))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        cookies = "; ".join(c.split(";", 1)[0] for c in response.msg.get_all("Set-Cookie") or [])
        return response.status, response.read().decode(), cookies
    finally:
        connection.close()


@pytest.fixture
def ca(tmp_path):
    dns = FakeDNS(default_a="127.0.0.1").start()
    http_port, https_port = free_port(), free_port()
    pebble = Pebble(tmp_path, dns.setting, http_port, https_port)
    try:
        yield pebble, http_port, https_port
    finally:
        pebble.stop()
        dns.stop()


async def test_two_replicas_behind_the_balancer_share_the_load_and_cover_for_each_other(db, world, tmp_path, ca):
    pebble, http_port, https_port = ca
    await db.close_pool()  # the servers have the database now
    common = {"PORTAL_BASE_URL": f"https://{BASE_HOST}", "PORTAL_TRUSTED_PROXIES": "127.0.0.1"}
    with start_server("balanced-1", {**common, "PORTAL_DATA_DIR": str(tmp_path / "one")}) as one, \
            start_server("balanced-2", {**common, "PORTAL_DATA_DIR": str(tmp_path / "two")}) as two:
        upstreams = [one.url.removeprefix("http://"), two.url.removeprefix("http://")]
        balancer_env = {**os.environ, **TEST_ENV, **common, "PORTAL_DATA_DIR": str(tmp_path / "balancer"),
                        "PORTAL_HTTP_PORT": str(http_port), "PORTAL_HTTPS_PORT": str(https_port),
                        "PORTAL_ACME_CA": pebble.directory, "PORTAL_ACME_CA_ROOT": str(pebble.listener_root)}
        made = subprocess.run([sys.executable, "-m", "portal.cli", "balancer-caddyfile",
                               *(f"--upstream={u}" for u in upstreams), f"--ask={upstreams[0]}"],
                              env=balancer_env, cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        caddy_dir = tmp_path / "balancer" / "caddy"
        caddy_dir.mkdir(parents=True, exist_ok=True)
        (caddy_dir / "Caddyfile").write_text(made.stdout)
        log = tmp_path / "balancer.log"
        caddy = subprocess.Popen(
            ["caddy", "run", "--config", str(caddy_dir / "Caddyfile"), "--adapter", "caddyfile"],
            env={**balancer_env, "XDG_DATA_HOME": str(caddy_dir / "data"), "XDG_CONFIG_HOME": str(caddy_dir / "config"),
                 "HOME": str(caddy_dir)},
            stdout=log.open("w"), stderr=subprocess.STDOUT)
        try:
            root = pebble.issuing_root()
            _wait(lambda: https_get(BASE_HOST, https_port, "/healthz", root)[0] == 200, "the balancer over HTTPS", log)

            # The load is shared: each replica answers some of twenty sign-in pages.
            before = _login_requests(one), _login_requests(two)
            for _ in range(20):
                status, _, body, _ = https_get(BASE_HOST, https_port, LOGIN, root)
                assert status == 200 and "Acme" in body
            served = _login_requests(one) - before[0], _login_requests(two) - before[1]
            assert sum(served) == 20 and min(served) >= 5, served

            # Caddy's own questions and the metrics are not for the outside.
            for path in ("/_caddy/ask?domain=portal.northwind-agency.test", "/metrics"):
                assert https_get(BASE_HOST, https_port, path, root)[0] == 404, path

            # The client's address is its own (here 127.0.0.2; the balancer is 127.0.0.1):
            # the replica believes the balancer's X-Forwarded-For, and not the one the
            # client made up, which Caddy replaces.
            status, page, cookie = _request_from("127.0.0.2", https_port, root, "GET", LOGIN)
            token = page.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
            status, _, _ = _request_from(
                "127.0.0.2", https_port, root, "POST", LOGIN, body=f"email=alice%40northwind.example&_csrf_token={token}",
                headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
                         "X-Forwarded-For": "203.0.113.50"})
            assert status == 200
            event = await AuditEvent.select(AuditEvent.ip).where(AuditEvent.action == "login_link_requested").first()
            assert event["ip"] == "127.0.0.2", event

            # One replica dies at once (as a machine would): the balancer sends
            # everything to the other, the requests that tried the dead one included.
            one.process.kill()
            one.process.wait(timeout=20)
            answers = [https_get(BASE_HOST, https_port, LOGIN, root)[0] for _ in range(20)]
            assert answers == [200] * 20, answers
        finally:
            caddy.terminate()
            caddy.wait(timeout=20)
