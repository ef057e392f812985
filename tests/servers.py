"""A real `portal serve` (uvicorn) in a subprocess, against the test database.

Used by the browser tests and by the integration tests that measure a real server
(memory of an upload, sign-in timing).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import TEST_ENV

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, url: str, env: dict[str, str], process: subprocess.Popen) -> None:
        self.url = url
        self.env = env
        self.process = process

    def cli(self, *args: str) -> str:
        """Run a `portal` command against the server's database; return its output."""
        result = subprocess.run(
            [sys.executable, "-m", "portal.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


@contextlib.contextmanager
def start_server(name: str, extra_env: dict[str, str] | None = None, workers: int = 1,
                 cpu: int | None = None) -> Iterator[LiveServer]:
    """Run `portal serve` on a free port; with one worker the process is the worker itself.

    ``cpu`` pins the server to that CPU at once, before it starts any thread.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **TEST_ENV, "PORTAL_BASE_URL": url, "PORTAL_LOG_LEVEL": "WARNING", **(extra_env or {})}
    log = open(Path(TEST_ENV["PORTAL_DATA_DIR"]).parent / f"server-{name}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--server", "uvicorn", "--workers", str(workers), "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    if cpu is not None:
        os.sched_setaffinity(process.pid, {cpu})
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
        yield LiveServer(url, env, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
