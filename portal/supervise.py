"""``portal serve --with-caddy``: Caddy and the app, started and stopped together.

The app serves on loopback only (``127.0.0.1:<port>``), trusting forwarding headers from
Caddy alone (``PORTAL_TRUSTED_PROXIES=127.0.0.1``); Caddy serves the world on
``PORTAL_HTTP_PORT`` / ``PORTAL_HTTPS_PORT`` (see ``portal.caddy``). SIGTERM or SIGINT
stops both; a Caddy that dies is started again (after a pause that grows to 30 s while
it keeps dying); when the app ends, Caddy is stopped and its exit code is ours.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

from portal import caddy
from portal.settings import Settings

log = logging.getLogger("portal.supervise")


class Supervisor:
    def __init__(self, settings: Settings, app_command: list[str], env: Mapping[str, str]) -> None:
        self.settings = settings
        self.app_command = app_command
        self.env = dict(env)
        self.stopping = False
        self.app: subprocess.Popen | None = None
        self.caddy: subprocess.Popen | None = None
        self.caddy_starts = 0

    def start_caddy(self) -> None:
        self.caddy_starts += 1
        self.caddy = subprocess.Popen(caddy.command(self.settings), env=caddy.environment(self.settings, self.env))
        print(f"caddy started (pid {self.caddy.pid}): HTTPS on port {self.settings.https_port}, "
              f"HTTP on {self.settings.http_port}", flush=True)

    def stop(self, *_: object) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.app = subprocess.Popen(self.app_command, env={**self.env, "PORTAL_TRUSTED_PROXIES": "127.0.0.1"})
        self.start_caddy()
        pause, died_at = 1.0, 0.0
        try:
            while not self.stopping:
                if self.app.poll() is not None:
                    print(f"the app exited ({self.app.returncode}): stopping caddy", flush=True)
                    return self.app.returncode
                if self.caddy.poll() is not None:
                    now = time.monotonic()
                    pause = min(pause * 2, 30.0) if now - died_at < 60 else 1.0
                    died_at = now
                    print(f"caddy exited ({self.caddy.returncode}): starting it again in {pause:.0f} s", flush=True)
                    self._sleep(pause)
                    if not self.stopping:
                        self.start_caddy()
                self._sleep(0.5)
            return 0
        finally:
            for process in (self.caddy, self.app):
                if process is not None and process.poll() is None:
                    process.terminate()
            for process in (self.caddy, self.app):
                if process is not None:
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def serve_with_caddy(settings: Settings, app_port: int, app_args: list[str], env: Mapping[str, str]) -> int:
    """Write the Caddyfile, then supervise Caddy and ``portal serve`` on 127.0.0.1:``app_port``."""
    if not settings.is_https:
        raise SystemExit("error: --with-caddy needs an https PORTAL_BASE_URL (Caddy gets its certificate)")
    if shutil.which("caddy") is None:
        raise SystemExit("error: --with-caddy needs Caddy (Debian: apt-get install caddy)")
    caddy.write_caddyfile(settings, app_port)
    command = [sys.executable, "-m", "portal.cli", "serve", "--host", "127.0.0.1", "--port", str(app_port), *app_args]
    return Supervisor(settings, command, env).run()
