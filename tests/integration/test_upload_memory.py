"""Uploads are streamed to disk: measured on a real server process (uvicorn, one worker).

The server runs as a subprocess against the test database and data dir, with
``PORTAL_MAX_UPLOAD_MB=600`` and its own ``TMPDIR`` (where uploads are spooled, checked
empty afterwards). The test streams a 200 MB file and a 500 MB deliverable version as
multipart bodies from a generator (nothing of it is built in memory on this side
either) and reads the server's peak resident memory (``VmHWM`` in /proc/PID/status)
before (after a warm-up upload through the same code) and after. Linux only.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from pathlib import Path

import httpx
import pytest

from portal.deliverables.tables import DeliverableVersion
from portal.files.tables import ProjectFile, StoredFile
from tests.factories import make_deliverable
from tests.fixtures import csrf_token, sign_in_staff
from tests.servers import LiveServer, start_server

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc/PID/status")

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024
#: Allowed growth of the server's peak RSS for one upload (200 MB file, 500 MB version).
MAX_GROWTH = 50 * MB
_REPORT = os.environ.get("PORTAL_MEMORY_REPORT")  # a file to append the measured figures to


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _temp_files(blob_dir: Path) -> list[str]:
    return sorted(p.name for p in blob_dir.glob(".tmp-*")) if blob_dir.is_dir() else []


#: The server's TMPDIR: Litestar spools multipart files there (Python's tempfile).
SERVER_TMP = Path(os.environ["PORTAL_DATA_DIR"]).parent / "upload-memory-tmp"


def _blob_files(blob_dir: Path) -> set[str]:
    """Every file under the blob store (blobs, thumbnails and any temp file)."""
    return {str(p.relative_to(blob_dir)) for p in blob_dir.rglob("*") if p.is_file()} if blob_dir.is_dir() else set()


def _server_temp_files() -> list[str]:
    return sorted(str(p) for p in SERVER_TMP.rglob("*")) if SERVER_TMP.is_dir() else []


def _open_upload_files(pid: int, *dirs: Path) -> list[str]:
    """Files the server still holds open in these directories: spooled uploads roll over
    to unnamed (O_TMPFILE) files, which only show here, as ``... (deleted)``."""
    held = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if any(target.startswith(str(d)) for d in dirs):
            held.append(target)
    return held


class Server:
    """The server and the memory of its one process (the worker)."""

    def __init__(self, live: LiveServer) -> None:
        self.process = live.process
        self.url = live.url

    @property
    def peak(self) -> int:
        return _status_kb(self.process.pid, "VmHWM")

    @property
    def rss(self) -> int:
        return _status_kb(self.process.pid, "VmRSS")


@pytest.fixture(scope="module")
def server(settings):
    """One server for this module's tests (each test still gets empty tables from ``db``)."""
    SERVER_TMP.mkdir(parents=True, exist_ok=True)
    with start_server("upload-memory", {"PORTAL_MAX_UPLOAD_MB": "600", "TMPDIR": str(SERVER_TMP)}) as live:
        yield Server(live)


