"""``portal serve`` with sidecars: Caddy (``--with-caddy``) and Litestream
(``PORTAL_LITESTREAM_URL``), started and stopped together with the app.

With Caddy, the app serves on loopback only (``127.0.0.1:<port>``), trusting forwarding
headers from Caddy alone (``PORTAL_TRUSTED_PROXIES=127.0.0.1``); Caddy serves the world on
``PORTAL_HTTP_PORT`` / ``PORTAL_HTTPS_PORT`` (see ``portal.caddy``). Litestream replicates
the SQLite file (see ``portal.litestream``); it starts after the migrations have been
applied, so the file it watches exists. SIGTERM or SIGINT stops all; a sidecar that dies
is started again (after a pause that grows to 30 s while it keeps dying); when the app
ends, the sidecars are stopped and its exit code is ours.
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


class Sidecar:
    """A process that runs as long as the app does, started again when it dies."""

    def __init__(self, name: str, command: list[str], env: Mapping[str, str], note: str = "") -> None:
        self.name, self.command, self.env, self.note = name, command, dict(env), note
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.pause, self.died_at = 1.0, 0.0

    def start(self) -> None:
        self.starts += 1
        self.process = subprocess.Popen(self.command, env=self.env)
        print(f"{self.name} started (pid {self.process.pid}){': ' + self.note if self.note else ''}", flush=True)


class Supervisor:
    def __init__(self, app_command: list[str], env: Mapping[str, str], sidecars: list[Sidecar]) -> None:
        self.app_command = app_command
        self.env = dict(env)
        self.sidecars = sidecars
        self.stopping = False
        self.app: subprocess.Popen | None = None

    def stop(self, *_: object) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        self.app = subprocess.Popen(self.app_command, env=self.env)
        for sidecar in self.sidecars:
            sidecar.start()
        try:
            while not self.stopping:
                if self.app.poll() is not None:
                    names = " and ".join(s.name for s in self.sidecars)
                    print(f"the app exited ({self.app.returncode}): stopping {names}", flush=True)
                    return self.app.returncode
                for sidecar in self.sidecars:
                    if sidecar.process.poll() is not None:
                        now = time.monotonic()
                        sidecar.pause = min(sidecar.pause * 2, 30.0) if now - sidecar.died_at < 60 else 1.0
                        sidecar.died_at = now
                        print(f"{sidecar.name} exited ({sidecar.process.returncode}): starting it again in "
                              f"{sidecar.pause:.0f} s", flush=True)
                        self._sleep(sidecar.pause)
                        if not self.stopping:
                            sidecar.start()
                self._sleep(0.5)
            return 0
        finally:
            processes = [s.process for s in self.sidecars] + [self.app]
            for process in processes:
                if process is not None and process.poll() is None:
                    process.terminate()
            for process in processes:
                if process is not None:
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def serve_supervised(settings: Settings, *, host: str, port: int, app_args: list[str],
                     env: Mapping[str, str], with_caddy: bool) -> int:
    """``portal serve`` with its sidecars: Caddy in front (the app then on 127.0.0.1:``port``)
    and/or Litestream beside it (``PORTAL_LITESTREAM_URL``: the migrations must have been
    applied, so that the database file it watches exists)."""
    sidecars = []
    app_env = {**env, "PORTAL_LITESTREAM_URL": ""}  # the app itself starts no sidecar
    if settings.litestream_url:
        from portal import litestream

        sidecars.append(Sidecar("litestream", litestream.replicate_command(settings), litestream.environment(dict(env)),
                                f"replicating {settings.sqlite_path.name} to {settings.litestream_url}"))
    if with_caddy:
        if not settings.is_https:
            raise SystemExit("error: --with-caddy needs an https PORTAL_BASE_URL (Caddy gets its certificate)")
        if shutil.which("caddy") is None:
            raise SystemExit("error: --with-caddy needs Caddy (Debian: apt-get install caddy)")
        caddy.write_caddyfile(settings, port)
        sidecars.append(Sidecar("caddy", caddy.command(settings), caddy.environment(settings, dict(env)),
                                f"HTTPS on port {settings.https_port}, HTTP on {settings.http_port}"))
        host = "127.0.0.1"
        app_env["PORTAL_TRUSTED_PROXIES"] = "127.0.0.1"
    command = [sys.executable, "-m", "portal.cli", "serve", "--host", host, "--port", str(port), *app_args]
    return Supervisor(command, app_env, sidecars).run()
