"""Deliverables in the studio, rule by rule: the field limits and their messages, the
refusals of "ready" with their messages, the audit events of create, ready and delete,
and who gets the client's decision (the active lead of the project, else the owners)."""

from __future__ import annotations

import httpx

from portal.accounts.tables import StaffMember
from portal.deliverables.services import MAX_TEXT, MAX_TITLE
from portal.deliverables.tables import Deliverable
from portal.mail.tables import OutboxMessage
from tests.audit import only_event, who
from tests.factories import make_deliverable, make_project, make_staff
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def base(world, project=None) -> str:
    return f"/studio/projects/{project or world.project_a}/deliverables"


async def test_a_created_deliverable_is_a_draft_by_its_author_and_audited(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    created = await post_form(http, base(world), {"title": "  Brand book  ", "description": "  All of it.  "})
    assert created.status_code == 303
    row = await Deliverable.select().first()
    assert (row["title"], row["description"], row["status"], row["created_by"], row["project"]) == (
        "Brand book", "All of it.", "draft", world.staff, world.project_a)
    event = await only_event("deliverable.created")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"]) == ("deliverable", row["id"])


async def test_title_and_description_limits_are_explained(http, world):
    await sign_in_staff(http, world.workspace, world.staff)
    ok = await post_form(http, base(world), {"title": "t" * MAX_TITLE, "description": "d" * MAX_TEXT})
    assert ok.status_code == 303
    refused = await post_form(http, base(world), {"title": "t" * (MAX_TITLE + 1), "description": "d" * (MAX_TEXT + 1)})
    assert refused.status_code == 422
    assert f"Keep the title under {MAX_TITLE} characters." in refused.text
    assert f"Keep the description under {MAX_TEXT} characters." in refused.text
    assert await Deliverable.count() == 1


async def test_ready_is_refused_without_a_version_or_twice_and_audited_once(http, world, settings):
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, base(world), {"title": "Poster", "description": ""})
    draft = (await Deliverable.select(Deliverable.id).first())["id"]
    refused = await post_form(http, f"{base(world)}/{draft}/ready")
    assert refused.status_code == 409 and "Upload a version before asking for a review." in refused.text
    waiting = await make_deliverable(settings, world.workspace, world.project_a, "Logo", status="work_in_progress")
    assert (await post_form(http, f"{base(world)}/{waiting}/ready")).status_code == 303
    again = await post_form(http, f"{base(world)}/{waiting}/ready")
    assert again.status_code == 409 and "This deliverable is already waiting for the client&#39;s review." in again.text
    event = await only_event("deliverable.ready_for_review")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == ("deliverable", waiting, {"version": 1})


async def test_a_deleted_deliverable_is_audited_with_its_title(http, world, settings):
    doomed = await make_deliverable(settings, world.workspace, world.project_a, "Old poster", status="draft")
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"{base(world)}/{doomed}/delete")).status_code == 303
    assert await Deliverable.count() == 0
    event = await only_event("deliverable.deleted")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["detail"]) == ("deliverable", doomed, {"title": "Old poster"})


async def decide(http, world, project: int, deliverable: int) -> None:
    client = httpx.AsyncClient(transport=http._transport, base_url="http://127.0.0.1:8000")
    await sign_in_client(client, world.workspace, world.alice)
    url = f"/p/acme/projects/{project}/deliverables/{deliverable}/approve"
    assert (await post_form(client, url, {"version": "1"})).status_code == 303


async def recipients(template_word: str = "") -> list[str]:
    return sorted(row["to_address"] for row in await OutboxMessage.select(OutboxMessage.to_address))


async def test_the_decision_goes_to_the_active_lead_only(http, world, settings):
    from tests.factories import grant

    lee = await make_staff(world.workspace, "lee@acme.example", role="member")
    await make_staff(world.workspace, "otto@acme.example", role="owner")
    project = await make_project(world.workspace, world.org_a, "Campaign", lead=lee, status="active")
    await grant(world.workspace, project, world.alice)
    deliverable = await make_deliverable(settings, world.workspace, project, "Banner")
    await decide(http, world, project, deliverable)
    assert await recipients() == ["lee@acme.example"]


async def test_without_an_active_lead_the_decision_goes_to_the_owners(http, world, settings):
    from tests.factories import grant

    lee = await make_staff(world.workspace, "lee@acme.example", role="member")
    await make_staff(world.workspace, "otto@acme.example", role="owner")
    await make_staff(world.workspace, "ada@acme.example", role="admin")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == lee)
    project = await make_project(world.workspace, world.org_a, "Campaign", lead=lee, status="active")
    await grant(world.workspace, project, world.alice)
    deliverable = await make_deliverable(settings, world.workspace, project, "Banner")
    await decide(http, world, project, deliverable)
    assert await recipients() == ["olivia@acme.example", "otto@acme.example"]
