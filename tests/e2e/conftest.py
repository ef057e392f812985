"""Browser tests: the portal runs as a subprocess on a free port; Debian's Chromium drives it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import IS_POSTGRES, empty_all_tables, run_in_thread
from tests.fakes.stripe_server import FakeStripe
from tests.servers import LiveServer, free_port, start_server  # noqa: F401  (used by the browser tests)
from tests.smtp import Inbox, smtp_sink  # noqa: F401  (Inbox: the browser tests' type)

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"


def _chromium() -> str:
    for candidate in (os.environ.get("PORTAL_CHROMIUM"), "/usr/lib/chromium/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("Chromium not found: install Debian's chromium package or set PORTAL_CHROMIUM")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": _chromium(),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


def run_db(work):
    """Run an async database job from a synchronous browser test."""

    async def main():
        from portal.db import engine

        db = engine()
        if IS_POSTGRES:
            await db.start_connection_pool(min_size=1, max_size=4)
        try:
            return await work()
        finally:
            await db.close_pool()

    return run_in_thread(main)


@pytest.fixture(scope="session")
def stripe_fake():
    """The fake Stripe the browser tests' server talks to (accounts are added per test)."""
    with FakeStripe() as fake:
        yield fake


#: What the browser tests' server says a custom domain must be a CNAME of.
CNAME_TARGET = "portals.brightline.test"


@pytest.fixture(scope="session")
def dns_server():
    """The DNS server the browser tests' server asks when verifying custom domains."""
    from tests.fakes.dns_server import FakeDNS

    server = FakeDNS().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(schema, mail_sink, stripe_fake, dns_server):
    """One server for every browser test, sending its mail to the session's aiosmtpd.

    Every server process runs an outbox worker; a second server with mail only logged
    would race it for the same outbox rows, so there is one server and it really sends.
    Its Stripe is the session's fake Stripe.
    """
    env = {"SMTP_URL": f"smtp+plain://127.0.0.1:{mail_sink[1]}", "PORTAL_STRIPE_API_BASE": stripe_fake.url,
           "PORTAL_DNS_SERVERS": dns_server.setting, "PORTAL_CNAME_TARGET": CNAME_TARGET}
    with start_server("main", env) as server:
        yield server


@pytest.fixture(scope="session")
def mail_sink():
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def smtp(mail_sink):
    """The session's inbox, emptied for this test, and its port."""
    mail_sink[0].messages.clear()
    return mail_sink


@pytest.fixture
def mail_server(live_server):
    """The browser tests' server (it sends through aiosmtpd)."""
    return live_server


@pytest.fixture
def fresh_db(live_server):
    """Empty tables before a browser test."""
    run_db(empty_all_tables)
    return live_server


@pytest.fixture
def screenshot(page, request):
    """Save a full-page screenshot under test-results/screenshots/<test>-<name>.png."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{name}.png".replace("[", "-").replace("]", "")
        page.screenshot(path=str(path), full_page=True, caret="initial")  # "hide" injects a style our CSP refuses
        return path

    return take


# Signing in from the demo's printed links (what a newcomer does after `./dev start`).


def demo_links(live_server) -> dict[str, str]:
    output = live_server.cli("demo")
    links = dict(re.findall(r"\((\S+@\S+)\): (http\S+)", output))
    assert set(links) == {"owner@brightline.example", "alice@northwind.example", "carol@globex.example"}
    return links


def sign_in_with(page: Page, link: str) -> None:
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    page.get_by_test_id("continue").click()
