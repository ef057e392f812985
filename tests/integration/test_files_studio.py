"""Studio files: upload (sniffed, size-limited), share toggle, delete; scoped to the workspace."""

from __future__ import annotations

import dataclasses

import httpx

from portal.app import create_app
from portal.files.storage import blob_path
from portal.files.tables import ProjectFile, StoredFile
from tests.factories import PNG_1X1, make_file, make_project, make_staff, make_workspace
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff


def studio_url(project: int) -> str:
    return f"/studio/projects/{project}/files"


async def upload(client: httpx.AsyncClient, project: int, name: str, content: bytes, share: bool = False):
    data = {"share": "1"} if share else {}
    return await post_form(client, studio_url(project), data, files={"file": (name, content, "image/png")})


async def test_staff_see_every_file_with_its_sharing_state(http, world, settings):
    await make_file(settings, world.workspace, world.project_a, "Shared-brief.png")
    await make_file(settings, world.workspace, world.project_a, "Working-file.png", PNG_1X1 + b"x", shared=False)
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get(studio_url(world.project_a))
    assert response.status_code == 200
    assert "Shared-brief.png" in response.text and "Working-file.png" in response.text
    assert response.text.count('data-testid="studio-file"') == 2
    assert ">Unshare<" in response.text and ">Share<" in response.text


async def test_an_upload_is_stored_sniffed_and_shared_when_asked(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await upload(http, world.project_a, "../../Logo draft.png", PNG_1X1, share=True)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{studio_url(world.project_a)}?done=uploaded"
    row = await ProjectFile.select(
        ProjectFile.name, ProjectFile.shared, ProjectFile.uploaded_by, ProjectFile.stored_file.sha256,
        ProjectFile.stored_file.content_type,
    ).first()
    assert row["name"] == "Logo draft.png" and row["shared"] is True and row["uploaded_by"] == world.staff
    assert row["stored_file.content_type"] == "image/png"
    assert blob_path(settings, row["stored_file.sha256"]).read_bytes() == PNG_1X1

    await sign_in_client(http, world.workspace, world.alice)
    assert "Logo draft.png" in (await http.get(f"/p/acme/projects/{world.project_a}/files")).text


async def test_html_named_png_is_stored_as_a_download_only_type(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await upload(http, world.project_a, "innocent.png", b"<html><script>alert(1)</script></html>")
    assert response.status_code == 303
    row = await ProjectFile.select(ProjectFile.shared, ProjectFile.stored_file.content_type).first()
    assert row["stored_file.content_type"] == "application/octet-stream"
    assert row["shared"] is False  # not shared unless asked


async def test_an_upload_over_the_limit_is_refused_and_nothing_is_stored(settings, db, world):
    small = dataclasses.replace(settings, max_upload_bytes=64)
    app = create_app(small)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        response = await upload(http, world.project_a, "big.png", PNG_1X1 + b"0" * 64)
        assert response.status_code == 422
        assert "too large" in response.text and "64 bytes" in response.text
        assert await ProjectFile.count() == 0 and await StoredFile.count() == 0

        response = await upload(http, world.project_a, "fits.png", PNG_1X1[:64])
        assert response.status_code == 303


async def test_an_upload_without_a_file_rerenders_the_form_with_an_error(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, studio_url(world.project_a), {"share": "1"}, files={"file": ("", b"", "application/octet-stream")})
    assert response.status_code == 422
    assert "Choose a file" in response.text
    assert await ProjectFile.count() == 0


async def test_staff_of_another_workspace_get_404_for_everything(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    other = await make_workspace("other", "Other Agency")
    outsider = await make_staff(other, "mallory@other.example")
    await sign_in_staff(http, other, outsider)
    base = studio_url(world.project_a)
    assert (await http.get(base)).status_code == 404
    assert (await http.get(f"{base}/{file_id}/download")).status_code == 404
    assert (await post_form(http, f"{base}/{file_id}/share", {"shared": "0"})).status_code == 404
    assert (await post_form(http, f"{base}/{file_id}/delete")).status_code == 404
    assert (await upload(http, world.project_a, "x.png", PNG_1X1)).status_code == 404
    row = await ProjectFile.select(ProjectFile.shared, ProjectFile.deleted_at).first()
    assert row == {"shared": True, "deleted_at": None}
    assert await ProjectFile.count() == 1
    # and a file id from another project of the right workspace is not found either
    own = await make_project(other, (await _org(other)), "Own project")
    assert (await http.get(f"{studio_url(own)}/{file_id}/download")).status_code == 404


async def _org(workspace: int) -> int:
    from portal.accounts.tables import ClientOrganisation
    from tests.factories import insert

    return await insert(ClientOrganisation(workspace=workspace, name="Someone"))


async def test_clients_cannot_use_the_studio(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(studio_url(world.project_a))
    assert response.status_code == 303 and response.headers["location"] == "/studio/login"
    response = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/share", {"shared": "0"})
    assert response.status_code == 303
    assert (await ProjectFile.select(ProjectFile.shared).first())["shared"] is True


async def test_staff_download_of_an_unshared_file_works_and_is_audited(http, world, settings):
    from portal.audit.tables import AuditEvent

    file_id = await make_file(settings, world.workspace, world.project_a, "Internal.png", shared=False)
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get(f"{studio_url(world.project_a)}/{file_id}/download")
    assert response.status_code == 200 and response.content == PNG_1X1
    assert response.headers["content-disposition"].startswith("attachment;")
    event = await AuditEvent.select(AuditEvent.actor_kind, AuditEvent.target_id).where(
        AuditEvent.action == "file_downloaded"
    ).first()
    assert event == {"actor_kind": "staff", "target_id": file_id}


async def test_the_studio_list_query_count_does_not_grow(http, world, settings):
    await make_file(settings, world.workspace, world.project_a, "One.png")
    await sign_in_staff(http, world.workspace, world.staff)
    await http.get(studio_url(world.project_a))
    from portal.db import count_queries

    with count_queries() as few:
        await http.get(studio_url(world.project_a))
    for i in range(10):
        await make_file(settings, world.workspace, world.project_a, f"More {i}.png", PNG_1X1 + bytes([i]), shared=i % 2 == 0)
    with count_queries() as many:
        response = await http.get(studio_url(world.project_a))
    assert response.text.count('data-testid="studio-file"') == 11
    assert len(many) == len(few)



async def test_a_body_far_over_the_limit_is_stopped_before_it_is_read(settings, db, world):
    small = dataclasses.replace(settings, max_upload_bytes=64)
    app = create_app(small)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        big = PNG_1X1 + b"0" * 200_000
        response = await upload(http, world.project_a, "big.png", big)  # announced by Content-Length
        assert response.status_code == 413 and "64 bytes" in response.text

        async def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b"0" * 50_000

        response = await http.post(
            studio_url(world.project_a), content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=x", "x-csrftoken": csrf_token(http)},
        )
        assert response.status_code == 413
        assert await ProjectFile.count() == 0 and await StoredFile.count() == 0


async def test_an_upload_over_litestars_default_body_limit_is_accepted(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    content = PNG_1X1 + b"\0" * (11 * 1024 * 1024)  # Litestar refuses over 10 MB by default
    response = await upload(http, world.project_a, "large.png", content)
    assert response.status_code == 303
    assert (await StoredFile.select(StoredFile.size).first())["size"] == len(content)
