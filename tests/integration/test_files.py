"""Files tab: only shared files, downloads as safe attachments (audited), 404 at once after unsharing."""

from __future__ import annotations

import re
from urllib.parse import unquote

from portal.audit.tables import AuditEvent
from portal.db import count_queries
from portal.files.views import content_disposition
from tests.factories import PNG_1X1, grant, make_file, make_project
from tests.fixtures import post_form, sign_in_client, sign_in_staff

PDF = b"%PDF-1.4\n% a tiny test document\n%%EOF\n"


def tab_url(world) -> str:
    return f"/p/acme/projects/{world.project_a}/files"


def file_url(world, file_id: int, what: str = "download") -> str:
    return f"{tab_url(world)}/{file_id}/{what}"


async def test_the_tab_lists_only_shared_files_that_are_not_deleted(http, world, settings):
    await make_file(settings, world.workspace, world.project_a, "Brief.pdf", PDF)
    await make_file(settings, world.workspace, world.project_a, "Moodboard.png", PNG_1X1)
    await make_file(settings, world.workspace, world.project_a, "SECRET-working-file.png", shared=False)
    await make_file(settings, world.workspace, world.project_a, "Gone-deleted.pdf", PDF, deleted=True)
    await make_file(settings, world.workspace, world.project_b, "Globex-only.pdf", PDF)
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(tab_url(world))

    assert response.status_code == 200
    names = re.findall(r'data-testid="file-name">([^<]+)<', response.text)
    assert sorted(names) == ["Brief.pdf", "Moodboard.png"]
    for hidden in ("SECRET-working-file", "Gone-deleted", "Globex-only"):
        assert hidden not in response.text
    assert "PDF · 38 bytes" in response.text
    assert f"PNG image · {len(PNG_1X1)} bytes" in response.text
    assert response.text.count('data-testid="file-thumbnail"') == 1  # the image only
    assert 'aria-current="page"' in response.text and ">Files</a>" in response.text


