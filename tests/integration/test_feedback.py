"""Feedback tab: a message becomes one inbox task for the lead and one email; plan-gated."""

from __future__ import annotations

import re

from portal.accounts.tables import StaffMember
from portal.db import count_queries
from portal.feedback.services import MESSAGE_MAX, SUBJECT_MAX
from portal.feedback.tables import FeedbackMessage
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Project, Task
from portal.workspaces.tables import Workspace
from tests.factories import make_staff
from tests.fixtures import post_form, sign_in_client

GOOD = {"subject": "Store locator", "message": "Could the site show our shops on a map?\r\nCustomers ask weekly."}


def tab_url(world) -> str:
    return f"/p/acme/projects/{world.project_a}/feedback"


async def test_feedback_creates_one_inbox_task_for_the_lead_and_one_email(http, world):
    lead = await make_staff(world.workspace, "lena@acme.example", role="member", name="Lena Lead")
    await Project.update({Project.lead: lead}).where(Project.id == world.project_a)
    await sign_in_client(http, world.workspace, world.alice)

    response = await post_form(http, tab_url(world), GOOD)

    assert response.status_code == 303
    assert response.headers["location"] == f"{tab_url(world)}?sent=1"
    tasks = await Task.select().where(Task.kind == "inbox")
    assert len(tasks) == 1
    task = tasks[0]
    assert (task["assignee"], task["project"], task["status"]) == (lead, world.project_a, "todo")
    assert task["title"] == "Store locator"
    assert task["details"] == "Could the site show our shops on a map?\nCustomers ask weekly."
    messages = await FeedbackMessage.select()
    assert len(messages) == 1
    assert (messages[0]["task"], messages[0]["client_user"], messages[0]["author_email"]) == (
        task["id"], world.alice, "alice@northwind.example"
    )
    mails = await OutboxMessage.select()
    assert len(mails) == 1
    mail = mails[0]
    assert mail["to_address"] == "lena@acme.example" and mail["kind"] == "feedback_received"
    assert mail["subject"] == "New feedback on Northwind website: Store locator"
    assert "Alice Andrews" in mail["text_body"] and "Customers ask weekly." in mail["text_body"]
    assert "http://127.0.0.1:8000/studio/inbox" in mail["html_body"]


