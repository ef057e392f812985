"""Files, rule by rule: the order of the studio list, what the page shows, exactly which
row an upload, rename or download touches, and every field of their audit events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from types import SimpleNamespace

import httpx
import pytest

from portal import clock
from portal.accounts.sessions import Principal
from portal.app import create_app
from portal.errors import Invalid, NotFound
from portal.files import services
from portal.files.storage import blob_path
from portal.files.tables import ProjectFile, StoredFile
from tests.audit import events, only_event, who
from tests.factories import PNG_1X1, make_file
from tests.fixtures import post_form, sign_in_client, sign_in_staff

PDF = b"%PDF-1.4\n% rules\n%%EOF\n"


def studio_url(project: int) -> str:
    return f"/studio/projects/{project}/files"


def staff_of(world) -> Principal:
    return Principal(kind="staff", user_id=world.staff, workspace_id=world.workspace, email="olivia@acme.example",
                     name="Olivia Owner", session_id=0, role="owner")


def alice_of(world) -> Principal:
    return Principal(kind="client", user_id=world.alice, workspace_id=world.workspace,
                     email="alice@northwind.example", name="Alice Andrews", session_id=0)


async def upload_many(http, project: int, files: list[tuple[str, bytes]], share: bool = False):
    data = {"share": "1"} if share else {}
    return await post_form(http, studio_url(project), data,
                           files=[("file", (n, c, "application/octet-stream")) for n, c in files])


async def live_names() -> dict[int, str]:
    rows = await ProjectFile.select(ProjectFile.id, ProjectFile.name).where(ProjectFile.deleted_at.is_null())
    return {row["id"]: row["name"] for row in rows}


# The studio list


async def test_the_studio_list_is_newest_first_and_by_id_within_the_same_moment(settings, world):
    older = await make_file(settings, world.workspace, world.project_a, "Older.png", PNG_1X1 + b"1")
    tied_first = await make_file(settings, world.workspace, world.project_a, "Tied first.png", PNG_1X1 + b"2")
    tied_second = await make_file(settings, world.workspace, world.project_a, "Tied second.png", PNG_1X1 + b"3")
    newest = await make_file(settings, world.workspace, world.project_a, "Newest.png", PNG_1X1 + b"4")
    moment = clock.now().replace(microsecond=0)
    # Created in id order, dated otherwise: the oldest row is the newest file.
    for file_id, when in ((newest, moment - dt.timedelta(days=3)), (tied_first, moment),
                          (tied_second, moment), (older, moment + dt.timedelta(hours=1))):
        await ProjectFile.update({ProjectFile.created_at: when}).where(ProjectFile.id == file_id)

    listing = await services.studio_files(settings, staff_of(world), world.project_a)

    assert [f.id for f in listing.files] == [older, tied_second, tied_first, newest]


async def test_the_studio_page_names_the_client_links_each_file_and_states_the_limit(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    small = dataclasses.replace(settings, max_upload_bytes=20 * 1024)

    listing = await services.studio_files(small, staff_of(world), world.project_a)

    assert listing.project == {"id": world.project_a, "name": "Northwind website", "status": "active",
                               "client": "Northwind"}
    assert listing.max_upload == "20 KB"
    [view] = listing.files
    assert view.download_url == f"/studio/projects/{world.project_a}/files/{file_id}/download"
    assert view.thumbnail_url == f"/studio/projects/{world.project_a}/files/{file_id}/thumbnail"

    await sign_in_staff(http, world.workspace, world.staff)
    html = (await http.get(studio_url(world.project_a))).text
    assert "Client: Northwind. Only shared files" in html
    assert f'href="/studio/projects/{world.project_a}/files/{file_id}/download"' in html


# Downloads and thumbnails


async def test_a_client_download_is_audited_with_the_project_hash_and_size(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.pdf", PDF)
    sha256 = (await ProjectFile.select(ProjectFile.stored_file.sha256.as_alias("sha")).first())["sha"]
    await sign_in_client(http, world.workspace, world.alice)

    response = await http.get(f"/p/acme/projects/{world.project_a}/files/{file_id}/download")

    assert response.status_code == 200 and response.content == PDF
    event = await only_event("file_downloaded")
    assert who(event) == (world.workspace, "client", world.alice, True)
    assert (event["target_type"], event["target_id"], event["project"]) == ("project_file", file_id, world.project_a)
    assert event["detail"] == {"project_id": world.project_a, "name": "Brief.pdf", "sha256": sha256, "size": len(PDF)}


async def test_a_studio_download_is_audited_with_the_hash_and_size(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Internal.pdf", PDF, shared=False)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await http.get(f"{studio_url(world.project_a)}/{file_id}/download")

    assert response.status_code == 200
    blob = await services.studio_download(settings, None, staff_of(world), world.project_a, file_id)
    assert (blob.id, blob.name, blob.content_type, blob.size) == (file_id, "Internal.pdf", "application/pdf", len(PDF))
    first, _ = await events("file_downloaded")
    assert first["detail"] == {"project_id": world.project_a, "name": "Internal.pdf", "sha256": blob.sha256,
                               "size": len(PDF)}


async def test_a_thumbnail_is_named_after_the_file_and_describes_the_thumbnail(http, world, settings):
    file_id = await make_file(settings, world.workspace, world.project_a, "Moodboard.final.png")
    original = await services.shared_file(settings, alice_of(world), world.project_a, file_id)

    thumbnail = await services.shared_thumbnail(settings, alice_of(world), world.project_a, file_id)

    assert thumbnail.id == file_id and thumbnail.name == "Moodboard.final (thumbnail).webp"
    assert thumbnail.content_type == "image/webp" and thumbnail.sha256 != original.sha256
    stored = blob_path(settings, thumbnail.sha256)
    assert thumbnail.size == stored.stat().st_size == len(stored.read_bytes())
    assert thumbnail.stored_file_id == original.stored_file_id
    stored = await StoredFile.select(StoredFile.thumbnail_sha256).where(StoredFile.id == original.stored_file_id).first()
    assert stored["thumbnail_sha256"] == thumbnail.sha256

    await sign_in_client(http, world.workspace, world.alice)
    response = await http.get(f"/p/acme/projects/{world.project_a}/files/{file_id}/thumbnail")
    assert response.headers["content-disposition"] == (
        "inline; filename=\"Moodboard.final (thumbnail).webp\"; filename*=UTF-8''Moodboard.final%20%28thumbnail%29.webp")


async def test_a_thumbnail_of_a_file_without_a_name_is_called_image(settings, world):
    file_id = await make_file(settings, world.workspace, world.project_a, "")
    thumbnail = await services.shared_thumbnail(settings, alice_of(world), world.project_a, file_id)
    assert thumbnail.name == "image (thumbnail).webp"


# Uploads


async def test_an_upload_is_audited_with_every_field(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    response = await upload_many(http, world.project_a, [("notes.csv", b"a,b\n1,2\n")], share=True)
    assert response.status_code == 303
    row = await ProjectFile.select(ProjectFile.id, ProjectFile.stored_file.sha256.as_alias("sha"),
                                   ProjectFile.stored_file.content_type.as_alias("type")).first()
    # The name goes into the sniffing: a .csv of UTF-8 text is stored as text.
    assert row["type"] == "text/plain"
    event = await only_event("file_uploaded")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["project"]) == ("project_file", row["id"], world.project_a)
    assert event["detail"] == {"project_id": world.project_a, "name": "notes.csv", "sha256": row["sha"], "size": 8,
                               "shared": True}


async def test_each_of_several_uploads_is_audited_as_its_own_file(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_many(http, world.project_a, [("a.png", PNG_1X1), ("b.pdf", PDF)])).status_code == 303
    ids = {name: file_id for file_id, name in (await live_names()).items()}
    found = await events("file_uploaded")
    assert [(e["target_id"], e["detail"]["name"], e["detail"]["shared"]) for e in found] == [
        (ids["a.png"], "a.png", False), (ids["b.pdf"], "b.pdf", False)]
    assert all(who(e) == (world.workspace, "staff", world.staff, True) for e in found)


async def test_a_name_with_nothing_left_after_cleaning_is_untitled(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await upload_many(http, world.project_a, [("../..", PNG_1X1)])).status_code == 303
    assert list((await live_names()).values()) == ["Untitled"]
    assert (await only_event("file_uploaded"))["detail"]["name"] == "Untitled"

    response = await upload_many(http, world.project_a, [("...", b""), ("ok.txt", b"ok")])
    assert response.status_code == 422
    assert "“Untitled” was not stored: it is empty." in response.text


async def test_uploading_nothing_is_refused_with_the_exact_message(settings, world):
    with pytest.raises(Invalid) as refused:
        await services.upload_files(settings, None, staff_of(world), world.project_a, [], shared=False)
    assert refused.value.errors == {"": "Choose a file to upload (one or several at once)."}
    assert await ProjectFile.count() == 0


async def test_one_upload_through_the_service_is_stored_and_audited(settings, world):
    request = SimpleNamespace(state=SimpleNamespace(client_ip="198.51.100.4"), client=None,
                              headers={"user-agent": "Uploader/1.0"})
    file_id = await services.upload_file(settings, request, staff_of(world), world.project_a, "../Plan.pdf", PDF,
                                         shared=True)
    row = await ProjectFile.select(
        ProjectFile.id, ProjectFile.project, ProjectFile.workspace, ProjectFile.name, ProjectFile.shared,
        ProjectFile.uploaded_by, ProjectFile.stored_file.content_type.as_alias("type"),
    ).first()
    assert row == {"id": file_id, "project": world.project_a, "workspace": world.workspace, "name": "Plan.pdf",
                   "shared": True, "uploaded_by": world.staff, "type": "application/pdf"}
    event = await only_event("file_uploaded")
    assert (event["actor_kind"], event["actor_id"], event["target_id"]) == ("staff", world.staff, file_id)
    assert (event["ip"], event["user_agent"]) == ("198.51.100.4", "Uploader/1.0")
    assert event["detail"]["name"] == "Plan.pdf" and event["detail"]["shared"] is True


async def test_one_upload_that_is_missing_empty_or_too_large_is_refused_and_nothing_is_stored(settings, world):
    staff = staff_of(world)
    for source in (None, b""):
        with pytest.raises(Invalid) as refused:
            await services.upload_file(settings, None, staff, world.project_a, "x.pdf", source, shared=False)
        assert refused.value.errors == {"": "Choose a file to upload (it must not be empty)."}
    small = dataclasses.replace(settings, max_upload_bytes=16)
    with pytest.raises(Invalid) as refused:
        await services.upload_file(small, None, staff, world.project_a, "x.pdf", PDF, shared=False)
    assert refused.value.errors == {"": "That file is too large: the limit is 16 bytes."}
    assert await ProjectFile.count() == 0 and await StoredFile.count() == 0
    assert await events("file_uploaded") == []
    with pytest.raises(NotFound):
        await services.upload_file(settings, None, staff, world.project_a + 1000, "x.pdf", PDF, shared=False)


async def test_a_too_large_file_among_several_names_the_limit(settings, db, world):
    small = dataclasses.replace(settings, max_upload_bytes=1024)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(small)),
                                 base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        response = await upload_many(http, world.project_a, [("big.bin", b"x" * 1100), ("small.txt", b"ok")])
    assert "“big.bin” was not stored: it is too large (the limit is 1.0 KB)." in response.text


# Renaming


async def test_renaming_changes_that_file_only_and_is_audited_with_the_old_name(http, world, settings):
    first = await make_file(settings, world.workspace, world.project_a, "First.png", PNG_1X1 + b"1")
    second = await make_file(settings, world.workspace, world.project_a, "Second.png", PNG_1X1 + b"2")
    elsewhere = await make_file(settings, world.workspace, world.project_b, "Globex.png", PNG_1X1 + b"3")
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"{studio_url(world.project_a)}/{second}/rename", {"name": "Renamed.png"})

    assert response.status_code == 303
    assert await live_names() == {first: "First.png", second: "Renamed.png", elsewhere: "Globex.png"}
    event = await only_event("file_renamed")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["project"]) == ("project_file", second, world.project_a)
    assert event["detail"] == {"project_id": world.project_a, "old": "Second.png", "name": "Renamed.png"}


async def test_a_deleted_or_other_projects_file_cannot_be_renamed(settings, world):
    gone = await make_file(settings, world.workspace, world.project_a, "Gone.png", PNG_1X1 + b"g", deleted=True)
    theirs = await make_file(settings, world.workspace, world.project_b, "Theirs.png", PNG_1X1 + b"t")
    for file_id in (gone, theirs):
        with pytest.raises(NotFound):
            await services.rename_file(None, staff_of(world), world.project_a, file_id, "Mine.png")
    rows = {r["id"]: r["name"] for r in await ProjectFile.select(ProjectFile.id, ProjectFile.name)}
    assert rows == {gone: "Gone.png", theirs: "Theirs.png"}
    assert await events("file_renamed") == []


async def test_a_new_name_is_refused_with_the_exact_message(http, world, settings):
    for bad, message in (("", "Give the file a name."), ("  /  ", "Give the file a name."),
                         ("x" * 256, "Keep the name under 255 characters (it has 256).")):
        with pytest.raises(Invalid) as refused:
            services.clean_new_name(bad)
        assert refused.value.errors == {"name": message}, bad
    file_id = await make_file(settings, world.workspace, world.project_a, "Brief.png")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"{studio_url(world.project_a)}/{file_id}/rename", {"name": ""})
    assert response.status_code == 422
    assert re.findall(r'data-testid="rename-error">([^<]*)<', response.text) == ["Give the file a name."]
    assert await live_names() == {file_id: "Brief.png"}
