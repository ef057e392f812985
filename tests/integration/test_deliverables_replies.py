"""Free-text replies in a deliverable's thread: staff and client, emails, limits, scoping."""

from __future__ import annotations

import pytest

from portal import clock
from portal.audit.tables import AuditEvent
from portal.deliverables.tables import Deliverable, DeliverableComment
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Project, ProjectAccess
from portal.workspaces.tables import Workspace
from tests.factories import grant, make_client, make_deliverable, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def portal_url(world, deliverable: int) -> str:
    return f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}"


def studio_url(world, deliverable: int) -> str:
    return f"/studio/projects/{world.project_a}/deliverables/{deliverable}"


async def test_a_staff_reply_is_in_the_thread_and_emailed_to_every_client_with_access(http, world, settings):
    bob = await make_client(world.workspace, world.org_a, "bob@northwind.example", "Bob")
    gone = await make_client(world.workspace, world.org_a, "gone@northwind.example", "Gone")
    await grant(world.workspace, world.project_a, bob)
    await grant(world.workspace, world.project_a, gone)
    await ProjectAccess.update({ProjectAccess.revoked_at: clock.now()}).where(ProjectAccess.client_user == gone)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "  The blue is Pantone 286.  "})
    assert response.status_code == 303
    comment = await DeliverableComment.select().first()
    assert comment["body"] == "The blue is Pantone 286." and comment["staff"] == world.staff
    assert comment["client_user"] is None and comment["deliverable"] == deliverable
    mails = await OutboxMessage.select().order_by(OutboxMessage.to_address)
    assert [m["to_address"] for m in mails] == ["alice@northwind.example", "bob@northwind.example"]
    assert mails[0]["subject"] == "New reply about Poster"
    assert "The blue is Pantone 286." in mails[0]["text_body"] and "The blue is Pantone 286." in mails[0]["html_body"]
    assert f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}" in mails[0]["text_body"]
    page = await http.get(response.headers["location"])
    assert "The blue is Pantone 286." in page.text and "2 clients emailed" in page.text
    event = await AuditEvent.select().where(AuditEvent.action == "deliverable.replied").first()
    assert event["target_id"] == deliverable and event["actor_email"] == "olivia@acme.example"
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    client_page = (await http.get(portal_url(world, deliverable))).text
    assert "The blue is Pantone 286." in client_page and "Olivia Owner" in client_page


async def test_staff_can_reply_on_an_approved_deliverable_which_stays_locked(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "approved")
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(studio_url(world, deliverable))).text
    assert 'data-testid="reply-form"' in page and 'data-testid="upload-form"' not in page
    response = await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "Final files are attached."})
    assert response.status_code == 303
    assert await DeliverableComment.count() == 1
    assert [m["to_address"] for m in await OutboxMessage.select()] == ["alice@northwind.example"]
    row = await Deliverable.select(Deliverable.status, Deliverable.current_version).first()
    assert row == {"status": "approved", "current_version": 1}


async def test_a_staff_reply_on_a_draft_emails_nobody(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "Internal first cut."})
    assert response.status_code == 303
    assert await DeliverableComment.count() == 1 and await OutboxMessage.count() == 0


async def test_no_reply_emails_to_clients_while_the_portal_is_off(http, world, settings):
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "Hello"})).status_code == 303
    assert await DeliverableComment.count() == 1 and await OutboxMessage.count() == 0


@pytest.mark.parametrize("status", ["ready_for_review", "changes_requested", "approved"])
async def test_a_client_reply_is_saved_and_emailed_to_the_project_lead(http, world, settings, status):
    await make_staff(world.workspace, "adam@acme.example", "admin")
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status)
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"{portal_url(world, deliverable)}/reply", {"body": "Could the logo be larger?"})
    assert response.status_code == 303
    comment = await DeliverableComment.select().first()
    assert comment["client_user"] == world.alice and comment["staff"] is None
    assert comment["body"] == "Could the logo be larger?"
    mails = await OutboxMessage.select()
    assert [m["to_address"] for m in mails] == ["olivia@acme.example"]  # the lead only
    assert mails[0]["subject"] == "New reply from Alice Andrews: Poster"
    assert "Could the logo be larger?" in mails[0]["text_body"]
    assert f"/studio/projects/{world.project_a}/deliverables/{deliverable}" in mails[0]["text_body"]
    # A reply is conversation: the deliverable itself is unchanged (approved stays locked).
    assert (await Deliverable.select(Deliverable.status).first())["status"] == status
    page = (await http.get(response.headers["location"])).text
    assert "Could the logo be larger?" in page and "Reply sent." in page
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, world.staff)
    assert "Could the logo be larger?" in (await http.get(studio_url(world, deliverable))).text


