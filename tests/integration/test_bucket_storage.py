"""Files in an S3-compatible bucket (``PORTAL_STORAGE_URL=s3://...``), against moto's
S3 server: uploads, downloads, Range requests and presigned URLs, thumbnails and
previews, deletion, backup, check and restore, the ZIP export and ``portal storage
migrate``. Nothing of a blob is left in the data dir when the store is a bucket."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import tarfile
import zipfile
from urllib.parse import urlsplit

import httpx
import pytest

from portal import backup
from portal.app import create_app
from portal.cli import main as cli
from portal.files import previews
from portal.files.blobstore import BucketStore, blob_store, key_of, migrate_to_bucket
from portal.files.storage import blob_path, store_bytes
from portal.files.tables import StoredFile
from portal.privacy import export
from portal.privacy.blobs import remove_unreferenced
from tests.factories import DEMO_PDF, PNG_1X1, make_deliverable, make_file
from tests.fixtures import post_form, sign_in_client, sign_in_staff
from tests.s3 import MotoS3, settings_for

VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40
BUCKET_PREFIX = "blobs"


@pytest.fixture(scope="module")
def s3():
    with MotoS3() as server:
        yield server


@pytest.fixture
def bucket(s3, request):
    return s3.bucket(f"portal-{abs(hash(request.node.name)) % 10**9}")


@pytest.fixture
def in_bucket(settings, tmp_path, s3, bucket):
    return settings_for(settings, tmp_path / "data", s3, bucket, BUCKET_PREFIX)


@pytest.fixture
async def bucket_http(in_bucket, db):
    transport = httpx.ASGITransport(app=create_app(in_bucket), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


def local_blob_files(settings) -> list[str]:
    """Every file under the data dir's blob directory (there should be none: not even temp files)."""
    directory = settings.blob_dir
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()) if directory.is_dir() else []


def key(sha256: str) -> str:
    return f"{BUCKET_PREFIX}/{key_of(sha256)}"


async def test_an_upload_goes_to_the_bucket_with_its_thumbnail_and_nothing_stays_on_disk(
        in_bucket, bucket_http, world, s3, bucket):
    await sign_in_staff(bucket_http, world.workspace, world.staff)
    response = await post_form(bucket_http, f"/studio/projects/{world.project_a}/files", {"share": "1"},
                               files=[("file", ("Logo.png", PNG_1X1, "image/png")),
                                      ("file", ("Guide.pdf", DEMO_PDF, "application/pdf"))])
    assert response.status_code == 303, response.text
    rows = {row["content_type"]: row for row in await StoredFile.select(
        StoredFile.sha256, StoredFile.size, StoredFile.content_type, StoredFile.thumbnail_sha256)}
    png, pdf = rows["image/png"], rows["application/pdf"]
    assert png["sha256"] == hashlib.sha256(PNG_1X1).hexdigest() and png["thumbnail_sha256"]
    objects = s3.keys(bucket)
    assert objects[key(png["sha256"])] == len(PNG_1X1)
    assert objects[key(pdf["sha256"])] == len(DEMO_PDF)
    assert key(png["thumbnail_sha256"]) in objects
    assert s3.object(bucket, key(pdf["sha256"])) == (DEMO_PDF, "application/pdf")
    assert local_blob_files(in_bucket) == []

    # The PDF's preview is made from the bucket's copy and stored there too.
    assert await previews.make_pending(in_bucket) == 1
    preview = await StoredFile.select(StoredFile.thumbnail_sha256, StoredFile.preview_status).where(
        StoredFile.sha256 == pdf["sha256"]).first()
    assert preview["preview_status"] == "ready" and key(preview["thumbnail_sha256"]) in s3.keys(bucket)
    assert s3.object(bucket, key(preview["thumbnail_sha256"]))[0][:4] == b"RIFF"
    assert local_blob_files(in_bucket) == []