async def test_the_client_sees_their_messages_with_a_status_from_the_task(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    await post_form(http, tab_url(world), GOOD)
    await post_form(http, tab_url(world), {"subject": "Second thought", "message": "And a blog?"})

    response = await http.get(f"{tab_url(world)}?sent=1")
    assert 'data-testid="feedback-sent"' in response.text
    assert re.findall(r'data-testid="feedback-status">([^<]+)<', response.text) == ["Received", "Received"]
    assert response.text.index("Second thought") < response.text.index("Store locator")  # newest first

    first = (await FeedbackMessage.select(FeedbackMessage.task).where(FeedbackMessage.subject == "Store locator").first())["task"]
    for status, label in (("in_progress", "In progress"), ("done", "Done")):
        await Task.update({Task.status: status}).where(Task.id == first)
        html = (await http.get(tab_url(world))).text
        assert re.findall(r'data-testid="feedback-status">([^<]+)<', html) == ["Received", label]


async def test_a_client_sees_only_their_own_messages(http, world):
    from tests.factories import grant, make_client

    bob = await make_client(world.workspace, world.org_a, "bob@northwind.example", "Bob")
    await grant(world.workspace, world.project_a, bob)
    await sign_in_client(http, world.workspace, bob)
    await post_form(http, tab_url(world), {"subject": "Bob's private note", "message": "Hi"})
    http.cookies.clear()
    await sign_in_client(http, world.workspace, world.alice)
    assert "Bob&#39;s private note" not in (await http.get(tab_url(world))).text
    assert "private note" not in (await http.get(tab_url(world))).text


async def test_invalid_input_rerenders_the_form_with_the_text_kept_and_saves_nothing(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    cases = [
        ({"subject": "", "message": "Kept <b>text</b>"}, "Enter a subject."),
        ({"subject": "Kept subject", "message": "   "}, "Write your message."),
        ({"subject": "x" * (SUBJECT_MAX + 1), "message": "Fine"}, f"{SUBJECT_MAX} characters or fewer"),
        ({"subject": "Long", "message": "y" * (MESSAGE_MAX + 1)}, f"{MESSAGE_MAX} characters or fewer"),
        ({}, "Enter a subject."),
    ]
    for form, error in cases:
        response = await post_form(http, tab_url(world), form)
        assert response.status_code == 422, form
        assert error in response.text
        assert 'data-testid="feedback-errors"' in response.text
        assert "x-error-message" not in response.headers  # a form with its errors: htmx swaps it in
    response = await post_form(http, tab_url(world), {"subject": "", "message": "Kept <b>text</b>"})
    assert ">Kept &lt;b&gt;text&lt;/b&gt;</textarea>" in response.text
    response = await post_form(http, tab_url(world), {"subject": "Kept subject", "message": ""})
    assert 'value="Kept subject"' in response.text
    assert await FeedbackMessage.count() == 0 and await Task.count().where(Task.kind == "inbox") == 0
    assert await OutboxMessage.count() == 0


async def test_starter_has_no_feedback_tab_and_the_routes_refuse(http, world):
    await Workspace.update({Workspace.plan: "starter"}).where(Workspace.id == world.workspace)
    await sign_in_client(http, world.workspace, world.alice)
    progress = await http.get(f"/p/acme/projects/{world.project_a}")
    assert f'href="{tab_url(world)}"' not in progress.text and ">Feedback</a>" not in progress.text
    assert (await http.get(tab_url(world))).status_code == 403
    response = await post_form(http, tab_url(world), GOOD)
    assert response.status_code == 403 and "not included in the Starter plan" in response.text
    assert await FeedbackMessage.count() == 0 and await Task.count().where(Task.kind == "inbox") == 0


async def test_growth_shows_the_feedback_tab(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    progress = await http.get(f"/p/acme/projects/{world.project_a}")
    assert f'href="{tab_url(world)}"' in progress.text


async def test_without_an_active_lead_the_owner_gets_the_task(http, world):
    await Project.update({Project.lead: None}).where(Project.id == world.project_a)
    await make_staff(world.workspace, "member@acme.example", role="member")
    await sign_in_client(http, world.workspace, world.alice)
    assert (await post_form(http, tab_url(world), GOOD)).status_code == 303
    task = await Task.select(Task.assignee).where(Task.kind == "inbox").first()
    assert task["assignee"] == world.staff  # Olivia, the owner
    assert (await OutboxMessage.select(OutboxMessage.to_address).first())["to_address"] == "olivia@acme.example"

    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    await Project.update({Project.lead: world.staff}).where(Project.id == world.project_a)
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin")
    assert (await post_form(http, tab_url(world), GOOD)).status_code == 303
    assignees = [t["assignee"] for t in await Task.select(Task.assignee).where(Task.kind == "inbox").order_by(Task.id)]
    assert assignees == [world.staff, admin]


async def test_the_tab_query_count_does_not_grow_with_messages(http, world):
    await sign_in_client(http, world.workspace, world.alice)
    await post_form(http, tab_url(world), GOOD)
    await http.get(tab_url(world))
    with count_queries() as few:
        await http.get(tab_url(world))
    for i in range(10):
        await post_form(http, tab_url(world), {"subject": f"Note {i}", "message": "More"})
    with count_queries() as many:
        response = await http.get(tab_url(world))
    assert response.text.count('data-testid="feedback-message"') == 11
    assert len(many) == len(few), (few, many)


async def test_carol_cannot_post_feedback_on_alices_project(http, world):
    await sign_in_client(http, world.workspace, world.carol)
    assert (await post_form(http, tab_url(world), GOOD)).status_code == 404
    assert await FeedbackMessage.count() == 0 and await OutboxMessage.count() == 0
