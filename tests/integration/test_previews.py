"""Previews of PDFs and videos: made after the upload, in the background, by a child process."""

from __future__ import annotations

import asyncio
import io

from PIL import Image

from portal.files import previews
from portal.files.tables import StoredFile
from tests.factories import DEMO_PDF, DEMO_VIDEO, make_deliverable, make_file, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff

VIDEO, PDF = DEMO_VIDEO, DEMO_PDF
BROKEN_PDF = b"%PDF-1.7\n" + b"\x00 not a real document " * 50


def deliverable_url(world, deliverable: int, portal: bool = True) -> str:
    base = f"/p/acme/projects/{world.project_a}" if portal else f"/studio/projects/{world.project_a}"
    return f"{base}/deliverables/{deliverable}"


def webp_size(data: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(data))
    assert image.format == "WEBP"
    return image.size


async def status_of(sha256: str) -> dict:
    return await StoredFile.select(StoredFile.preview_status, StoredFile.thumbnail_sha256).where(
        StoredFile.sha256 == sha256).first()


async def test_an_uploaded_video_gets_a_poster_once_the_background_job_ran(http, settings, world):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Intro video", status="in_progress")
    await sign_in_staff(http, world.workspace, world.staff)
    studio = deliverable_url(world, deliverable, portal=False)
    uploaded = await post_form(http, studio + "/versions", {"note": "Cut 2"}, files={"file": ("intro.mp4", VIDEO, "video/mp4")})
    assert uploaded.status_code == 303
    assert (await post_form(http, studio + "/ready")).status_code == 303
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    tab = f"/p/acme/projects/{world.project_a}/deliverables"
    preview = deliverable_url(world, deliverable) + "/versions/2/preview"

    # Before the job: the card says the preview is coming; there is no poster yet.
    assert 'data-testid="preview-pending"' in (await http.get(tab)).text
    assert (await http.get(preview)).status_code == 404

    assert await previews.make_pending(settings) >= 1
    listing = (await http.get(tab)).text
    assert 'data-testid="preview-pending"' not in listing and f'src="{preview}"' in listing
    page = (await http.get(deliverable_url(world, deliverable) + "?version=2")).text
    assert f'poster="{preview}"' in page

    response = await http.get(preview)
    assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
    width, height = webp_size(response.content)
    assert max(width, height) <= previews.RENDER_BOX and width > height  # the video's 16:9 frame


async def test_a_pdf_gets_its_first_page_as_the_card_picture_in_files_and_deliverables(http, settings, world):
    await make_file(settings, world.workspace, world.project_a, "Brand guidelines.pdf", PDF)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Guidelines", content=PDF,
                                         filename="guidelines.pdf")
    assert await previews.make_pending(settings) == 1  # one stored file: the same bytes twice
    await sign_in_client(http, world.workspace, world.alice)

    files = (await http.get(f"/p/acme/projects/{world.project_a}/files")).text
    assert 'data-testid="file-thumbnail"' in files
    thumbnail = await http.get(f"/p/acme/projects/{world.project_a}/files/1/thumbnail")
    assert thumbnail.status_code == 200
    width, height = webp_size(thumbnail.content)
    assert height > width  # a portrait page

    cards = (await http.get(f"/p/acme/projects/{world.project_a}/deliverables")).text
    assert f'src="{deliverable_url(world, deliverable)}/versions/1/preview"' in cards


async def test_a_broken_pdf_or_a_missing_ffmpeg_leave_the_type_icon(http, settings, world, monkeypatch, tmp_path):
    broken = await make_deliverable(settings, world.workspace, world.project_a, "Broken", content=BROKEN_PDF,
                                    filename="broken.pdf")
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg on the path
    video = await make_deliverable(settings, world.workspace, world.project_a, "Video", content=VIDEO,
                                   filename="intro.mp4")
    assert await previews.make_pending(settings) == 2
    for sha in (await StoredFile.select(StoredFile.sha256).order_by(StoredFile.id).output(as_list=True)):
        assert await status_of(sha) == {"preview_status": "failed", "thumbnail_sha256": None}

    await sign_in_client(http, world.workspace, world.alice)
    cards = (await http.get(f"/p/acme/projects/{world.project_a}/deliverables")).text
    assert cards.count('data-testid="type-icon"') == 2 and 'data-testid="preview-pending"' not in cards
    for deliverable in (broken, video):
        assert (await http.get(deliverable_url(world, deliverable) + "/versions/1/preview")).status_code == 404


async def test_other_files_get_their_type_icon_and_no_preview_job(http, settings, world):
    await make_file(settings, world.workspace, world.project_a, "inventory.csv", b"page,owner\nhome,Ana\n")
    assert await previews.make_pending(settings) == 0
    await sign_in_client(http, world.workspace, world.alice)
    files = (await http.get(f"/p/acme/projects/{world.project_a}/files")).text
    assert 'data-testid="type-icon"' in files and "CSV" in files


async def test_two_processes_make_each_preview_once(settings, world):
    for n in range(3):
        await make_file(settings, world.workspace, world.project_a, f"doc-{n}.pdf", PDF + b"%" * (n + 1))
    handled = await asyncio.gather(previews.make_pending(settings), previews.make_pending(settings))
    assert sum(handled) == 3
    assert await StoredFile.count().where(StoredFile.preview_status == "ready") == 3
    assert await previews.make_pending(settings) == 0


async def test_only_those_who_see_the_deliverable_get_its_preview(http, settings, world):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Guidelines", content=PDF,
                                         filename="guidelines.pdf")
    draft = await make_deliverable(settings, world.workspace, world.project_a, "Draft", status="draft",
                                   content=VIDEO, filename="intro.mp4")
    await previews.make_pending(settings)
    preview = deliverable_url(world, deliverable) + "/versions/1/preview"

    assert (await http.get(preview)).status_code in (302, 303, 401)  # nobody
    await sign_in_client(http, world.workspace, world.carol)  # another organisation
    assert (await http.get(preview)).status_code == 404
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    assert (await http.get(preview)).status_code == 200
    assert (await http.get(deliverable_url(world, draft) + "/versions/1/preview")).status_code == 404  # not shared yet

    http.cookies.clear()
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await http.get(deliverable_url(world, draft, portal=False) + "/versions/1/preview")).status_code == 200
    other = await make_workspace("other", "Other Studio")
    http.cookies.clear()
    await sign_in_staff(http, other, await make_staff(other, "sam@other.example"))
    assert (await http.get(deliverable_url(world, draft, portal=False) + "/versions/1/preview")).status_code == 404
