"""The inbox's task page: staff reply to a client's message and assign it; the client sees the replies."""

from __future__ import annotations

import re

import httpx

from portal.audit.tables import AuditEvent
from portal.db import count_queries
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Task
from portal.workspaces.tables import Workspace
from tests.factories import insert, make_staff, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def client_http(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")


async def send(app, world, client_user: int, project: int, subject: str, message: str = "Hello team") -> int:
    """A client's message through the portal; returns its inbox task id."""
    async with client_http(app) as http:
        await sign_in_client(http, world.workspace, client_user)
        response = await post_form(http, f"/p/acme/projects/{project}/feedback", {"subject": subject, "message": message})
        assert response.status_code == 303
    return (await Task.select(Task.id).where(Task.title == subject).first())["id"]


async def feedback_tab(app, world, client_user: int, project: int) -> str:
    async with client_http(app) as http:
        await sign_in_client(http, world.workspace, client_user)
        response = await http.get(f"/p/acme/projects/{project}/feedback")
        assert response.status_code == 200
        return response.text


async def client_mail() -> list[dict]:
    return await OutboxMessage.select().where(OutboxMessage.subject.like("Reply to your message%"))


async def test_a_reply_reaches_the_clients_feedback_tab_and_their_outbox(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator", "Shops on a map, please.")
    await sign_in_staff(http, world.workspace, world.staff)
    page = await http.get(f"/studio/inbox/{task}")
    assert page.status_code == 200 and "Shops on a map, please." in page.text and 'data-testid="reply-form"' in page.text

    response = await post_form(http, f"/studio/inbox/{task}/reply", {"body": "On it: a map by Friday.\r\nThanks!"})

    assert response.status_code == 303 and response.headers["location"] == f"/studio/inbox/{task}"
    replies = await FeedbackReply.select()
    assert len(replies) == 1
    assert replies[0]["body"] == "On it: a map by Friday.\nThanks!" and replies[0]["staff"] == world.staff
    assert replies[0]["author_name"] == "Olivia Owner" and replies[0]["workspace"] == world.workspace
    after = (await http.get(f"/studio/inbox/{task}")).text
    assert "Reply sent to the client." in after and after.count('data-testid="inbox-reply"') == 1

    tab = await feedback_tab(app, world, world.alice, world.project_a)
    assert tab.count('data-testid="feedback-reply"') == 1
    assert "On it: a map by Friday." in tab and "Olivia Owner" in tab
    assert re.findall(r'data-testid="feedback-status">([^<]+)<', tab) == ["Received"]
    # Carol, on her own project, sees nothing of it.
    carols = await feedback_tab(app, world, world.carol, world.project_b)
    assert "On it" not in carols and 'data-testid="feedback-reply"' not in carols

    mail = await client_mail()
    assert len(mail) == 1 and mail[0]["to_address"] == "alice@northwind.example"
    assert mail[0]["subject"] == "Reply to your message: Store locator"
    assert "On it: a map by Friday." in mail[0]["text_body"]
    assert f"http://127.0.0.1:8000/p/acme/projects/{world.project_a}/feedback" in mail[0]["text_body"]
    event = await AuditEvent.select().where(AuditEvent.action == "feedback_replied").first()
    assert event["actor_id"] == world.staff and event["project"] == world.project_a


async def test_the_client_sees_the_status_and_replies_in_order(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, f"/studio/inbox/{task}/reply", {"body": "First answer"})
    await post_form(http, f"/studio/inbox/{task}/status", {"status": "in_progress", "back": "task"})
    await post_form(http, f"/studio/inbox/{task}/reply", {"body": "Second answer"})
    tab = await feedback_tab(app, world, world.alice, world.project_a)
    assert re.findall(r'data-testid="feedback-status">([^<]+)<', tab) == ["In progress"]
    assert tab.index("First answer") < tab.index("Second answer")
    assert len(await client_mail()) == 2


async def test_bad_replies_re_render_with_the_error_and_change_nothing(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    await sign_in_staff(http, world.workspace, world.staff)
    outbox_before = await OutboxMessage.count()
    for body, error in (("", "Write your reply."), ("   \r\n  ", "Write your reply."),
                        ("x" * 5001, "Keep the reply to 5000 characters or fewer (it has 5001).")):
        response = await post_form(http, f"/studio/inbox/{task}/reply", {"body": body})
        assert response.status_code == 422
        assert error in response.text and 'data-testid="inbox-errors"' in response.text
        assert 'id="field-body" name="body" aria-invalid="true"' in response.text
    long = await post_form(http, f"/studio/inbox/{task}/reply", {"body": "y" * 5001})
    assert "y" * 5001 in long.text  # the typed text stays in the form
    assert await FeedbackReply.count() == 0 and await OutboxMessage.count() == outbox_before
    assert await AuditEvent.count().where(AuditEvent.action == "feedback_replied") == 0


async def test_a_task_without_a_client_message_cannot_be_replied_to(http, world):
    task = await insert(Task(workspace=world.workspace, project=world.project_a, kind="inbox", title="Made by hand"))
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(f"/studio/inbox/{task}")).text
    assert 'data-testid="reply-form"' not in page and "no one to reply to" in page
    response = await post_form(http, f"/studio/inbox/{task}/reply", {"body": "Hello?"})
    assert response.status_code == 422 and "no client message to reply to" in response.text
    assert await FeedbackReply.count() == 0


async def test_assigning_to_a_team_member_and_back_to_nobody(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam Member")
    await sign_in_staff(http, world.workspace, world.staff)
    response = await post_form(http, f"/studio/inbox/{task}/assign", {"assignee": str(sam)})
    assert response.status_code == 303 and response.headers["location"] == f"/studio/inbox/{task}"
    assert (await Task.select(Task.assignee).where(Task.id == task).first())["assignee"] == sam
    inbox = (await http.get(f"/studio/inbox?assignee={sam}")).text
    assert inbox.count('data-testid="inbox-item"') == 1 and "Assigned to Sam Member" in inbox
    assert (await http.get("/studio/inbox?assignee=me")).text.count('data-testid="inbox-item"') == 0
    # The client never sees who is assigned.
    tab = await feedback_tab(app, world, world.alice, world.project_a)
    assert "Sam Member" not in tab and "Assigned" not in tab
    await post_form(http, f"/studio/inbox/{task}/assign", {"assignee": ""})
    assert (await Task.select(Task.assignee).where(Task.id == task).first())["assignee"] is None
    assert (await http.get("/studio/inbox?assignee=none")).text.count('data-testid="inbox-item"') == 1


async def test_an_assignee_from_another_workspace_or_removed_is_invalid(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example")
    gone = await make_staff(world.workspace, "gone@acme.example", role="member")
    from portal.accounts.tables import StaffMember

    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    await sign_in_staff(http, world.workspace, world.staff)
    for value in (str(mallory), str(gone), "abc", "99999"):
        response = await post_form(http, f"/studio/inbox/{task}/assign", {"assignee": value})
        assert response.status_code == 422, value
        assert "Choose a member of your team." in response.text
        assert 'id="field-assignee" name="assignee" aria-invalid="true"' in response.text
    assert (await Task.select(Task.assignee).where(Task.id == task).first())["assignee"] == world.staff
    assert await AuditEvent.count().where(AuditEvent.action == "inbox_assigned") == 0


async def test_staff_of_another_workspace_get_404_with_real_input_and_change_nothing(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    other = await make_workspace("other", "Other Agency")
    mallory = await make_staff(other, "mallory@other.example")
    await sign_in_staff(http, other, mallory)
    assert (await http.get(f"/studio/inbox/{task}")).status_code == 404
    assert (await post_form(http, f"/studio/inbox/{task}/reply", {"body": "Hijacked"})).status_code == 404
    assert (await post_form(http, f"/studio/inbox/{task}/assign", {"assignee": str(mallory)})).status_code == 404
    assert (await post_form(http, f"/studio/inbox/{task}/status", {"status": "done"})).status_code == 404
    assert (await http.get(f"/studio/projects/{world.project_a}/feedback")).status_code == 404
    row = await Task.select(Task.assignee, Task.status).where(Task.id == task).first()
    assert row == {"assignee": world.staff, "status": "todo"}
    assert await FeedbackReply.count() == 0 and not await client_mail()
    listing = (await http.get("/studio/inbox?status=all")).text
    assert "Store locator" not in listing and 'data-testid="inbox-empty"' in listing
    # A filter naming the other workspace's project shows nothing either.
    assert "Store locator" not in (await http.get(f"/studio/inbox?status=all&project={world.project_a}")).text


async def test_a_member_may_reply_and_assign(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam Member")
    await sign_in_staff(http, world.workspace, sam)
    assert (await post_form(http, f"/studio/inbox/{task}/reply", {"body": "From Sam"})).status_code == 303
    assert (await post_form(http, f"/studio/inbox/{task}/assign", {"assignee": str(sam)})).status_code == 303
    assert (await FeedbackReply.select(FeedbackReply.author_name).first())["author_name"] == "Sam Member"


async def test_no_email_while_the_portal_is_off_but_the_reply_waits(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Store locator")
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    await sign_in_staff(http, world.workspace, world.staff)
    assert (await post_form(http, f"/studio/inbox/{task}/reply", {"body": "Later"})).status_code == 303
    assert await FeedbackReply.count() == 1 and not await client_mail()


async def test_the_inbox_filters(app, http, world):
    a = await send(app, world, world.alice, world.project_a, "Alpha")
    b = await send(app, world, world.carol, world.project_b, "Bravo")
    await send(app, world, world.alice, world.project_a, "Charlie")
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, f"/studio/inbox/{a}/status", {"status": "done"})
    await post_form(http, f"/studio/inbox/{b}/status", {"status": "in_progress"})

    def titles(html: str) -> list[str]:
        return [t.removeprefix("Feedback: ") for t in
                re.findall(r'data-testid="inbox-title"><a href="/studio/inbox/\d+">([^<]+)</a>', html)]

    assert titles((await http.get("/studio/inbox")).text) == ["Charlie", "Bravo"]
    assert titles((await http.get("/studio/inbox?status=done")).text) == ["Alpha"]
    assert titles((await http.get("/studio/inbox?status=in_progress")).text) == ["Bravo"]
    assert titles((await http.get("/studio/inbox?status=all")).text) == ["Charlie", "Bravo", "Alpha"]
    assert titles((await http.get(f"/studio/inbox?status=all&project={world.project_a}")).text) == ["Charlie", "Alpha"]
    page = (await http.get(f"/studio/inbox?status=todo&project={world.project_b}")).text
    assert titles(page) == [] and "No messages match these filters." in page


async def test_the_projects_feedback_tab(app, http, world):
    await send(app, world, world.alice, world.project_a, "Alpha")
    await send(app, world, world.carol, world.project_b, "Bravo")
    await sign_in_staff(http, world.workspace, world.staff)
    page = (await http.get(f"/studio/projects/{world.project_a}/feedback")).text
    assert "Alpha" in page and "Bravo" not in page
    assert f'href="/studio/projects/{world.project_a}/feedback" aria-current="page"' in page
    task = (await Task.select(Task.id).where(Task.title == "Alpha").first())["id"]
    assert 'name="back" value="project"' in page
    response = await post_form(http, f"/studio/inbox/{task}/status", {"status": "done", "back": "project"})
    assert response.headers["location"] == f"/studio/projects/{world.project_a}/feedback"
    done = (await http.get(response.headers["location"])).text
    assert re.findall(r'data-testid="inbox-status">([^<]+)<', done) == ["Done"]  # done ones stay on the project's tab
    # The other tabs of the project now link to it.
    deliverables = (await http.get(f"/studio/projects/{world.project_a}/deliverables")).text
    assert f'href="/studio/projects/{world.project_a}/feedback"' in deliverables


async def test_the_task_page_and_inbox_query_counts_do_not_grow_with_replies(app, http, world):
    task = await send(app, world, world.alice, world.project_a, "Alpha")
    await sign_in_staff(http, world.workspace, world.staff)
    await post_form(http, f"/studio/inbox/{task}/reply", {"body": "one"})
    with count_queries() as few:
        await http.get(f"/studio/inbox/{task}")
    with count_queries() as few_inbox:
        await http.get("/studio/inbox")
    for i in range(6):
        await post_form(http, f"/studio/inbox/{task}/reply", {"body": f"more {i}"})
    with count_queries() as many:
        assert (await http.get(f"/studio/inbox/{task}")).text.count('data-testid="inbox-reply"') == 7
    with count_queries() as many_inbox:
        await http.get("/studio/inbox")
    assert len(many) == len(few) and len(many_inbox) == len(few_inbox)
    async with client_http(app) as alice:
        await sign_in_client(alice, world.workspace, world.alice)
        with count_queries() as tab:
            page = (await alice.get(f"/p/acme/projects/{world.project_a}/feedback")).text
        assert page.count('data-testid="feedback-reply"') == 7
        await send(app, world, world.alice, world.project_a, "Beta")
        with count_queries() as tab_more:
            await alice.get(f"/p/acme/projects/{world.project_a}/feedback")
    assert len(tab_more) == len(tab)
    assert await FeedbackMessage.count() == 2