class Body:
    """A multipart body of one file of ``size`` pseudo-random bytes, made chunk by chunk;
    its SHA-256 is known once it has been sent."""

    def __init__(self, size: int, filename: str, fields: dict[str, str] | None = None) -> None:
        self.boundary = "portal-test-" + secrets.token_hex(16)
        self.size = size
        self.block = os.urandom(MB)  # one random MiB, each chunk of it made different
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in (fields or {}).items()
        )
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n")
        self.head = head.encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.sha256 = hashlib.sha256()

    @property
    def length(self) -> int:
        return len(self.head) + self.size + len(self.tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def chunks(self, stop_after: int | None = None):
        yield self.head
        sent = 0
        counter = 0
        while sent < self.size:
            if stop_after is not None and sent >= stop_after:
                return
            piece = (counter.to_bytes(8, "big") + self.block[8:])[: self.size - sent]
            counter += 1
            self.sha256.update(piece)
            sent += len(piece)
            yield piece
        yield self.tail

    async def astream(self):
        for chunk in self.chunks():
            yield chunk


async def _post_streamed(client: httpx.AsyncClient, url: str, body: Body) -> httpx.Response:
    headers = {"content-type": body.content_type, "content-length": str(body.length),
               "x-csrftoken": csrf_token(client)}
    return await client.post(url, content=body.astream(), headers=headers, timeout=120)


def _report(line: str) -> None:
    print(line)
    if _REPORT:
        with open(_REPORT, "a") as handle:
            handle.write(line + "\n")


async def test_a_200_mb_upload_is_streamed_to_disk(server, db, world, settings):
    files = f"/studio/projects/{world.project_a}/files"
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Film", "draft")
    versions = f"/studio/projects/{world.project_a}/deliverables/{deliverable}/versions"
    async with httpx.AsyncClient(base_url=server.url) as client:
        await sign_in_staff(client, world.workspace, world.staff)
        # Warm-up through the same code (imports, pools, a spooled file rolled to disk).
        for url in (files, versions):
            warm = await _post_streamed(client, url, Body(3 * MB, "warm-up.bin", {"share": "1"}))
            assert warm.status_code == 303, warm.text
        before, rss_before = server.peak, server.rss

        body = Body(200 * 1000 * 1000, "big.bin")
        started = time.monotonic()
        response = await _post_streamed(client, files, body)
        seconds = time.monotonic() - started
        assert response.status_code == 303, response.text
        after = server.peak
        row = await ProjectFile.select(ProjectFile.stored_file.size, ProjectFile.stored_file.sha256).where(
            ProjectFile.name == "big.bin"
        ).first()
        assert row == {"stored_file.size": body.size, "stored_file.sha256": body.sha256.hexdigest()}
        _report(f"file upload of 200 MB: peak RSS {before / MB:.1f} -> {after / MB:.1f} MiB "
                f"(+{(after - before) / MB:.1f} MiB; RSS before {rss_before / MB:.1f} MiB), {seconds:.1f} s")
        assert after - before < MAX_GROWTH

        # A deliverable version of 500 MB (other bytes).
        before = server.peak
        body = Body(500 * 1000 * 1000, "film.bin")
        started = time.monotonic()
        response = await _post_streamed(client, versions, body)
        seconds = time.monotonic() - started
        assert response.status_code == 303, response.text
        after = server.peak
        version = await DeliverableVersion.select(DeliverableVersion.size, DeliverableVersion.content_sha256).where(
            DeliverableVersion.filename == "film.bin"
        ).first()
        assert version == {"size": body.size, "content_sha256": body.sha256.hexdigest()}
        _report(f"deliverable version upload of 500 MB: peak RSS {before / MB:.1f} -> {after / MB:.1f} MiB "
                f"(+{(after - before) / MB:.1f} MiB), {seconds:.1f} s")
        assert after - before < MAX_GROWTH
    assert _temp_files(settings.blob_dir) == []
    assert _server_temp_files() == []  # the spooled copies went with their requests
    assert _open_upload_files(server.process.pid, SERVER_TMP, settings.blob_dir) == []


async def test_an_interrupted_or_refused_upload_leaves_no_row_and_no_temp_file(server, db, world, settings):
    files = f"/studio/projects/{world.project_a}/files"
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Film", "draft")
    versions = f"/studio/projects/{world.project_a}/deliverables/{deliverable}/versions"
    async with httpx.AsyncClient(base_url=server.url) as client:
        await sign_in_staff(client, world.workspace, world.staff)
        token = csrf_token(client)
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    counts_before = (await StoredFile.count(), await ProjectFile.count(), await DeliverableVersion.count())
    blobs_before = _blob_files(settings.blob_dir)
    host, port = server.url.removeprefix("http://").split(":")

    async def send(url: str, body: Body, stop_after: int | None, length: int | None = None) -> bytes:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write((f"POST {url} HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                      f"X-CSRFToken: {token}\r\nContent-Type: {body.content_type}\r\n"
                      f"Content-Length: {length or body.length}\r\n\r\n").encode())
        answer = b""
        for chunk in body.chunks(stop_after=stop_after):
            writer.write(chunk)
            await writer.drain()
        if stop_after is None or stop_after == 0:
            answer = await asyncio.wait_for(reader.read(200), 10)
        writer.transport.abort()  # the client is gone, mid-body
        return answer

    # Half of a 60 MB body, then the connection drops: a project file, then a version.
    await send(files, Body(60 * MB, "half.bin"), stop_after=30 * MB)
    await send(versions, Body(100 * MB, "half-version.bin"), stop_after=50 * MB)
    # A body announced over the limit (PORTAL_MAX_UPLOAD_MB=600): 413 before it is read.
    answer = await send(files, Body(700 * MB, "huge.bin"), stop_after=0)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/healthz")).status_code == 200  # the worker is fine
    assert await ProjectFile.count().where(ProjectFile.name.is_in(["half.bin", "huge.bin"])) == 0
    assert await DeliverableVersion.count().where(DeliverableVersion.filename == "half-version.bin") == 0
    assert (await StoredFile.count(), await ProjectFile.count(), await DeliverableVersion.count()) == counts_before
    assert _temp_files(settings.blob_dir) == []
    assert _blob_files(settings.blob_dir) == blobs_before  # no stray blob either
    assert _server_temp_files() == []
    assert _open_upload_files(server.process.pid, SERVER_TMP, settings.blob_dir) == []


async def test_a_200_mb_upload_to_a_bucket_and_its_download_keep_memory_flat(db, world, settings):
    """With ``PORTAL_STORAGE_URL`` a bucket (moto's S3 server): the upload is spooled to a
    temp file and sent in multipart parts, the download streamed back from the bucket."""
    from tests.s3 import MotoS3

    with MotoS3() as s3:
        bucket = s3.bucket("portal-upload-memory")
        env = {"PORTAL_MAX_UPLOAD_MB": "600", "TMPDIR": str(SERVER_TMP), **s3.environment(bucket)}
        SERVER_TMP.mkdir(parents=True, exist_ok=True)
        with start_server("upload-memory-bucket", env) as live:
            server = Server(live)
            files = f"/studio/projects/{world.project_a}/files"
            async with httpx.AsyncClient(base_url=server.url) as client:
                await sign_in_staff(client, world.workspace, world.staff)
                warm = await _post_streamed(client, files, Body(12 * MB, "warm-up.bin", {"share": "1"}))
                assert warm.status_code == 303, warm.text
                before = server.peak

                body = Body(200 * 1000 * 1000, "big.bin", {"share": "1"})
                started = time.monotonic()
                response = await _post_streamed(client, files, body)
                seconds = time.monotonic() - started
                assert response.status_code == 303, response.text
                after = server.peak
                sha256 = body.sha256.hexdigest()
                assert s3.keys(bucket)[f"blobs/{sha256[:2]}/{sha256}"] == body.size
                _report(f"file upload of 200 MB to a bucket: peak RSS {before / MB:.1f} -> {after / MB:.1f} MiB "
                        f"(+{(after - before) / MB:.1f} MiB), {seconds:.1f} s")
                assert after - before < MAX_GROWTH

                row = await ProjectFile.select(ProjectFile.id).where(ProjectFile.name == "big.bin").first()
                before = server.peak
                digest, size = hashlib.sha256(), 0
                started = time.monotonic()
                async with client.stream("GET", f"{files}/{row['id']}/download", timeout=120) as download:
                    assert download.status_code == 200
                    async for chunk in download.aiter_bytes():
                        digest.update(chunk)
                        size += len(chunk)
                seconds = time.monotonic() - started
                after = server.peak
                assert (size, digest.hexdigest()) == (body.size, sha256)
                _report(f"download of 200 MB from a bucket: peak RSS {before / MB:.1f} -> {after / MB:.1f} MiB "
                        f"(+{(after - before) / MB:.1f} MiB), {seconds:.1f} s")
                assert after - before < MAX_GROWTH
        assert _temp_files(settings.blob_dir) == []
        assert f"{sha256[:2]}/{sha256}" not in _blob_files(settings.blob_dir)  # only in the bucket
