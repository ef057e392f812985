"""Uploaded images are decoded with a pixel limit, and browsers only get re-encoded ones.

A "pixel bomb" (a PNG of a few dozen bytes whose header claims 100000 x 100000 pixels,
30 GB decoded) uploaded as a project file, a deliverable version or a logo is never
decoded, never shown inline and never made into a thumbnail. A normal image's thumbnail
is an image the portal encoded itself, not the uploaded bytes.
"""

from __future__ import annotations

import dataclasses
import io
import re

import httpx
import pytest
from PIL import Image

from portal.app import create_app
from portal.deliverables.tables import DeliverableVersion
from portal.files.storage import blob_path
from portal.files.tables import ProjectFile, StoredFile
from portal.workspaces.tables import Workspace
from tests.factories import make_deliverable
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff
from tests.image_samples import broken_png, jpeg_with_orientation, png_bomb, png_with_text

pytestmark = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

BOMB = png_bomb(100_000, 100_000)


def files_url(world) -> str:
    return f"/studio/projects/{world.project_a}/files"


def portal_files_url(world) -> str:
    return f"/p/acme/projects/{world.project_a}/files"


async def upload_file(http: httpx.AsyncClient, world, name: str, content: bytes):
    return await post_form(http, files_url(world), {"share": "1"}, files={"file": (name, content, "image/png")})


async def stored_of(name: str) -> dict:
    return await ProjectFile.select(
        ProjectFile.id, ProjectFile.stored_file.content_type, ProjectFile.stored_file.thumbnail_sha256,
        ProjectFile.stored_file.sha256, ProjectFile.stored_file.size,
    ).where(ProjectFile.name == name).first()


async def test_a_pixel_bomb_project_file_is_a_download_only(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await upload_file(http, world, "bomb.png", BOMB)
    assert response.status_code == 303, response.text
    row = await stored_of("bomb.png")
    assert row["stored_file.content_type"] == "application/octet-stream"
    assert row["stored_file.thumbnail_sha256"] is None and row["stored_file.size"] == len(BOMB)

    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    tab = await http.get(portal_files_url(world))
    assert "bomb.png" in tab.text and 'data-testid="file-thumbnail"' not in tab.text
    assert (await http.get(f"{portal_files_url(world)}/{row['id']}/thumbnail")).status_code == 404
    download = await http.get(f"{portal_files_url(world)}/{row['id']}/download")
    assert download.status_code == 200 and download.content == BOMB
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_a_broken_image_project_file_is_a_download_only(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_file(http, world, "broken.png", broken_png())).status_code == 303
    row = await stored_of("broken.png")
    assert row["stored_file.content_type"] == "application/octet-stream" and row["stored_file.thumbnail_sha256"] is None


async def test_a_normal_images_thumbnail_is_re_encoded_and_fits_the_box(http, world, settings):
    original = png_with_text((1200, 600), "Comment", "agency-internal-note")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_file(http, world, "Moodboard.png", original)).status_code == 303
    row = await stored_of("Moodboard.png")
    assert row["stored_file.content_type"] == "image/png"
    thumbnail_sha256 = row["stored_file.thumbnail_sha256"]
    assert thumbnail_sha256 and thumbnail_sha256 != row["stored_file.sha256"]
    assert blob_path(settings, thumbnail_sha256).is_file()  # its own blob, durably stored

    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    tab = await http.get(portal_files_url(world))
    assert f'src="{portal_files_url(world)}/{row["id"]}/thumbnail"' in tab.text.replace("http://127.0.0.1:8000", "")
    response = await http.get(f"{portal_files_url(world)}/{row['id']}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.content != original and b"agency-internal-note" not in response.content
    with Image.open(io.BytesIO(response.content)) as image:
        image.load()
        assert image.format == "WEBP" and image.size == (480, 240)
        assert "Comment" not in image.info
    # the download is still the original, untouched
    download = await http.get(f"{portal_files_url(world)}/{row['id']}/download")
    assert download.content == original and download.headers["content-disposition"].startswith("attachment;")


async def test_a_photos_thumbnail_is_upright_and_has_no_exif(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_file(http, world, "photo.jpg", jpeg_with_orientation((800, 400), 6))).status_code == 303
    row = await stored_of("photo.jpg")
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(f"{portal_files_url(world)}/{row['id']}/thumbnail")
    assert response.status_code == 200 and b"SecretCam" not in response.content
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (240, 480) and dict(image.getexif()) == {}


async def test_images_stored_before_thumbnails_get_one_on_first_view(http, world, settings):
    """Rows from before the thumbnail column: made once, then served from the row."""
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_file(http, world, "old.png", png_with_text((100, 50)))).status_code == 303
    await StoredFile.update({StoredFile.thumbnail_sha256: None}).where(StoredFile.id > 0)
    row = await stored_of("old.png")
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(f"{portal_files_url(world)}/{row['id']}/thumbnail")
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    assert (await stored_of("old.png"))["stored_file.thumbnail_sha256"] is not None


# Deliverable versions


