"""Crash safety: a server killed with SIGKILL at random moments, 20 times, under concurrent
writes, loses no write whose answer reached the client, and leaves nothing broken."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import httpx

from portal import backup
from tests.conftest import TEST_ENV
from tests.fixtures import query_rows
from tests.servers import ROOT, free_port

KILLS = 20
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


class Server:
    """The app under uvicorn, one process, that can be killed and restarted (``portal serve``
    would apply migrations first at every start: the database is migrated once, before)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "PORTAL_BASE_URL": "http://127.0.0.1:8000", "PORTAL_LOG_LEVEL": "WARNING",
                    "PORTAL_RATE_LIMIT_PER_IP": "100000"}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "portal.app:create_app", "--factory", "--port", str(self.port),
             "--log-level", "warning"],
            env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the server did not come back")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def sign_in(server: Server, link: str) -> tuple[dict, str]:
    with httpx.Client(base_url=server.url) as client:
        token = CSRF.search(client.get(link).text)[1]
        client.post(link, data={"_csrf_token": token})
        home = client.get(link.split("/login")[0] + "/")
        return dict(client.cookies), CSRF.search(home.text)[1]


def test_no_acknowledged_write_is_lost_when_the_server_is_killed_twenty_times(spare):
    server = Server({"PORTAL_DATA_DIR": str(spare.data_dir), "DATABASE_URL": spare.database_url,
                     "PORTAL_SECRET_KEY": TEST_ENV["PORTAL_SECRET_KEY"], "PORTAL_BACKUP_HOURS": "0"})
    subprocess.run([sys.executable, "-m", "portal.cli", "migrate"], env=server.env, cwd=ROOT, check=True,
                   capture_output=True)
    output = subprocess.run([sys.executable, "-m", "portal.cli", "demo"], env={**server.env, "PORTAL_BASE_URL": server.url},
                            cwd=ROOT, check=True, capture_output=True, text=True).stdout
    links = {email: link.removeprefix(server.url) for email, link in re.findall(r"\((\S+@\S+)\): (http\S+)", output)}
    server.start()
    alice = sign_in(server, links["alice@northwind.example"])
    owner = sign_in(server, links["owner@brightline.example"])

    acknowledged: dict[str, list[str]] = {"feedback": [], "milestone": [], "upload": [], "invoice": []}
    stop = threading.Event()

    def writer(kind: str) -> None:
        cookies, token = alice if kind == "feedback" else owner
        n = 0
        while not stop.is_set():
            n += 1
            key = f"{kind}-{n}-{random.randrange(10**9)}"
            try:
                with httpx.Client(base_url=server.url, cookies=cookies, timeout=5) as client:
                    if kind == "feedback":
                        answer = client.post("/p/demo/projects/1/feedback",
                                             data={"_csrf_token": token, "subject": key, "message": "Crash test."})
                    elif kind == "milestone":
                        answer = client.post("/studio/projects/1/milestones", data={"_csrf_token": token, "name": key})
                    elif kind == "upload":
                        answer = client.post("/studio/projects/1/files", data={"_csrf_token": token},
                                             files={"file": (f"{key}.txt", key.encode() * 200, "text/plain")})
                    else:
                        answer = client.post("/studio/projects/1/billing", data={
                            "_csrf_token": token, "currency": "usd", "issue_date": "2026-12-01", "due_date": "2026-12-15"})
                        key = answer.headers.get("location", "").rsplit("/", 1)[-1]
            except httpx.HTTPError:
                time.sleep(0.05)  # the server is down: try again soon, without starving its restart
                continue  # no answer: the write may or may not be there, both are fine
            if answer.status_code == 303:
                acknowledged[kind].append(key)
            else:
                assert answer.status_code < 500 or answer.status_code == 502, (kind, answer.status_code)

    threads = [threading.Thread(target=writer, args=(kind,)) for kind in acknowledged]
    for thread in threads:
        thread.start()
    rng = random.Random(20261203)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.2, 0.9))
            server.kill()  # mid-request or between requests: wherever the writers are
            server.start()
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        server.kill()

    assert all(len(keys) >= KILLS for keys in acknowledged.values()), {k: len(v) for k, v in acknowledged.items()}
    def row_values(sql: str) -> list[str]:
        return [str(row[0]) for row in query_rows(spare, sql)]

    stored = {
        "feedback": set(row_values('SELECT "subject" FROM "feedback_message"')),
        "milestone": set(row_values('SELECT "name" FROM "milestone"')),
        "upload": {name.removesuffix(".txt") for name in row_values('SELECT "name" FROM "project_file"')},
        "invoice": set(row_values('SELECT CAST("id" AS TEXT) FROM "invoice"')),
    }
    for kind, keys in acknowledged.items():
        missing = set(keys) - stored[kind]
        assert not missing, (kind, sorted(missing)[:5])
    report = backup.check(spare)  # the database's integrity, every file there with its hash
    assert report.problems == []