async def test_without_a_lead_a_client_reply_goes_to_the_owners_and_admins(http, world, settings):
    await make_staff(world.workspace, "adam@acme.example", "admin")
    await make_staff(world.workspace, "mia@acme.example", "member")
    await Project.update({Project.lead: None}).where(Project.id == world.project_a)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    assert (await post_form(http, f"{portal_url(world, deliverable)}/reply", {"body": "Hi"})).status_code == 303
    mails = await OutboxMessage.select().order_by(OutboxMessage.to_address)
    assert [m["to_address"] for m in mails] == ["adam@acme.example", "olivia@acme.example"]


@pytest.mark.parametrize("side", ["staff", "client"])
@pytest.mark.parametrize("body, message", [("   ", "Write a reply before sending."),
                                           ("x" * 5001, "Please keep your reply under 5000 characters")])
async def test_an_empty_or_too_long_reply_is_refused_and_nothing_saved(http, world, settings, side, body, message):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    if side == "staff":
        await sign_in_staff(http, world.workspace, world.staff)
        url = studio_url(world, deliverable)
    else:
        await sign_in_client(http, world.workspace, world.alice)
        url = portal_url(world, deliverable)
    response = await post_form(http, f"{url}/reply", {"body": body})
    assert response.status_code == 422
    assert message in response.text and 'aria-invalid="true"' in response.text
    assert 'data-testid="reply-form"' in response.text
    assert await DeliverableComment.count() == 0 and await OutboxMessage.count() == 0
    ok = await post_form(http, f"{url}/reply", {"body": "x" * 5000})
    assert ok.status_code == 303 and await DeliverableComment.count() == 1


@pytest.mark.parametrize("case", ["draft", "other_project", "other_org_client"])
async def test_a_client_cannot_reply_where_they_cannot_see(http, world, settings, case):
    if case == "draft":
        deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", "draft")
        await sign_in_client(http, world.workspace, world.alice)
        url = portal_url(world, deliverable)
    elif case == "other_project":
        deliverable = await make_deliverable(settings, world.workspace, world.project_b, "Globex logo")
        await sign_in_client(http, world.workspace, world.alice)
        url = f"/p/acme/projects/{world.project_b}/deliverables/{deliverable}"
    else:
        deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
        await sign_in_client(http, world.workspace, world.carol)
        url = portal_url(world, deliverable)
    response = await post_form(http, f"{url}/reply", {"body": "Let me in"})
    assert response.status_code == 404
    assert await DeliverableComment.count() == 0 and await OutboxMessage.count() == 0


async def test_client_replies_need_the_approvals_feature(http, world, settings):
    await Workspace.update({Workspace.plan: "starter"}).where(Workspace.id == world.workspace)
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    page = (await http.get(portal_url(world, deliverable))).text
    assert 'data-testid="reply-form"' not in page
    response = await post_form(http, f"{portal_url(world, deliverable)}/reply", {"body": "Hi"})
    assert response.status_code == 403 and "not included in the Starter plan" in response.text
    assert await DeliverableComment.count() == 0 and await OutboxMessage.count() == 0
    # Staff replies are always allowed.
    http.cookies.clear()
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "Hi"})).status_code == 303
    assert await DeliverableComment.count() == 1


async def test_staff_of_another_workspace_get_404_and_change_nothing(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    other = await make_workspace("other", "Other Agency")
    stranger = await make_staff(other, "eve@other.example")
    await sign_in_staff(http, other, stranger)
    response = await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "Hijack"})
    assert response.status_code == 404 and "Hijack" not in response.text
    assert await DeliverableComment.count() == 0 and await OutboxMessage.count() == 0


async def test_a_client_session_never_reaches_the_studio_reply(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"{studio_url(world, deliverable)}/reply", {"body": "As staff"})
    assert response.status_code in (303, 401, 403, 404)
    assert not (response.status_code == 303 and "/deliverables/" in response.headers.get("location", ""))
    assert await DeliverableComment.count() == 0 and await OutboxMessage.count() == 0