async def test_a_pixel_bomb_deliverable_version_is_never_shown_inline(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    studio = f"/studio/projects/{world.project_a}/deliverables/{deliverable}"
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.post(f"{studio}/versions", data={"note": "", "_csrf_token": csrf_token(http)},
                               files={"file": ("poster.png", BOMB, "image/png")})
    assert response.status_code == 303, response.text
    version = await DeliverableVersion.select().where(
        (DeliverableVersion.deliverable == deliverable) & (DeliverableVersion.number == 2)
    ).first()
    assert version["content_type"] == "application/octet-stream" and version["size"] == len(BOMB)

    media = await http.get(f"{studio}/versions/2/file")
    assert media.status_code == 200 and media.content == BOMB
    assert media.headers["content-type"] == "application/octet-stream"
    assert media.headers["content-disposition"].startswith("attachment;")
    page = (await http.get(f"{studio}?version=2")).text
    assert 'data-testid="viewer-image"' not in page
    assert not re.search(r'<img[^>]+/versions/2/file', page)

    assert (await post_form(http, f"{studio}/ready")).status_code == 303
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    portal = f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}"
    page = (await http.get(portal)).text
    assert "poster.png" in page and 'data-testid="viewer-file"' in page
    assert 'data-testid="viewer-image"' not in page and not re.search(r'<img[^>]+/versions/2/file', page)
    cards = (await http.get(f"/p/acme/projects/{world.project_a}/deliverables")).text
    assert not re.search(r'<img[^>]+/versions/2/file', cards)
    media = await http.get(f"{portal}/versions/2/file")
    assert media.headers["content-type"] == "application/octet-stream"
    assert media.headers["content-disposition"].startswith("attachment;")


async def test_a_normal_image_deliverable_version_is_still_shown_inline(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    studio = f"/studio/projects/{world.project_a}/deliverables/{deliverable}"
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.post(f"{studio}/versions", data={"note": "", "_csrf_token": csrf_token(http)},
                               files={"file": ("poster.png", png_with_text((300, 200)), "image/png")})
    assert response.status_code == 303
    media = await http.get(f"{studio}/versions/2/file")
    assert media.headers["content-type"] == "image/png" and media.headers["content-disposition"].startswith("inline;")
    assert 'data-testid="viewer-image"' in (await http.get(f"{studio}?version=2")).text


# The logo


async def save_logo(http: httpx.AsyncClient, name: str, content: bytes):
    data = {"portal_enabled": "on", "welcome_message": "", "accent_color": "#2952cc", "support_email": "",
            "sender_name": "", "_csrf_token": csrf_token(http)}
    return await http.post("/studio/settings/portal", data=data, files={"logo": (name, content, "image/png")})


async def logo_of(world) -> dict:
    return await Workspace.select(Workspace.portal_logo_sha256, Workspace.portal_logo_type).where(
        Workspace.id == world.workspace
    ).first()


async def test_a_pixel_bomb_logo_is_refused_and_the_logo_stays(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    good = png_with_text((2000, 500), "Comment", "agency-internal-note")
    assert (await save_logo(http, "logo.png", good)).status_code == 303
    before = await logo_of(world)
    assert before["portal_logo_type"] == "image/png"
    # stored re-encoded: a PNG fit in 1024 x 1024, without the text chunk
    stored = blob_path(settings, before["portal_logo_sha256"]).read_bytes()
    assert stored != good and b"agency-internal-note" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "PNG" and image.size == (1024, 256)
    stored_files = await StoredFile.count()

    response = await save_logo(http, "bomb.png", BOMB)
    assert response.status_code == 422
    assert "The logo is too large in pixels" in response.text
    assert await logo_of(world) == before and await StoredFile.count() == stored_files

    response = await save_logo(http, "broken.png", broken_png())
    assert response.status_code == 422 and "could not be read as an image" in response.text
    assert await logo_of(world) == before and await StoredFile.count() == stored_files

    http.cookies.clear()
    logo = await http.get("/p/acme/logo")
    assert logo.status_code == 200 and logo.headers["content-type"] == "image/png" and logo.content == stored


async def test_a_logo_just_over_a_lower_pixel_limit_is_refused_with_its_size(world, settings):
    small = dataclasses.replace(settings, max_image_pixels=1_000_000)
    transport = httpx.ASGITransport(app=create_app(small), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        response = await save_logo(http, "wide.png", png_with_text((1500, 1000)))
        assert response.status_code == 422
        assert "The logo is too large in pixels (1,500 x 1,000)" in response.text
    assert (await logo_of(world))["portal_logo_sha256"] is None


# Size limits while streaming


async def test_the_size_limits_hold_while_streaming_and_leave_nothing_behind(world, settings):
    small = dataclasses.replace(settings, max_upload_bytes=1024 * 1024)
    transport = httpx.ASGITransport(app=create_app(small), client=("203.0.113.7", 50000))
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    versions = f"/studio/projects/{world.project_a}/deliverables/{deliverable}/versions"
    stored_before = await StoredFile.count()
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        boundary = "streamed-boundary"

        def body(size: int) -> list[bytes]:
            head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
                    "Content-Type: application/octet-stream\r\n\r\n").encode()
            data = [b"z" * 65536] * (size // 65536) + [b"z" * (size % 65536)]
            return [head, *data, f"\r\n--{boundary}--\r\n".encode()]

        async def streamed(size: int):  # no Content-Length: counted as it arrives
            for chunk in body(size):
                yield chunk

        headers = {"content-type": f"multipart/form-data; boundary={boundary}", "x-csrftoken": csrf_token(http)}
        for url in (files_url(world), versions):
            # Past the limit plus the framing slack: 413 from the middleware, mid-body.
            response = await http.post(url, content=streamed(3 * 1024 * 1024), headers=headers)
            assert response.status_code == 413 and "Files can be up to 1.0 MB" in response.text
            # Past the limit but within the slack: refused (422) by the copy, as it copies.
            response = await http.post(url, content=streamed(1024 * 1024 + 16384), headers=headers)
            assert response.status_code == 422
            assert ("too large" in response.text) or ("larger than the 1 MB limit" in response.text)
    assert await ProjectFile.count() == 0 and await StoredFile.count() == stored_before
    assert await DeliverableVersion.count().where(DeliverableVersion.deliverable == deliverable) == 1
    assert [p.name for p in settings.blob_dir.glob(".tmp-*")] == []
