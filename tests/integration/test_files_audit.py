"""Sharing, unsharing, deleting and downloading a studio file: only that file changes, and
each is in the audit log with who did it, from where, and which file of which project."""

from __future__ import annotations

from portal.files.tables import ProjectFile
from tests.audit import events, only_event, who
from tests.factories import PNG_1X1, make_file
from tests.fixtures import post_form, sign_in_staff


def url(project: int, file_id: int, what: str) -> str:
    return f"/studio/projects/{project}/files/{file_id}/{what}"


async def test_sharing_and_unsharing_are_audited(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png", shared=False)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, url(world.project_a, file_id, "share"), {"shared": "1"})).status_code == 303
    assert (await post_form(http, url(world.project_a, file_id, "share"), {"shared": "0"})).status_code == 303
    for action in ("file_shared", "file_unshared"):
        event = await only_event(action)
        assert who(event) == (world.workspace, "staff", world.staff, True)
        assert (event["target_type"], event["target_id"]) == ("project_file", file_id)
        assert event["detail"] == {"project_id": world.project_a, "name": "Brief.png"}


async def test_deleting_a_file_removes_that_file_only_and_is_audited(http, world, settings):
    doomed = await make_file(settings, world.workspace, world.project_a, "Old.png")
    kept = await make_file(settings, world.workspace, world.project_a, "Kept.png", PNG_1X1 + b"k")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, url(world.project_a, doomed, "delete"))).status_code == 303
    rows = {row["id"]: row for row in await ProjectFile.select(ProjectFile.id, ProjectFile.deleted_at, ProjectFile.shared)}
    assert rows[doomed]["deleted_at"] is not None and rows[doomed]["shared"] is False
    assert rows[kept]["deleted_at"] is None and rows[kept]["shared"] is True
    event = await only_event("file_deleted")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("project_file", doomed)
    assert event["detail"] == {"project_id": world.project_a, "name": "Old.png"}


async def test_a_studio_download_is_audited_with_the_project(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await http.get(url(world.project_a, file_id, "download"))
    assert response.status_code == 200 and response.content == PNG_1X1
    [event] = await events("file_downloaded")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("project_file", file_id)
    assert event["detail"]["project_id"] == world.project_a and event["detail"]["name"] == "Brief.png"
