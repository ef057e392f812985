"""Studio files, extended: several files at once, rename, and no delete under an approved deliverable."""

from __future__ import annotations

import dataclasses

import httpx

from portal.accounts.tables import ClientOrganisation
from portal.app import create_app
from portal.audit.tables import AuditEvent
from portal.deliverables.tables import Deliverable, DeliverableVersion
from portal.files.tables import ProjectFile, StoredFile
from tests.factories import PNG_1X1, insert, make_deliverable, make_file, make_project, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff

PDF = b"%PDF-1.4\n%%EOF\n"


def studio_url(project: int) -> str:
    return f"/studio/projects/{project}/files"


async def upload_many(http, project: int, files: list[tuple[str, bytes]]):
    return await post_form(http, studio_url(project), {}, files=[("file", (n, c, "application/octet-stream")) for n, c in files])


async def names() -> list[str]:
    return sorted(r["name"] for r in await ProjectFile.select(ProjectFile.name).where(ProjectFile.deleted_at.is_null()))


async def test_several_files_are_stored_in_one_upload(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await upload_many(http, world.project_a, [("a.png", PNG_1X1), ("b.pdf", PDF), ("c.txt", b"notes")])
    assert response.status_code == 303
    assert response.headers["location"] == f"{studio_url(world.project_a)}?done=uploaded&n=3"
    assert await names() == ["a.png", "b.pdf", "c.txt"]
    types = {r["name"]: r["stored_file.content_type"] for r in
             await ProjectFile.select(ProjectFile.name, ProjectFile.stored_file.content_type)}
    assert types["a.png"] == "image/png" and types["b.pdf"] == "application/pdf"
    assert await AuditEvent.count().where(AuditEvent.action == "file_uploaded") == 3
    page = (await http.get(response.headers["location"])).text
    assert "3 files uploaded." in page and page.count('data-testid="studio-file"') == 3
    assert 'type="file" multiple' in page


async def test_an_empty_file_among_several_is_named_and_the_others_are_stored(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await upload_many(http, world.project_a, [("a.png", PNG_1X1), ("empty.txt", b""), ("c.txt", b"notes")])
    assert response.status_code == 422
    assert "“empty.txt” was not stored: it is empty." in response.text
    assert "Stored: a.png, c.txt." in response.text
    assert await names() == ["a.png", "c.txt"]


async def test_a_too_large_file_among_several_is_named_and_nothing_else_lost(settings, db, world):
    small = dataclasses.replace(settings, max_upload_bytes=1024)
    app = create_app(small)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        response = await upload_many(http, world.project_a, [("big.bin", b"x" * 1100), ("small.txt", b"ok")])
        assert response.status_code == 422
        assert "“big.bin” was not stored: it is too large (the limit is" in response.text
        assert "Stored: small.txt." in response.text
        assert await names() == ["small.txt"] and await StoredFile.count() == 1


async def test_rename_cleans_the_name_and_is_audited(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/rename", {"name": " ../../Final\r\n brief.png "})
    assert response.status_code == 303 and response.headers["location"].endswith("?done=renamed")
    assert await names() == ["Final brief.png"]
    event = await AuditEvent.select().where(AuditEvent.action == "file_renamed").first()
    assert event["target_id"] == file_id and "Brief.png" in event["detail"]
    assert "File renamed." in (await http.get(response.headers["location"])).text


async def test_a_bad_name_is_refused_with_the_form_again_and_nothing_changed(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_staff(http, world.workspace, world.staff)
    for bad, message in (("   ", "Give the file a name."), ("/..", "Give the file a name."),
                         ("x" * 256, "Keep the name under 255 characters")):
        response = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/rename", {"name": bad})
        assert response.status_code == 422, bad
        assert message in response.text and 'data-testid="rename-error"' in response.text
        assert await names() == ["Brief.png"]
    ok = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/rename", {"name": "y" * 255})
    assert ok.status_code == 303 and await names() == ["y" * 255]


async def approve(settings, world, content: bytes) -> int:
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "approved", content=content)
    await Deliverable.update({Deliverable.approved_at: Deliverable.updated_at}).where(Deliverable.id == deliverable)
    return deliverable


async def test_a_file_with_the_bytes_of_an_approved_deliverable_cannot_be_deleted(http, world, settings):
    await approve(settings, world, PNG_1X1)
    file_id = await make_file(settings, world.workspace, world.project_a, "Poster final.png", PNG_1X1)
    other = await make_file(settings, world.workspace, world.project_a, "Other.png", PNG_1X1 + b"other")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/delete")
    assert response.status_code == 409
    assert "cannot be deleted" in response.text and "approved deliverable" in response.text
    assert "Poster" in response.text and 'data-testid="files-conflict"' in response.text
    assert "cannot be deleted" in response.headers["x-error-message"]
    row = await ProjectFile.select(ProjectFile.deleted_at, ProjectFile.shared).where(ProjectFile.id == file_id).first()
    assert row["deleted_at"] is None and row["shared"] is True
    assert await AuditEvent.count().where(AuditEvent.action == "file_deleted") == 0
    # Other bytes are not held back.
    assert (await post_form(http, f"{studio_url(world.project_a)}/{other}/delete")).status_code == 303
    assert await names() == ["Poster final.png"]


async def test_the_same_bytes_uploaded_again_as_a_file_are_held_too(http, world, settings):
    await approve(settings, world, PDF)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_many(http, world.project_a, [("copy of the approved.pdf", PDF)])).status_code == 303
    file_id = (await ProjectFile.select(ProjectFile.id).first())["id"]
    version = await DeliverableVersion.select(DeliverableVersion.content_sha256).first()
    stored = await ProjectFile.select(ProjectFile.stored_file.sha256.as_alias("sha")).where(ProjectFile.id == file_id).first()
    assert stored["sha"] == version["content_sha256"]
    response = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/delete")
    assert response.status_code == 409 and "cannot be deleted" in response.text
    assert await names() == ["copy of the approved.pdf"]


async def test_a_not_yet_approved_deliverable_does_not_hold_the_file(http, world, settings):
    await make_deliverable(settings, world.workspace, world.project_a, "Poster", "ready_for_review", content=PNG_1X1)
    file_id = await make_file(settings, world.workspace, world.project_a, "Poster.png", PNG_1X1)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{studio_url(world.project_a)}/{file_id}/delete")).status_code == 303
    assert await names() == []


async def test_another_workspaces_approved_deliverable_does_not_hold_the_file(http, world, settings):
    other = await make_workspace("other", "Other Agency")
    org = await insert(ClientOrganisation(workspace=other, name="Initech"))
    project = await make_project(other, org, "Initech site")
    await make_deliverable(settings, other, project, "Their poster", "approved", content=PNG_1X1)
    file_id = await make_file(settings, world.workspace, world.project_a, "Poster.png", PNG_1X1)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{studio_url(world.project_a)}/{file_id}/delete")).status_code == 303
    assert await names() == []


async def test_new_routes_are_404_for_another_workspace_and_change_nothing(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    other = await make_workspace("other", "Other Agency")
    outsider = await make_staff(other, "mallory@other.example")
    await sign_in_staff(http, other, outsider)
    base = studio_url(world.project_a)
    assert (await post_form(http, f"{base}/{file_id}/rename", {"name": "Mine.png"})).status_code == 404
    assert (await upload_many(http, world.project_a, [("a.png", PNG_1X1), ("b.txt", b"b")])).status_code == 404
    assert await names() == ["Brief.png"] and await ProjectFile.count() == 1


async def test_a_client_session_never_reaches_studio_file_routes(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_client(http, world.workspace, world.alice)
    base = studio_url(world.project_a)
    for response in (await post_form(http, f"{base}/{file_id}/rename", {"name": "Mine.png"}),
                     await upload_many(http, world.project_a, [("a.png", PNG_1X1)])):
        assert response.status_code != 200
        assert not (300 <= response.status_code < 400 and "/files" in response.headers.get("location", ""))
    assert await names() == ["Brief.png"] and await ProjectFile.count() == 1
