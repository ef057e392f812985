"""Approving and requesting changes: the record, the lock, races, emails and audit."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from portal.accounts.sessions import Principal
from portal.audit.tables import AuditEvent
from portal.deliverables.services import decide
from portal.deliverables.tables import Deliverable, DeliverableVersion, ReviewDecision
from portal.errors import Conflict
from portal.mail.tables import OutboxMessage
from tests.factories import PNG_1PX, make_deliverable, make_staff
from tests.fixtures import post_form, sign_in_client

UA = "Mozilla/5.0 (X11; Linux x86_64) ReviewTest/1.0"


def url(world, deliverable: int) -> str:
    return f"/p/acme/projects/{world.project_a}/deliverables/{deliverable}"


def alice(world) -> Principal:
    return Principal("client", world.alice, world.workspace, "alice@northwind.example", "Alice Andrews", 0)


async def status_of(deliverable: int) -> str:
    return (await Deliverable.select(Deliverable.status).where(Deliverable.id == deliverable).first())["status"]


async def test_approval_pins_the_sha256_who_when_ip_and_user_agent(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"{url(world, deliverable)}/approve", {"version": "1"}, headers={"user-agent": UA})
    assert response.status_code == 303
    assert response.headers["location"] == f"{url(world, deliverable)}?done=approved"
    decision = await ReviewDecision.select().where(ReviewDecision.deliverable == deliverable).first()
    assert decision["decision"] == "approved"
    assert decision["content_sha256"] == hashlib.sha256(PNG_1PX).hexdigest()
    assert decision["client_user"] == world.alice and decision["actor_email"] == "alice@northwind.example"
    assert decision["ip"] == "203.0.113.7" and decision["user_agent"] == UA
    row = await Deliverable.select().where(Deliverable.id == deliverable).first()
    assert row["status"] == "approved" and row["approved_at"] is not None
    page = (await http.get(response.headers["location"])).text
    assert 'data-testid="approval-record"' in page and decision["content_sha256"] in page
    assert 'data-testid="decision-done"' in page and 'data-testid="confirm-approve"' not in page
    event = await AuditEvent.select().where(AuditEvent.action == "deliverable.approved").first()
    assert event["actor_email"] == "alice@northwind.example" and event["target_id"] == deliverable
    assert json.loads(event["detail"])["sha256"] == decision["content_sha256"]


async def test_each_decision_emails_the_project_lead(http, world, settings):
    first = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    second = await make_deliverable(settings, world.workspace, world.project_a, "Banner")
    await sign_in_client(http, world.workspace, world.alice)
    await post_form(http, f"{url(world, first)}/approve", {"version": "1"})
    await post_form(http, f"{url(world, second)}/request-changes", {"version": "1", "comment": "Bigger logo, please."})
    mails = await OutboxMessage.select().order_by(OutboxMessage.id)
    assert [m["to_address"] for m in mails] == ["olivia@acme.example", "olivia@acme.example"]
    assert mails[0]["subject"] == "Approved: Poster (version 1)"
    assert mails[1]["subject"] == "Changes requested: Banner (version 1)"
    assert "Bigger logo, please." in mails[1]["text_body"] and "Bigger logo, please." in mails[1]["html_body"]
    assert f"/studio/projects/{world.project_a}/deliverables/{second}" in mails[1]["text_body"]


async def test_request_changes_needs_a_comment_and_changes_nothing_without_one(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"{url(world, deliverable)}/request-changes", {"version": "1", "comment": "   "})
    assert response.status_code == 422
    assert 'data-testid="comment-error"' in response.text and 'aria-invalid="true"' in response.text
    assert await status_of(deliverable) == "ready_for_review"
    assert await ReviewDecision.count() == 0 and await OutboxMessage.count() == 0
    response = await post_form(http, f"{url(world, deliverable)}/request-changes", {"version": "1", "comment": "Warmer."})
    assert response.status_code == 303 and await status_of(deliverable) == "changes_requested"
    page = (await http.get(f"{url(world, deliverable)}")).text
    assert "Warmer." in page and "Requested changes" in page


@pytest.mark.parametrize("status", ["changes_requested", "approved"])
async def test_a_decision_on_a_deliverable_not_ready_for_review_is_409(http, world, settings, status):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster", status)
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"{url(world, deliverable)}/approve", {"version": "1"})
    assert response.status_code == 409
    expected = "is locked" if status == "approved" else "not waiting for your review"
    assert expected in response.text and expected in response.headers["x-error-message"]
    assert await ReviewDecision.count() == 0


async def test_approving_a_stale_version_is_409(http, world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    response = await post_form(http, f"{url(world, deliverable)}/approve", {"version": "2"})
    assert response.status_code == 409 and "Version 1 is the one up for review now" in response.text
    assert await ReviewDecision.count() == 0 and await status_of(deliverable) == "ready_for_review"


async def test_concurrent_approve_and_request_changes_give_exactly_one_decision(world, settings):
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    common = dict(plan="growth", project_id=world.project_a, deliverable_id=deliverable, version=1)
    results = await asyncio.gather(
        decide(settings, alice(world), decision="approved", comment="", **common),
        decide(settings, alice(world), decision="changes_requested", comment="No", **common),
        decide(settings, alice(world), decision="approved", comment="", **common),
        return_exceptions=True,
    )
    winners = [r for r in results if r is None]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 2, results
    decisions = await ReviewDecision.select(ReviewDecision.decision)
    assert len(decisions) == 1 and await status_of(deliverable) == decisions[0]["decision"]
    assert await OutboxMessage.count() == 1  # one email for the one decision


async def test_the_unique_version_column_refuses_a_second_decision(world, settings):
    """Even if the status check were passed, the UNIQUE version column keeps one decision."""
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    version = await DeliverableVersion.select(DeliverableVersion.id).where(DeliverableVersion.deliverable == deliverable).first()
    await ReviewDecision.insert(ReviewDecision(
        deliverable=deliverable, version=version["id"], decision="changes_requested", actor_email="x@example.com",
        content_sha256="0" * 64,
    ))
    with pytest.raises(Conflict) as refused:
        await decide(settings, alice(world), plan="growth", project_id=world.project_a, deliverable_id=deliverable,
                     decision="approved", version=1, comment="")
    assert "just recorded" in refused.value.message
    assert await ReviewDecision.count() == 1 and await status_of(deliverable) == "ready_for_review"
    assert await OutboxMessage.count() == 0


async def test_without_a_lead_the_owners_get_the_decision(http, world, settings):
    from portal.projects.tables import Project

    await Project.update({Project.lead: None}).where(Project.id == world.project_a)
    await make_staff(world.workspace, "member@acme.example", role="member")
    deliverable = await make_deliverable(settings, world.workspace, world.project_a, "Poster")
    await sign_in_client(http, world.workspace, world.alice)
    await post_form(http, f"{url(world, deliverable)}/approve", {"version": "1"})
    assert [m["to_address"] for m in await OutboxMessage.select(OutboxMessage.to_address)] == ["olivia@acme.example"]
