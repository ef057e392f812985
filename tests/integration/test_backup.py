"""`portal backup`, `portal restore` and `portal check`, on the engine the suite runs on."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import fcntl
import hashlib
import io
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import httpx
import pytest

from portal import backup, clock
from portal.files.storage import blob_path
from portal.projects.tables import Milestone
from tests.conftest import TEST_ENV
from tests.factories import DEMO_PDF, PNG_1X1, make_deliverable, make_file, make_invoice, make_staff
from tests.fixtures import post_form, sign_in_client, sign_in_staff
from tests.servers import ROOT, start_server

#: Volatile parts of a page: the same page served twice differs only there.
_VOLATILE = re.compile(r'nonce="[^"]*"|nonce-[A-Za-z0-9+/=_-]+')


@pytest.fixture
def restored(spare):
    """The installation a backup is restored into: a spare one, empty."""
    return spare


def row_counts(settings) -> dict[str, int]:
    if settings.is_sqlite:
        with sqlite3.connect(settings.sqlite_path) as connection:
            return backup._snapshot("sqlite", backup._sqlite_query(connection)).counts
    return backup._snapshot("postgresql", lambda sql: backup._psql(settings.database_url, sql)).counts


async def signed_in(app, world, kind: str, n: int) -> httpx.AsyncClient:
    """A client of its own for one writer: alice for feedback, the owner for the rest."""
    transport = httpx.ASGITransport(app=app, client=(f"203.0.113.{10 + n}", 50000))
    client = httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")
    if kind == "feedback":
        await sign_in_client(client, world.workspace, world.alice)
    else:
        await sign_in_staff(client, world.workspace, world.staff)
    return client


async def write_until(stop: asyncio.Event, client: httpx.AsyncClient, world, kind: str, n: int) -> int:
    """One writer: the same kind of write over and over, until told to stop."""
    done = 0
    studio = f"/studio/projects/{world.project_a}"
    try:
        while not stop.is_set():
            if kind == "feedback":
                response = await post_form(client, f"/p/acme/projects/{world.project_a}/feedback",
                                           {"subject": f"Note {n}-{done}", "message": "More blue, please."})
            elif kind == "milestone":
                response = await post_form(client, f"{studio}/milestones", {"name": f"Step {n}-{done}"})
            elif kind == "upload":
                response = await post_form(client, f"{studio}/files", {"share": "1"},
                                           files={"file": (f"note-{done}.txt", f"note {n} {done}".encode(), "text/plain")})
            else:
                today = clock.today()
                response = await post_form(client, f"{studio}/billing", {
                    "currency": "usd", "issue_date": today.isoformat(),
                    "due_date": (today + dt.timedelta(days=14)).isoformat()})
            assert response.status_code == 303, (kind, response.status_code, response.text[:300])
            done += 1
    finally:
        await client.aclose()
    return done


async def test_a_backup_taken_during_writes_restores_to_a_portal_that_serves_the_same_pages(
    app, http, settings, world, restored, tmp_path
):
    await make_deliverable(settings, world.workspace, world.project_a, "Guidelines", content=DEMO_PDF,
                           filename="guidelines.pdf")
    await make_file(settings, world.workspace, world.project_a, "Brief.png", PNG_1X1)
    await make_invoice(world.workspace, world.project_a, "INV-1")

    stop = asyncio.Event()
    kinds = ("feedback", "milestone", "upload", "invoice")
    clients = [await signed_in(app, world, kind, n) for n, kind in enumerate(kinds)]  # one at a time: a new link voids the last
    writers = [asyncio.create_task(write_until(stop, client, world, kind, n))
               for n, (client, kind) in enumerate(zip(clients, kinds, strict=True))]
    await asyncio.sleep(0.5)
    during = await asyncio.to_thread(backup.backup, settings, tmp_path / "backups")
    await asyncio.sleep(0.3)
    stop.set()
    written = await asyncio.gather(*writers)
    assert all(n > 0 for n in written), written  # every writer wrote, before and after the snapshot

    # The archive taken mid-writes is whole: what its manifest counts is what it restores, nothing broken.
    manifest = backup.restore(restored, during)
    assert row_counts(restored) == manifest["counts"]
    assert manifest["counts"]["milestone"] < await Milestone.count()  # writes went on after the snapshot
    assert backup.check(restored).problems == []

    # Quiet now: a second archive, restored over the first, serves alice the pages the original serves her
    # (her session is in it too).
    await sign_in_client(http, world.workspace, world.alice)
    quiet = await asyncio.to_thread(backup.backup, settings, tmp_path / "backups")
    backup.restore(restored, quiet, force=True)
    assert row_counts(restored) == row_counts(settings)
    pages = ["/p/acme/", f"/p/acme/projects/{world.project_a}", f"/p/acme/projects/{world.project_a}/deliverables",
             f"/p/acme/projects/{world.project_a}/files", f"/p/acme/projects/{world.project_a}/billing",
             f"/p/acme/projects/{world.project_a}/feedback", f"/p/acme/projects/{world.project_a}/files/1/download"]
    original = {page: await http.get(page) for page in pages}
    env = {"PORTAL_DATA_DIR": str(restored.data_dir), "DATABASE_URL": restored.database_url,
           "PORTAL_BASE_URL": TEST_ENV["PORTAL_BASE_URL"]}
    with start_server("restored", env) as server:
        async with httpx.AsyncClient(base_url=server.url, cookies=http.cookies) as copy:
            for page in pages:
                answer = await copy.get(page)
                assert answer.status_code == original[page].status_code == 200, page
                assert _VOLATILE.sub("", answer.text) == _VOLATILE.sub("", original[page].text), page
                assert answer.content == original[page].content or "text/html" in answer.headers["content-type"]


async def test_check_finds_a_corrupted_and_a_missing_file_and_lists_orphans(settings, world):
    # Bytes of this test alone: the blob dir is shared by the whole run.
    text, pdf_bytes = f"brief {os.urandom(8).hex()}".encode(), DEMO_PDF + f"%{os.urandom(8).hex()}".encode()
    await make_file(settings, world.workspace, world.project_a, "a.txt", text)
    await make_file(settings, world.workspace, world.project_a, "b.pdf", pdf_bytes)
    assert backup.check(settings).problems == []
    changed = blob_path(settings, hashlib.sha256(text).hexdigest())
    gone = blob_path(settings, hashlib.sha256(pdf_bytes).hexdigest())
    changed.write_bytes(text[:-1] + b"!")  # a changed byte on disk
    gone.unlink()
    stray = settings.blob_dir / "ff" / ("f" * 64)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"left behind")

    report = backup.check(settings)
    assert set(report.problems) == {f"corrupted blob {changed.name} (its bytes no longer match their hash)",
                                    f"missing blob {gone.name}"}
    # (Other tests' files are on this data dir too: each test empties the tables, not the blob dir.)
    assert "f" * 64 in report.orphans and changed.name not in report.orphans
    command = subprocess.run([sys.executable, "-m", "portal.cli", "check"], cwd=ROOT, capture_output=True, text=True,
                             env={**os.environ, **TEST_ENV})
    assert command.returncode == 1
    assert f"problem: missing blob {gone.name}" in command.stdout and "2 problem(s)" in command.stdout


async def test_restore_refuses_a_non_empty_installation_and_changes_nothing(settings, world, restored, tmp_path):
    archive = backup.backup(settings, tmp_path)
    backup.restore(restored, archive)
    before = row_counts(restored)
    (restored.data_dir / "marker").write_text("x")
    with pytest.raises(backup.BackupError, match="is not empty"):
        backup.restore(restored, archive)
    assert row_counts(restored) == before


async def test_a_damaged_archive_is_refused(settings, world, restored, tmp_path):
    await make_file(settings, world.workspace, world.project_a, "a.png", PNG_1X1)
    archive = backup.backup(settings, tmp_path)
    damaged = tmp_path / "damaged.tar"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w") as out:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name.startswith("blobs/"):
                data = b"not the bytes it claims"
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    with pytest.raises(backup.BackupError, match="does not match its hash"):
        backup.restore(restored, damaged)
    assert not list(Path(restored.blob_dir).glob("??/*"))
    with pytest.raises(backup.BackupError, match="not a portal backup"):
        backup.restore(restored, tmp_path / "nothing.tar")


def test_old_archives_beyond_the_number_kept_are_removed(tmp_path):
    for stamp in ("20261201T000000Z", "20261202T000000Z", "20261203T000000Z"):
        (tmp_path / f"portal-backup-{stamp}.tar").write_bytes(b"")
    (tmp_path / "unrelated.tar").write_bytes(b"")
    removed = backup.prune(tmp_path, keep=2)
    assert [p.name for p in removed] == ["portal-backup-20261201T000000Z.tar"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "portal-backup-20261202T000000Z.tar", "portal-backup-20261203T000000Z.tar", "unrelated.tar"]


def test_the_scheduled_backup_runs_when_the_newest_archive_is_old_and_once_at_a_time(settings, tmp_path):
    hourly = dataclasses.replace(settings, backup_dir=tmp_path / "scheduled", backup_hours=1, backup_keep=2)
    first = backup.scheduled(hourly)
    assert first is not None and backup.read_manifest(first)["format"] == backup.FORMAT
    assert backup.scheduled(hourly) is None  # the newest is not an hour old
    assert backup.scheduled(dataclasses.replace(hourly, backup_hours=0)) is None  # off
    # Another process holding the lock: this one leaves it to them.
    with (hourly.backup_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        old = hourly.backup_dir / "portal-backup-20200101T000000Z.tar"
        first.rename(old)
        assert backup.scheduled(hourly) is None
    second = backup.scheduled(hourly)  # now due: the newest is from 2020
    assert second is not None and sorted(p.name for p in hourly.backup_dir.glob("*.tar")) == [old.name, second.name]


async def test_the_server_backs_up_on_its_own_and_the_owner_sees_when(app, http, settings, world, tmp_path):
    directory = tmp_path / "server-backups"
    with start_server("backups", {"PORTAL_BACKUP_HOURS": "24", "PORTAL_BACKUP_DIR": str(directory)}):
        for _ in range(100):
            if backup.latest(directory):
                break
            await asyncio.sleep(0.1)
    last = backup.latest(directory)
    assert last is not None and last.kept == 1

    app.state.settings = dataclasses.replace(settings, backup_dir=directory)  # this app reads that dir
    await sign_in_staff(http, world.workspace, world.staff)
    line = (await http.get("/studio/")).text
    assert 'data-testid="last-backup"' in line and f"{last.created_at:%-d %b %Y, %H:%M} UTC" in line
    assert "Scheduled backups are off" in line  # this app's own setting (the tests turn them off)
    http.cookies.clear()
    member = await make_staff(world.workspace, "mia@acme.example", role="member")
    await sign_in_staff(http, world.workspace, member)
    assert 'data-testid="last-backup"' not in (await http.get("/studio/")).text
