"""Studio actions on deliverables: the review cycle, the approval lock, emails, scoping."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx

from portal import clock
from portal.accounts.tables import ClientUser
from portal.app import create_app
from portal.deliverables.tables import Deliverable, DeliverableVersion
from portal.mail.tables import OutboxMessage
from portal.projects.tables import ProjectAccess
from portal.workspaces.tables import Workspace
from tests.factories import PNG_1PX, grant, make_client, make_deliverable, make_staff, make_workspace
from tests.fixtures import csrf_token, post_form, sign_in_client, sign_in_staff

PDF = b"%PDF-1.4\n%%EOF\n"


def base(world) -> str:
    return f"/studio/projects/{world.project_a}/deliverables"


async def upload(http, url: str, content: bytes, filename: str, note: str = ""):
    await http.get("/healthz")
    return await http.post(f"{url}/versions", data={"note": note, "_csrf_token": csrf_token(http)},
                           files={"file": (filename, content, "application/x-anything")})


async def test_create_upload_and_mark_ready_puts_it_in_front_of_the_client(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    empty = await post_form(http, base(world), {"title": "  ", "description": ""})
    assert empty.status_code == 422 and "Give the deliverable a title." in empty.text
    assert await Deliverable.count() == 0
    created = await post_form(http, base(world), {"title": "Brand book", "description": "All of it."})
    assert created.status_code == 303
    url = created.headers["location"].split("?")[0]
    deliverable = int(url.rsplit("/", 1)[1])
    assert (await upload(http, url, b"", "nothing.pdf")).status_code == 422
    response = await upload(http, url, PDF, "../../brand book.pdf", note="First pass.")
    assert response.status_code == 303
    version = await DeliverableVersion.select().where(DeliverableVersion.deliverable == deliverable).first()
    # The type comes from the bytes, not from what the browser declared.
    assert version["content_type"] == "application/pdf" and version["filename"] == "brand book.pdf"
    assert version["note"] == "First pass." and version["number"] == 1
    ready = await post_form(http, f"{url}/ready")
    assert ready.status_code == 303 and ready.headers["location"].endswith("done=ready&sent=1")
    assert (await Deliverable.select(Deliverable.status).first())["status"] == "ready_for_review"
    page = (await http.get(url)).text
    assert 'data-testid="viewer-pdf"' in page and "Waiting for the client" in page


async def test_ready_for_review_emails_every_client_with_a_live_grant(http, world, settings):
    org = world.org_a
    bob = await make_client(world.workspace, org, "bob@northwind.example", "Bob")
    expired = await make_client(world.workspace, org, "old@northwind.example")
    revoked = await make_client(world.workspace, org, "gone@northwind.example")
    inactive = await make_client(world.workspace, org, "off@northwind.example")
    await grant(world.workspace, world.project_a, bob, expires_on=clock.today())  # last day: still live
    await grant(world.workspace, world.project_a, expired, expires_on=clock.today() - dt.timedelta(days=1))
    await grant(world.workspace, world.project_a, revoked)
    await grant(world.workspace, world.project_a, inactive)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.client_user == revoked)
    await ClientUser.update({ClientUser.active: False}).where(ClientUser.id == inactive)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"{base(world)}/{deliverable}/ready")
    assert response.status_code == 303
    mails = await OutboxMessage.select().order_by(OutboxMessage.to_address)
    assert [m["to_address"] for m in mails] == ["alice@northwind.example", "bob@northwind.example"]
    assert mails[0]["subject"] == "Ready for your review: Poster"
    assert f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}" in mails[0]["text_body"]
    assert "carol@globex.example" not in {m["to_address"] for m in mails}


async def test_no_ready_emails_while_the_portal_is_off(http, world, settings):
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{base(world)}/{deliverable}/ready")).status_code == 303
    assert await OutboxMessage.count() == 0


async def test_an_approved_deliverable_is_locked_for_staff_too(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    await post_form(http, f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}/approve", {"version": "1"})
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, world.staff)
    url = f"{base(world)}/{deliverable}"
    attempts = {
        "new version": await upload(http, url, PDF, "v2.pdf"),
        "edit": await post_form(http, f"{url}/edit", {"title": "Renamed", "description": ""}),
        "delete": await post_form(http, f"{url}/delete"),
        "ready": await post_form(http, f"{url}/ready"),
    }
    for action, response in attempts.items():
        assert response.status_code == 409, action
        assert "approved" in response.text and "is locked" in response.text, action
    row = await Deliverable.select().where(Deliverable.id == deliverable).first()
    assert row["title"] == "Poster" and row["status"] == "approved" and row["current_version"] == 1
    assert await DeliverableVersion.count().where(DeliverableVersion.deliverable == deliverable) == 1
    page = (await http.get(url)).text
    assert 'data-testid="locked-note"' in page and 'data-testid="upload-form"' not in page


async def test_a_new_version_after_changes_requested_goes_back_to_work_in_progress(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    portal_url = f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}"
    await post_form(http, f"{portal_url}/request-changes", {"version": "1", "comment": "Brighter"})
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, world.staff)
    url = f"{base(world)}/{deliverable}"
    again = await post_form(http, f"{url}/ready")
    assert again.status_code == 409 and "Upload a new version" in again.text
    assert (await upload(http, url, PNG_1PX + b"v2", "v2.png")).status_code == 303
    row = await Deliverable.select().where(Deliverable.id == deliverable).first()
    assert row["status"] == "in_progress" and row["current_version"] == 2
    assert (await post_form(http, f"{url}/ready")).status_code == 303
    row = await Deliverable.select().where(Deliverable.id == deliverable).first()
    assert row["status"] == "ready_for_review" and row["current_version"] == 2  # version 2 is now up for review
    assert (await post_form(http, f"{url}/edit", {"title": "Poster, brighter", "description": "v2"})).status_code == 303
    row = await Deliverable.select().where(Deliverable.id == deliverable).first()
    assert (row["title"], row["description"], row["status"]) == ("Poster, brighter", "v2", "ready_for_review")
    assert (await post_form(http, f"{url}/delete")).status_code == 303
    assert await Deliverable.count() == 0


async def test_studio_routes_are_404_for_another_workspaces_staff(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    other = await make_workspace("other", "Other Agency")
    stranger = await make_staff(other, "eve@other.example")
    await sign_in_staff(http, other, stranger)
    url = f"{base(world)}/{deliverable}"
    for response in (
        await http.get(base(world)),
        await http.get(url),
        await http.get(f"{url}/versions/1/file"),
        await post_form(http, base(world), {"title": "Mine now"}),
        await post_form(http, f"{url}/edit", {"title": "Mine now"}),
        await post_form(http, f"{url}/ready"),
        await post_form(http, f"{url}/delete"),
        await upload(http, url, PDF, "x.pdf"),
    ):
        assert response.status_code == 404, response.request.url
    assert await Deliverable.count() == 1 and await OutboxMessage.count() == 0
    # A 404 after a write would still have renamed, readied or versioned Olivia's deliverable.
    row = await Deliverable.select().where(Deliverable.id == deliverable).first()
    assert (row["title"], row["status"], row["current_version"]) == ("Poster", "draft", 1)
    assert await DeliverableVersion.count().where(DeliverableVersion.deliverable == deliverable) == 1


async def test_uploads_over_the_size_limit_are_refused(world, settings):
    small = dataclasses.replace(settings, max_upload_bytes=1024 * 1024)
    transport = httpx.ASGITransport(app=create_app(small), client=("203.0.113.7", 50000))
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    url = f"{base(world)}/{deliverable}"
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        await sign_in_staff(http, world.workspace, world.staff)
        just_over = await upload(http, url, PDF + b"0" * (1024 * 1024), "big.pdf")
        assert just_over.status_code == 422 and "larger than the 1 MB limit" in just_over.text
        far_over = await upload(http, url, PDF + b"0" * (2 * 1024 * 1024), "huge.pdf")
        assert far_over.status_code == 413 and "Files can be up to 1.0 MB" in far_over.text
    assert await DeliverableVersion.count().where(DeliverableVersion.deliverable == deliverable) == 1
