"""Browser tests: the portal runs as a subprocess on a free port; Debian's Chromium drives it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import IS_POSTGRES, TEST_ENV, empty_all_tables, run_in_thread

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class LiveServer:
    def __init__(self, url: str, env: dict[str, str]) -> None:
        self.url = url
        self.env = env

    def cli(self, *args: str) -> str:
        """Run a `portal` command against the server's database; return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "portal.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@contextlib.contextmanager
def start_server(name: str, extra_env: dict[str, str] | None = None, workers: int = 1):
    """Run `portal serve` (uvicorn) on a free port against the test database."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **TEST_ENV, "PORTAL_BASE_URL": url, "PORTAL_LOG_LEVEL": "WARNING", **(extra_env or {})}
    log = open(Path(TEST_ENV["PORTAL_DATA_DIR"]).parent / f"server-{name}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--server", "uvicorn", "--workers", str(workers), "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: see {log.name}")
            time.sleep(0.1)
        yield LiveServer(url, env)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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
        page.screenshot(path=str(path), full_page=True)
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
