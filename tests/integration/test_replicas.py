"""Two ``portal serve`` processes with data dirs of their own, one database and one bucket
(moto's S3 server), behave as one installation: a session made on one is valid on the
other, a change committed elsewhere is on the next page either serves, rate limits are counted across both, each email of the outbox is sent once, an
upload through one is downloaded through the other, a preview is made once, and the
scheduled backup is made by one replica only.

Both answer for the same base URL (as behind a load balancer): requests to the second
carry the first's Host. They share ``PORTAL_SECRET_KEY`` (the suite's), as replicas must.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from urllib.parse import urlsplit

import httpx
import pytest

from portal import clock
from portal.files.tables import ProjectFile, StoredFile
from portal.mail.tables import OutboxMessage, ScheduledRun
from portal.projects.tables import Project, ProjectAccess
from tests.factories import DEMO_PDF
from tests.fixtures import csrf_token, sign_in_client, sign_in_staff
from tests.s3 import MotoS3
from tests.servers import free_port, start_server
from tests.smtp import smtp_sink

EMAIL_LIMIT = 3


@pytest.fixture
def inbox():
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def s3():
    with MotoS3() as server:
        yield server


class Replica:
    """One server, spoken to as the installation's base URL."""

    def __init__(self, live, host: str) -> None:
        self.live, self.host = live, host

    def client(self, jar: httpx.Cookies) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.live.url, headers={"Host": self.host}, cookies=jar, timeout=30)


async def _until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_two_replicas_share_sessions_limits_mail_and_files(db, world, tmp_path, inbox, s3):
    received, smtp_port = inbox
    bucket = s3.bucket("portal-replicas")
    await db.close_pool()  # the servers have the database now

    base_port = free_port()
    base_url = f"http://127.0.0.1:{base_port}"
    common = {"PORTAL_BASE_URL": base_url, "SMTP_URL": f"smtp+plain://127.0.0.1:{smtp_port}",
              "PORTAL_RATE_LIMIT_PER_EMAIL": str(EMAIL_LIMIT), "PORTAL_BACKUP_HOURS": "24", **s3.environment(bucket)}
    with start_server("replica-1", {**common, "PORTAL_DATA_DIR": str(tmp_path / "one")}) as one, \
            start_server("replica-2", {**common, "PORTAL_DATA_DIR": str(tmp_path / "two")}) as two:
        host = urlsplit(base_url).netloc
        first, second = Replica(one, host), Replica(two, host)

        # A staff session made through the first works on the second.
        jar = httpx.Cookies()
        async with first.client(jar) as http:
            await sign_in_staff(http, world.workspace, world.staff)
            jar = http.cookies
        async with second.client(jar) as http:
            studio = await http.get("/studio/")
            assert studio.status_code == 200 and "Olivia Owner" in studio.text

            # An upload through the second...
            files = f"/studio/projects/{world.project_a}/files"
            uploaded = await http.post(files, data={"share": "1", "_csrf_token": csrf_token(http)},
                                       files=[("file", ("Guide.pdf", DEMO_PDF, "application/pdf"))])
            assert uploaded.status_code == 303, uploaded.text
        row = await ProjectFile.select(ProjectFile.id).where(ProjectFile.name == "Guide.pdf").first()
        # ...is downloaded through the first, from the bucket.
        async with first.client(jar) as http:
            download = await http.get(f"{files}/{row['id']}/download")
            assert download.status_code == 200 and download.content == DEMO_PDF
        sha256 = hashlib.sha256(DEMO_PDF).hexdigest()
        assert f"blobs/{sha256[:2]}/{sha256}" in s3.keys(bucket)
        assert not any((tmp_path / name / "blobs" / sha256[:2] / sha256).exists() for name in ("one", "two"))

        # Its preview is made once, by one of the two background loops.
        async def preview_made():
            found = await StoredFile.select(StoredFile.preview_status, StoredFile.thumbnail_sha256).where(
                StoredFile.sha256 == sha256).first()
            return found["preview_status"] == "ready"
        await _until(preview_made)

        # Sign-in link requests for one address, alternately through each: the limit is
        # counted across both, and each link is emailed once.
        answers = []
        for n in range(EMAIL_LIMIT + 2):
            replica = (first, second)[n % 2]
            async with replica.client(httpx.Cookies()) as http:
                await http.get("/p/acme/login")
                answers.append(await http.post("/p/acme/login", data={
                    "email": "alice@northwind.example", "_csrf_token": csrf_token(http)}))
        assert [a.status_code for a in answers] == [200] * EMAIL_LIMIT + [429, 429], [a.text[:200] for a in answers]

        async def all_sent():
            return len(received.to("alice@northwind.example")) >= EMAIL_LIMIT
        await _until(all_sent)
        await asyncio.sleep(2)  # time for a second sending of any of them, if there were one
        to_alice = received.to("alice@northwind.example")
        assert len(to_alice) == EMAIL_LIMIT
        links = {part for m in to_alice for part in m.get_body(("plain",)).get_content().split() if "/login/" in part}
        assert len(links) == EMAIL_LIMIT  # three different links, none sent twice
        assert await OutboxMessage.count().where(OutboxMessage.status == "sent") >= EMAIL_LIMIT

        # The scheduled backup (daily, each replica with a backup dir of its own) was made
        # by one of them only, when they started.
        archives = [p for name in ("one", "two") for p in (tmp_path / name / "backups").glob("portal-backup-*.tar")]
        assert len(archives) == 1, archives
        run = await ScheduledRun.select().where(ScheduledRun.name == "backup").first()
        assert run["last_started_by"] and run["next_due_at"] > run["last_started_at"] + dt.timedelta(hours=23)

        # A client reading through the first replica (whose read cache holds the pages'
        # rows) sees a change made elsewhere at the next request, and a revocation too.
        project = f"/p/acme/projects/{world.project_a}"
        async with first.client(httpx.Cookies()) as http:
            await sign_in_client(http, world.workspace, world.alice)
            for _ in range(3):
                page = await http.get(project)
                assert page.status_code == 200 and "Northwind website" in page.text
            await Project.update({Project.name: "Northwind shop"}).where(Project.id == world.project_a)
            page = await http.get(project)
            assert page.status_code == 200 and "Northwind shop" in page.text and "Northwind website" not in page.text
            await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(
                ProjectAccess.client_user == world.alice)
            gone = await http.get(project)
            assert gone.status_code == 303 and gone.headers["location"] == "/p/acme/login"