async def test_a_client_downloads_from_the_bucket_and_another_organisation_gets_nothing(
        in_bucket, bucket_http, world, s3, bucket):
    file_id = await make_file(in_bucket, world.workspace, world.project_a, "Brief.pdf", DEMO_PDF)
    url = f"/p/acme/projects/{world.project_a}/files/{file_id}/download"
    await sign_in_client(bucket_http, world.workspace, world.carol)
    assert (await bucket_http.get(url)).status_code == 404

    bucket_http.cookies.clear()
    await sign_in_client(bucket_http, world.workspace, world.alice)
    response = await bucket_http.get(url)
    assert response.status_code == 200 and response.content == DEMO_PDF
    assert response.headers["content-length"] == str(len(DEMO_PDF))
    assert response.headers["content-disposition"].startswith('attachment; filename="Brief.pdf"')
    assert response.headers["x-content-type-options"] == "nosniff"

    # The object gone from the bucket (the row outlived its bytes): 404, not a broken stream.
    sha256 = hashlib.sha256(DEMO_PDF).hexdigest()
    assert blob_store(in_bucket).set_aside(sha256)
    assert (await bucket_http.get(url)).status_code == 404


async def test_video_ranges_stream_from_the_bucket(in_bucket, bucket_http, world):
    deliverable = await make_deliverable(in_bucket, world.workspace, world.project_a, "Clip", content=VIDEO,
                                         filename="clip.mp4")
    await sign_in_client(bucket_http, world.workspace, world.alice)
    url = f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}/versions/1/file"
    size = len(VIDEO)
    for header, (first, last) in {"bytes=0-99": (0, 99), "bytes=-50": (size - 50, size - 1),
                                  "bytes=10000-": (10000, size - 1)}.items():
        response = await bucket_http.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert response.content == VIDEO[first:last + 1]
    whole = await bucket_http.get(url)
    assert whole.status_code == 200 and whole.content == VIDEO
    assert (await bucket_http.get(url, headers={"Range": f"bytes={size}-"})).status_code == 416


async def test_with_presigning_a_video_viewed_in_the_page_redirects_to_the_bucket_after_the_access_check(
        in_bucket, db, world, s3):
    presigning = dataclasses.replace(in_bucket, storage_presign_seconds=120)
    deliverable = await make_deliverable(presigning, world.workspace, world.project_a, "Clip", content=VIDEO,
                                         filename="clip.mp4")
    url = f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}/versions/1/file"
    transport = httpx.ASGITransport(app=create_app(presigning))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        anonymous = await http.get(url)  # nobody signed in: to the sign-in page, never to the bucket
        assert anonymous.status_code in (302, 303) and "X-Amz" not in anonymous.headers.get("location", "")
        await sign_in_client(http, world.workspace, world.carol)
        refused = await http.get(url)
        assert refused.status_code == 404 and "location" not in refused.headers

        http.cookies.clear()
        await sign_in_client(http, world.workspace, world.alice)
        response = await http.get(url)
        assert response.status_code == 302
        assert response.headers["cache-control"] == "private, no-store"
        location = response.headers["location"]
        assert location.startswith(s3.url) and "X-Amz-Expires=120" in location and "X-Amz-Signature=" in location
        fetched = httpx.get(location, headers={"Range": "bytes=0-99"})
        assert fetched.status_code == 206 and fetched.content == VIDEO[:100]
        assert fetched.headers["content-type"] == "video/mp4"
        unsigned = urlsplit(location)._replace(query="").geturl()
        assert httpx.get(unsigned).status_code == 403  # the bucket itself is not public

        # A download keeps its file name: it goes through the portal.
        download = await http.get(url, params={"download": "1"})
        assert download.status_code == 200 and download.content == VIDEO
        assert 'filename="clip.mp4"' in download.headers["content-disposition"]


async def test_a_deleted_clients_blobs_leave_the_bucket_but_shared_ones_stay(in_bucket, db, world, s3, bucket):
    only = await store_bytes(in_bucket, world.workspace, DEMO_PDF, "application/pdf")
    shared = await store_bytes(in_bucket, world.workspace, VIDEO, "video/mp4")
    await StoredFile.delete().where(StoredFile.id == only.id)
    removed = await remove_unreferenced(in_bucket, [only.sha256, shared.sha256])
    assert removed == 1
    objects = s3.keys(bucket)
    assert key(only.sha256) not in objects and key(shared.sha256) in objects
    assert not any(".deleting-" in name for name in objects)