async def test_an_htmx_tab_request_gets_only_the_fragment(http, world, settings):
    await make_file(settings, world.workspace, world.project_a, "Brief.pdf", PDF)
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(tab_url(world), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text and 'data-testid="files-tab"' in response.text
    assert response.headers["vary"] == "HX-Request"


async def test_an_empty_tab_says_so(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(tab_url(world))
    assert 'data-testid="files-empty"' in response.text


async def test_download_is_an_attachment_with_the_bytes_and_is_audited(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.pdf", PDF)
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(file_url(world, file_id))

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-disposition"] == "attachment; filename=\"Brief.pdf\"; filename*=UTF-8''Brief.pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in response.headers["cache-control"]
    events = await AuditEvent.select().where(AuditEvent.action == "file_downloaded")
    assert len(events) == 1
    event = events[0]
    assert (event["actor_kind"], event["actor_id"], event["target_id"]) == ("client", world.alice, file_id)
    assert event["workspace"] == world.workspace and event["ip"] == "203.0.113.7"


async def test_a_name_with_quotes_unicode_and_crlf_gets_a_safe_rfc6266_header(http, world, settings):
    name = 'Résumé "final"\r\nSet-Cookie: evil=1; 日本.pdf'
    file_id = await make_file(settings, world.workspace, world.project_a, name, PDF)
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(file_url(world, file_id))

    header = response.headers["content-disposition"]
    assert "evil" not in response.headers.get("set-cookie", "")
    assert "\r" not in header and "\n" not in header
    match = re.fullmatch(r'attachment; filename="([^"\\]*)"; filename\*=UTF-8\'\'([A-Za-z0-9%._~-]+)', header)
    assert match, header
    fallback, encoded = match.groups()
    assert fallback.isascii() and fallback.startswith("Resume _final_") and fallback.endswith(".pdf")
    assert unquote(encoded) == 'Résumé "final"Set-Cookie: evil=1; 日本.pdf'


def test_content_disposition_falls_back_to_download_when_nothing_ascii_is_left():
    assert content_disposition("日本.pdf") == "attachment; filename=\"download.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf"
    assert content_disposition("..\\..\\etc/passwd").startswith('attachment; filename="passwd"')
    assert content_disposition("plan.png", "inline") == "inline; filename=\"plan.png\"; filename*=UTF-8''plan.png"


async def test_thumbnails_are_inline_for_images_only(http, world, settings):
    image = await make_file(settings, world.workspace, world.project_a, "Moodboard.png", PNG_1X1)
    pdf = await make_file(settings, world.workspace, world.project_a, "Brief.pdf", PDF)
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(file_url(world, image, "thumbnail"))
    # a re-encoded thumbnail, never the uploaded bytes (tests/integration/test_upload_safety.py)
    assert response.status_code == 200 and response.content != PNG_1X1
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WEBP"
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["content-disposition"].startswith("inline;")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert (await http.get(file_url(world, pdf, "thumbnail"))).status_code == 404
    # a thumbnail is not a download: nothing audited
    assert await AuditEvent.count().where(AuditEvent.action == "file_downloaded") == 0


async def test_unsharing_or_deleting_a_file_makes_it_404_at_once(app, world, settings):
    import httpx

    file_id = await make_file(settings, world.workspace, world.project_a, "Logo-final.png", PNG_1X1)
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as alice,
        httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as staff,
    ):
        await sign_in_client(alice, world.workspace, world.alice)
        await sign_in_staff(staff, world.workspace, world.staff)
        assert (await alice.get(file_url(world, file_id))).status_code == 200
        studio = f"/studio/projects/{world.project_a}/files/{file_id}"

        response = await post_form(staff, f"{studio}/share", {"shared": "0"})
        assert response.status_code == 303

        for what in ("download", "thumbnail"):
            assert (await alice.get(file_url(world, file_id, what))).status_code == 404
        assert "Logo-final" not in (await alice.get(tab_url(world))).text

        assert (await post_form(staff, f"{studio}/share", {"shared": "1"})).status_code == 303
        assert (await alice.get(file_url(world, file_id))).status_code == 200

        assert (await post_form(staff, f"{studio}/delete")).status_code == 303
        for what in ("download", "thumbnail"):
            assert (await alice.get(file_url(world, file_id, what))).status_code == 404
        assert "Logo-final" not in (await alice.get(tab_url(world))).text
        assert "Logo-final" not in (await staff.get(f"/studio/projects/{world.project_a}/files")).text
        # deleted is final: it cannot be shared again
        assert (await post_form(staff, f"{studio}/share", {"shared": "1"})).status_code == 404


async def test_a_client_without_access_to_the_project_gets_404(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.pdf", PDF)
    await sign_in_client(http, world.workspace, world.carol)
    for url in (tab_url(world), file_url(world, file_id), file_url(world, file_id, "thumbnail")):
        assert (await http.get(url)).status_code == 404
    # even with a project she can see, another project's file id is not found
    assert (await http.get(f"/p/acme/projects/{world.project_b}/files/{file_id}/download")).status_code == 404


async def test_the_tab_query_count_does_not_grow_with_files(http, world, settings):
    await make_file(settings, world.workspace, world.project_a, "One.pdf", PDF)
    await sign_in_client(http, world.workspace, world.alice)
    await http.get(tab_url(world))  # the session's last-seen write happens once
    with count_queries() as few:
        assert (await http.get(tab_url(world))).status_code == 200
    for i in range(12):
        await make_file(settings, world.workspace, world.project_a, f"Extra {i}.png", PNG_1X1 + bytes([i]))
    with count_queries() as many:
        response = await http.get(tab_url(world))
    assert response.text.count('data-testid="file"') == 13
    assert len(many) == len(few), (few, many)


async def test_files_of_an_expired_grant_are_gone(http, world, settings):
    import datetime as dt

    from portal import clock

    project = await make_project(world.workspace, world.org_a, "Old project")
    await grant(world.workspace, project, world.alice, expires_on=clock.today() - dt.timedelta(days=1))
    file_id = await make_file(settings, world.workspace, project, "Old.pdf", PDF)
    await sign_in_client(http, world.workspace, world.alice)
    assert (await http.get(f"/p/acme/projects/{project}/files/{file_id}/download")).status_code == 404
