"""Serving deliverable files: Range requests, safe headers and audited downloads."""

from __future__ import annotations

import pytest

from portal.audit.tables import AuditEvent
from portal.deliverables.serving import parse_range
from tests.factories import make_deliverable
from tests.fixtures import sign_in_client

VIDEO = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40  # 10,264 bytes
SIZE = len(VIDEO)


async def video_url(http, world, settings) -> str:
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Clip", content=VIDEO, filename="clip.mp4")
    await sign_in_client(http, world.workspace, world.alice)
    return f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}/versions/1/file"


async def test_a_range_request_gets_206_with_content_range(http, world, settings):
    url = await video_url(http, world, settings)
    cases = {"bytes=0-99": (0, 99), "bytes=100-": (100, SIZE - 1), "bytes=-50": (SIZE - 50, SIZE - 1),
             f"bytes=10000-{SIZE + 500}": (10000, SIZE - 1)}
    for header, (first, last) in cases.items():
        response = await http.get(url, headers={"Range": header})
        assert response.status_code == 206, header
        assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
        assert response.headers["content-length"] == str(last - first + 1)
        assert response.content == VIDEO[first:last + 1]
        assert response.headers["content-type"] == "video/mp4"


async def test_the_whole_file_without_range_advertises_ranges(http, world, settings):
    url = await video_url(http, world, settings)
    response = await http.get(url)
    assert response.status_code == 200 and response.content == VIDEO
    assert response.headers["accept-ranges"] == "bytes" and response.headers["content-length"] == str(SIZE)
    assert "content-range" not in response.headers


@pytest.mark.parametrize("header", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=50-10", "bytes=-0"])
async def test_an_unsatisfiable_range_is_416(http, world, settings, header):
    url = await video_url(http, world, settings)
    response = await http.get(url, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{SIZE}"


@pytest.mark.parametrize("header", ["items=0-5", "bytes=abc", "bytes=0-5,10-20"])
async def test_a_range_we_do_not_serve_gives_the_whole_file(http, world, settings, header):
    url = await video_url(http, world, settings)
    response = await http.get(url, headers={"Range": header})
    assert response.status_code == 200 and len(response.content) == SIZE


async def test_if_range_with_another_etag_gives_the_whole_file_and_etag_revalidates(http, world, settings):
    url = await video_url(http, world, settings)
    etag = (await http.get(url)).headers["etag"]
    assert (await http.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})).status_code == 200
    assert (await http.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})).status_code == 206
    assert (await http.get(url, headers={"If-None-Match": etag})).status_code == 304


def test_parse_range_edges():
    assert parse_range(None, 10) is None
    assert parse_range("bytes=-20", 10) == (0, 9)  # a suffix longer than the file is all of it
    assert parse_range("bytes=9-9", 10) == (9, 9)


HTML = b"<!doctype html><html><script>alert(1)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.mark.parametrize(
    ("content", "filename", "content_type", "disposition"),
    [
        (VIDEO, "clip.mp4", "video/mp4", "inline"),
        (PDF, "guide.pdf", "application/pdf", "inline"),
        (HTML, "page.html", "application/octet-stream", "attachment"),
        (SVG, "logo.svg", "application/octet-stream", "attachment"),
        (b"a,b\n1,2\n", "data.csv", "text/plain", "attachment"),
    ],
)
async def test_only_images_pdf_and_video_are_inline_and_never_sniffed(
    http, world, settings, content, filename, content_type, disposition
):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "File", content=content, filename=filename)
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}/versions/1/file")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == content_type
    assert response.headers["content-disposition"].startswith(f"{disposition}; filename=\"{filename}\"")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


async def test_an_image_is_inline_unless_downloaded_and_downloads_are_audited(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", filename="pöster 1.png")
    await sign_in_client(http, world.workspace, world.alice)
    url = f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}/versions/1/file"
    inline = await http.get(url)
    assert inline.headers["content-type"] == "image/png"
    assert inline.headers["content-disposition"] == "inline; filename=\"p_ster 1.png\"; filename*=UTF-8''p%C3%B6ster%201.png"
    assert await AuditEvent.count().where(AuditEvent.action == "deliverable.download") == 0
    download = await http.get(f"{url}?download=1")
    assert download.headers["content-disposition"].startswith("attachment;")
    events = await AuditEvent.select().where(AuditEvent.action == "deliverable.download")
    assert len(events) == 1 and events[0]["actor_email"] == "alice@northwind.example"
    assert events[0]["target_id"] == deliverable and events[0]["ip"] == "203.0.113.7"