async def test_backup_check_and_restore_work_with_the_bucket(in_bucket, db, world, s3, bucket, tmp_path):
    stored = await store_bytes(in_bucket, world.workspace, DEMO_PDF, "application/pdf")
    archive = await asyncio.to_thread(backup.backup, in_bucket, tmp_path / "backups")
    with tarfile.open(archive) as tar:
        member = tar.extractfile(f"blobs/{stored.sha256[:2]}/{stored.sha256}")
        assert member.read() == DEMO_PDF
    report = await asyncio.to_thread(backup.check, in_bucket)
    assert report.problems == [] and report.orphans == []

    # A damaged object, then a missing one, are found by `portal check`.
    store = blob_store(in_bucket)
    store.put_bytes(stored.sha256, b"not the same bytes")
    report = await asyncio.to_thread(backup.check, in_bucket)
    assert report.problems == [f"corrupted blob {stored.sha256} (its bytes no longer match their hash)"]
    aside = store.set_aside(stored.sha256)
    store.drop(aside)
    report = await asyncio.to_thread(backup.check, in_bucket)
    assert report.problems == [f"missing blob {stored.sha256}"]
    with pytest.raises(backup.BackupError, match=f"blob {stored.sha256} is referenced but missing from s3://"):
        await asyncio.to_thread(backup.backup, in_bucket, tmp_path / "backups")

    # Restored from the archive, the object is back in the bucket, byte for byte.
    await asyncio.to_thread(backup.restore, in_bucket, archive, force=True)
    assert s3.object(bucket, key(stored.sha256))[0] == DEMO_PDF
    assert local_blob_files(in_bucket) == []


async def test_the_client_export_reads_the_files_from_the_bucket(in_bucket, db, world):
    await make_file(in_bucket, world.workspace, world.project_a, "Brief.pdf", DEMO_PDF)
    collected = await export.collect(world.workspace, world.org_a)
    target = io.BytesIO()
    written = await asyncio.to_thread(export.write_zip, in_bucket, target, collected)
    assert written.files == 1 and written.missing == 0
    with zipfile.ZipFile(target) as archive:
        names = [name for name in archive.namelist() if name.endswith("Brief.pdf")]
        assert len(names) == 1 and archive.read(names[0]) == DEMO_PDF


async def test_storage_migrate_copies_the_data_dirs_files_once_and_refuses_damaged_ones(
        settings, tmp_path, s3, bucket, db, world, capsys, monkeypatch):
    local = dataclasses.replace(settings, data_dir=tmp_path / "data")
    good = await store_bytes(local, world.workspace, DEMO_PDF, "application/pdf")
    damaged = await store_bytes(local, world.workspace, VIDEO, "video/mp4")
    blob_path(local, damaged.sha256).write_bytes(b"rotten")
    target = settings_for(settings, local.data_dir, s3, bucket, BUCKET_PREFIX)

    report = await asyncio.to_thread(migrate_to_bucket, target)
    assert (report.copied, report.present, report.corrupted) == (1, 0, [damaged.sha256])
    assert s3.object(bucket, key(good.sha256))[0] == DEMO_PDF
    assert key(damaged.sha256) not in s3.keys(bucket)
    assert blob_path(local, good.sha256).read_bytes() == DEMO_PDF  # the data dir keeps its copy

    blob_path(local, damaged.sha256).write_bytes(VIDEO)  # repaired
    for name, value in s3.environment(bucket, BUCKET_PREFIX).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(local.data_dir))
    await asyncio.to_thread(cli, ["storage", "migrate"])
    assert capsys.readouterr().out.strip() == f"1 file(s) copied to s3://{bucket}/{BUCKET_PREFIX}, 1 already there"
    assert s3.object(bucket, key(damaged.sha256))[0] == VIDEO

    monkeypatch.delenv("PORTAL_STORAGE_URL")
    with pytest.raises(SystemExit, match="PORTAL_STORAGE_URL names no bucket"):
        await asyncio.to_thread(cli, ["storage", "migrate"])


def test_a_bucket_store_refuses_names_that_are_not_digests(in_bucket):
    store = blob_store(in_bucket)
    assert isinstance(store, BucketStore) and store.label.startswith("s3://")
    for bad in ("../secret_key", "A" * 64, "ab"):
        with pytest.raises(ValueError, match="not a SHA-256 hex digest"):
            store.size(bad)
