"""`portal serve --with-caddy` with real Caddy and a real ACME CA (pebble), on loopback.

A verified custom domain gets its certificate from pebble on the first handshake and the
workspace's portal over HTTPS; an unverified or unknown name fails the handshake and is
never ordered; removing a domain, or a re-verification that no longer finds its CNAME,
deletes its certificate and stops the handshakes; Caddy is started again when it dies,
and SIGTERM stops both processes.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from portal.mail.tables import OutboxMessage
from portal.workspaces.tables import Workspace
from tests.conftest import TEST_ENV
from tests.fakes.dns_server import FakeDNS
from tests.pebble import Pebble, https_get, https_request, names_in
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
BASE_HOST = "studio.portal.test"
DOMAIN = "portal.northwind-agency.test"


class Front:
    """The supervisor process, its ports, and the CA it got certificates from."""

    def __init__(self, folder: Path, dns: FakeDNS, pebble: Pebble, http_port: int, https_port: int) -> None:
        self.folder, self.dns, self.pebble = folder, dns, pebble
        self.http_port, self.https_port, self.app_port = http_port, https_port, free_port()
        self.data_dir = folder / "data"
        self.env = {**os.environ, **TEST_ENV, "PORTAL_DATA_DIR": str(self.data_dir), "PORTAL_BASE_URL": f"https://{BASE_HOST}",
                    "PORTAL_HTTP_PORT": str(http_port), "PORTAL_HTTPS_PORT": str(https_port),
                    "PORTAL_ACME_CA": pebble.directory, "PORTAL_ACME_CA_ROOT": str(pebble.listener_root),
                    "PORTAL_ACME_EMAIL": "ops@brightline.test", "PORTAL_DNS_SERVERS": dns.setting,
                    "PORTAL_CNAME_TARGET": BASE_HOST, "PORTAL_LOG_LEVEL": "WARNING"}
        self.log = open(folder / "front.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "serve", "--with-caddy", "--server", "uvicorn", "--workers", "1",
             "--port", str(self.app_port)], env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self.root = pebble.issuing_root()
        self.wait_for(lambda: https_get(BASE_HOST, self.https_port, "/healthz", self.root)[0] == 200, "the base host over HTTPS")

    def wait_for(self, condition, what: str, seconds: float = 40) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if condition():
                    return
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{what}: not there; {(self.folder / 'front.log').read_text()[-3000:]}")
            time.sleep(0.2)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "portal.cli", *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)

    def caddy_pid(self) -> int | None:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid), "-x", "caddy"], capture_output=True, text=True)
        return int(found.stdout.split()[0]) if found.stdout.strip() else None

    def certificate_files(self, name: str) -> list[Path]:
        return list((self.data_dir / "caddy" / "storage" / "certificates").glob(f"*/{name}/*.crt"))

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            self.log.close()


@pytest.fixture(scope="module")
def front(tmp_path_factory, schema):
    folder = tmp_path_factory.mktemp("front")
    dns = FakeDNS(default_a="127.0.0.1").start()
    http_port, https_port = free_port(), free_port()
    pebble = Pebble(folder, dns.setting, http_port, https_port)
    server = Front(folder, dns, pebble, http_port, https_port)
    try:
        yield server
    finally:
        server.stop()
        pebble.stop()
        dns.stop()


async def served_domain(world, front: Front, name: str = DOMAIN) -> None:
    front.dns.cname(name, BASE_HOST)
    await Workspace.update({Workspace.custom_domain: name, Workspace.domain_status: "pending"}).where(
        Workspace.id == world.workspace)
    verified = front.cli("domain", "verify", "acme")
    assert verified.returncode == 0, verified.stderr


async def test_a_verified_domain_gets_a_certificate_and_the_branded_portal(front, world):
    await served_domain(world, front)
    status, headers, body, certificate = https_get(DOMAIN, front.https_port, "/login", front.root)
    assert status == 200 and "Acme Agency" in body and 'action="/login"' in body
    assert names_in(certificate) == [DOMAIN]
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert len(front.certificate_files(DOMAIN)) == 1  # kept in the data volume
    status, headers, _, _ = https_get(DOMAIN, front.https_port, "/", front.root)
    assert status == 303 and headers["Location"] == "/login"
    # The studio is not served on the domain.
    assert https_get(DOMAIN, front.https_port, "/studio/", front.root)[0] == 404


async def test_an_unverified_or_unknown_name_fails_the_handshake_and_is_never_ordered(front, world):
    front.dns.cname("pending.northwind-agency.test", BASE_HOST)
    await Workspace.update({Workspace.custom_domain: "pending.northwind-agency.test",
                            Workspace.domain_status: "pending"}).where(Workspace.id == world.workspace)
    for name in ("pending.northwind-agency.test", "unknown.example.test"):
        with pytest.raises(ssl.SSLError):
            https_get(name, front.https_port, "/login", front.root)
        assert front.certificate_files(name) == []
        assert front.pebble.orders_for(name) == 0


async def test_the_base_host_is_served_and_internal_paths_are_not(front, world):
    status, _, body, certificate = https_get(BASE_HOST, front.https_port, "/studio/login", front.root)
    assert status == 200 and "Sign in" in body and names_in(certificate) == [BASE_HOST]
    for path in ("/metrics", "/_caddy/ask?domain=" + BASE_HOST):
        assert https_get(BASE_HOST, front.https_port, path, front.root)[0] == 404, path
    # HTTP is sent to HTTPS.
    connection = http.client.HTTPConnection("127.0.0.1", front.http_port, timeout=10)
    connection.request("GET", "/studio/login", headers={"Host": BASE_HOST})
    response = connection.getresponse()
    assert response.status in (301, 308) and response.getheader("Location") == f"https://{BASE_HOST}/studio/login"
    connection.close()


async def test_removing_the_domain_deletes_its_certificate_and_stops_the_handshakes(front, world):
    name = "remove.northwind-agency.test"
    await served_domain(world, front, name)
    assert https_get(name, front.https_port, "/login", front.root)[0] == 200
    assert len(front.certificate_files(name)) == 1
    removed = front.cli("domain", "remove", "acme")
    assert removed.returncode == 0, removed.stderr
    assert front.certificate_files(name) == []
    front.wait_for(lambda: _handshake_fails(name, front), "the handshake refused after removal", seconds=20)


async def test_a_failed_reverification_stops_the_domain_and_tells_the_owners(front, world):
    name = "fails.northwind-agency.test"
    await served_domain(world, front, name)
    assert https_get(name, front.https_port, "/login", front.root)[0] == 200
    front.dns.clear(name)
    front.dns.a(name, "192.0.2.10")  # the agency replaced the CNAME with something else
    failed = front.cli("domain", "verify", "acme")
    assert failed.returncode == 1 and "no CNAME record" in failed.stderr
    row = await Workspace.select(Workspace.domain_status).where(Workspace.id == world.workspace).first()
    assert row["domain_status"] == "failed"
    assert front.certificate_files(name) == []
    front.wait_for(lambda: _handshake_fails(name, front), "the handshake refused after the failure", seconds=20)
    mail = await OutboxMessage.select(OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.text_body).where(
        OutboxMessage.kind == "domain_failed")
    assert [(m["to_address"], m["subject"]) for m in mail] == [
        ("olivia@acme.example", f"Your portal is no longer served at {name}")]
    assert "no CNAME record" in mail[0]["text_body"] and f"https://{BASE_HOST}/p/acme/" in mail[0]["text_body"]


def _handshake_fails(name: str, front: Front) -> bool:
    try:
        https_get(name, front.https_port, "/login", front.root)
    except ssl.SSLError:
        return True
    return False


async def test_caddy_is_started_again_when_it_dies(front, world):
    first = front.caddy_pid()
    assert first is not None
    os.kill(first, signal.SIGKILL)
    front.wait_for(lambda: front.caddy_pid() not in (None, first), "a new caddy process")
    front.wait_for(lambda: https_get(BASE_HOST, front.https_port, "/healthz", front.root)[0] == 200,
                   "the base host after the restart")
    assert "caddy exited" in (front.folder / "front.log").read_text()


def test_sigterm_stops_caddy_and_the_app(tmp_path, schema):
    dns = FakeDNS(default_a="127.0.0.1").start()
    http_port, https_port = free_port(), free_port()
    pebble = Pebble(tmp_path, dns.setting, http_port, https_port)
    try:
        server = Front(tmp_path, dns, pebble, http_port, https_port)
        caddy = server.caddy_pid()
        assert caddy is not None
        assert server.stop() == 0
        for port in (https_port, server.app_port):
            with pytest.raises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
        assert subprocess.run(["kill", "-0", str(caddy)], capture_output=True).returncode != 0
    finally:
        pebble.stop()
        dns.stop()


async def test_the_app_believes_caddy_and_not_a_forwarded_for_the_client_made_up(front, world):
    """Caddy replaces what a client claims in X-Forwarded-For; the app trusts Caddy alone."""
    import datetime as dt
    import re
    from http.cookies import SimpleCookie

    from portal.accounts.tokens import issue_token
    from tests.audit import only_event

    token = await issue_token(workspace_id=world.workspace, client_user_id=world.alice, lifetime=dt.timedelta(minutes=15))
    spoofed = {"X-Forwarded-For": "198.51.100.7", "Forwarded": "for=198.51.100.7"}
    status, _, page, _, set_cookies = https_request(BASE_HOST, front.https_port, "GET", f"/p/acme/login/{token}",
                                                    front.root, spoofed)
    assert status == 200
    jar = {name: morsel.value for header in set_cookies for name, morsel in SimpleCookie(header).items()}
    csrf = re.search(r'name="_csrf_token" value="([^"]+)"', page)[1]
    status, _, _, _, _ = https_request(
        BASE_HOST, front.https_port, "POST", f"/p/acme/login/{token}", front.root,
        {**spoofed, "Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
         "Content-Type": "application/x-www-form-urlencoded"}, f"_csrf_token={csrf}")
    assert status == 303
    assert (await only_event("login"))["ip"] == "127.0.0.1"
