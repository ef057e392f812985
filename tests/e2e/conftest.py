"""Browser tests: the portal runs as a subprocess on a free port; Debian's Chromium drives it."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import IS_POSTGRES, empty_all_tables, run_in_thread
from tests.servers import LiveServer, free_port, start_server  # noqa: F401  (used by the browser tests)

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
def live_server(schema):
    with start_server("main") as server:
        yield server


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
