"""Feedback, rule by rule: the limits and exact messages of a message and a reply, who gets
the task, every row and field a message or a reply writes, the inbox filters and lists, and
the audit events of sending, replying, assigning and moving a task."""

from __future__ import annotations

import datetime as dt

import pytest

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import ClientOrganisation, ClientUser, StaffMember
from portal.errors import Invalid, NotFound
from portal.feedback import services
from portal.feedback.services import MESSAGE_MAX, REPLY_MAX, SUBJECT_MAX
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.feedback.views import Draft, InboxFilters
from portal.mail.tables import OutboxMessage
from portal.projects.tables import Project, Task
from portal.workspaces.tables import Workspace
from tests.audit import events, only_event, who
from tests.factories import insert, make_project, make_staff, make_task, make_workspace
from tests.fixtures import post_form, sign_in_client, sign_in_staff


def olivia(world, **fields) -> Principal:
    values = {"kind": "staff", "user_id": world.staff, "workspace_id": world.workspace,
              "email": "olivia@acme.example", "name": "Olivia Owner", "session_id": 0, "role": "owner"}
    return Principal(**{**values, **fields})


def alice(world) -> Principal:
    return Principal(kind="client", user_id=world.alice, workspace_id=world.workspace,
                     email="alice@northwind.example", name="Alice Andrews", session_id=0)


def carol(world) -> Principal:
    return Principal(kind="client", user_id=world.carol, workspace_id=world.workspace,
                     email="carol@globex.example", name="Carol Chen", session_id=0)


async def send(settings, world, subject: str, message: str = "Hello team", who_sends=None, project=None) -> int:
    """A client's message through the service; its inbox task id."""
    await services.send_feedback(settings, who_sends or alice(world), project or world.project_a, subject, message)
    return (await Task.select(Task.id).where(Task.title == subject).first())["id"]


def refused(call, *args) -> dict:
    with pytest.raises(Invalid) as caught:
        call(*args)
    return caught.value.errors


# Validation


def test_a_message_is_cleaned_and_its_limits_are_inclusive():
    assert services.validate("  Store \t locator\r\n ", " Line one\r\nLine two \n") == ("Store locator",
                                                                                        "Line one\nLine two")
    assert services.validate("s" * SUBJECT_MAX, "m" * MESSAGE_MAX) == ("s" * SUBJECT_MAX, "m" * MESSAGE_MAX)


def test_a_bad_message_gets_the_exact_message_per_field():
    assert refused(services.validate, "", "") == {"subject": "Enter a subject.", "message": "Write your message."}
    assert refused(services.validate, "s" * (SUBJECT_MAX + 1), "m" * (MESSAGE_MAX + 1)) == {
        "subject": "Keep the subject to 200 characters or fewer.",
        "message": "Keep the message to 5000 characters or fewer (it has 5001).",
    }
    assert refused(services.validate, "Fine", " \r\n ") == {"message": "Write your message."}
    assert refused(services.validate, " \t ", "Fine") == {"subject": "Enter a subject."}


def test_a_reply_is_cleaned_and_its_limit_is_inclusive():
    assert services.validate_reply(" Thanks\r\nOlivia ") == "Thanks\nOlivia"
    assert services.validate_reply("r" * REPLY_MAX) == "r" * REPLY_MAX
    assert refused(services.validate_reply, " \r\n") == {"body": "Write your reply."}
    assert refused(services.validate_reply, "r" * (REPLY_MAX + 1)) == {
        "body": "Keep the reply to 5000 characters or fewer (it has 5001)."}


# Sending


async def test_a_message_writes_its_task_its_row_its_audit_event_and_the_leads_email(settings, world, http):
    lead = await make_staff(world.workspace, "lena@acme.example", role="member", name="Lena Lead")
    await Project.update({Project.lead: lead}).where(Project.id == world.project_a)
    await sign_in_client(http, world.workspace, world.alice)

    response = await post_form(http, f"/p/acme/projects/{world.project_a}/feedback",
                               {"subject": "Store  locator", "message": "Shops on a map.\r\nPlease."})

    assert response.status_code == 303
    [task] = await Task.select(Task.id, Task.workspace, Task.project, Task.kind, Task.title, Task.details,
                               Task.status, Task.assignee).where(Task.kind == "inbox")
    assert task == {"id": task["id"], "workspace": world.workspace, "project": world.project_a, "kind": "inbox",
                    "title": "Store locator", "details": "Shops on a map.\nPlease.", "status": "todo",
                    "assignee": lead}
    [message] = await FeedbackMessage.select(
        FeedbackMessage.id, FeedbackMessage.workspace, FeedbackMessage.project, FeedbackMessage.client_user,
        FeedbackMessage.author_email, FeedbackMessage.subject, FeedbackMessage.body, FeedbackMessage.task)
    assert message == {"id": message["id"], "workspace": world.workspace, "project": world.project_a,
                       "client_user": world.alice, "author_email": "alice@northwind.example",
                       "subject": "Store locator", "body": "Shops on a map.\nPlease.", "task": task["id"]}
    event = await only_event("feedback_sent")
    assert who(event) == (world.workspace, "client", world.alice, True)
    assert (event["target_type"], event["target_id"], event["project"]) == (
        "feedback_message", message["id"], world.project_a)
    assert event["detail"] == {"project_id": world.project_a, "task_id": task["id"], "subject": "Store locator"}
    [mail] = await OutboxMessage.select()
    assert (mail["workspace"], mail["to_address"], mail["kind"]) == (world.workspace, "lena@acme.example",
                                                                      "feedback_received")
    assert mail["text_body"].strip() == (
        "Hello Lena Lead,\n\n"
        "Alice Andrews (alice@northwind.example) sent feedback on Northwind website.\n\n"
        "Subject: Store locator\n\n"
        "Shops on a map.\nPlease.\n\n"
        "It is in your inbox as a task: http://127.0.0.1:8000/studio/inbox")


async def test_the_leads_email_goes_out_while_the_portal_is_off(settings, world):
    await Workspace.update({Workspace.portal_enabled: False}).where(Workspace.id == world.workspace)
    await send(settings, world, "While closed")
    assert [m["to_address"] for m in await OutboxMessage.select(OutboxMessage.to_address)] == ["olivia@acme.example"]


async def test_the_first_owner_then_the_first_admin_get_a_leaderless_message(settings, world):
    await Project.update({Project.lead: None}).where(Project.id == world.project_a)
    second_owner = await make_staff(world.workspace, "otto@acme.example", role="owner")
    admin = await make_staff(world.workspace, "ada@acme.example", role="admin")
    first = await send(settings, world, "One")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    second = await send(settings, world, "Two")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == second_owner)
    third = await send(settings, world, "Three")
    assignees = {t["id"]: t["assignee"] for t in await Task.select(Task.id, Task.assignee).where(Task.kind == "inbox")}
    assert assignees == {first: world.staff, second: second_owner, third: admin}
    assert [m["to_address"] for m in await OutboxMessage.select(OutboxMessage.to_address).order_by(OutboxMessage.id)] == [
        "olivia@acme.example", "otto@acme.example", "ada@acme.example"]


async def test_a_lead_of_another_workspace_is_not_the_recipient(settings, world):
    other = await make_workspace("other", "Other Agency")
    outsider = await make_staff(other, "mallory@other.example")
    await Project.update({Project.lead: outsider}).where(Project.id == world.project_a)
    await send(settings, world, "Whose?")
    assert (await Task.select(Task.assignee).where(Task.kind == "inbox").first())["assignee"] == world.staff


async def test_with_no_active_owner_or_admin_the_task_is_unassigned_and_no_email_is_sent(settings, world):
    await Project.update({Project.lead: None}).where(Project.id == world.project_a)
    await make_staff(world.workspace, "member@acme.example", role="member")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == world.staff)
    task = await send(settings, world, "Anyone there?")
    assert (await Task.select(Task.assignee).where(Task.id == task).first())["assignee"] is None
    assert await FeedbackMessage.count() == 1 and await OutboxMessage.count() == 0


# The client's tab


async def test_the_tab_shows_each_message_once_with_its_own_replies_oldest_first(settings, world):
    first = await send(settings, world, "First", "One")
    second = await send(settings, world, "Second", "Two")
    await send(settings, world, "Carol's", "Not Alice's", who_sends=carol(world), project=world.project_b)
    staff = olivia(world)
    await services.reply(settings, staff, first, "Answer A")
    await services.reply(settings, olivia(world, name=""), first, "Answer B")
    await services.set_inbox_status(staff, second, "done")

    tab = await services.feedback_tab(alice(world), world.project_a)

    assert tab.draft == Draft()
    assert tab.project.name == "Northwind website"
    assert [(m.subject, m.body, m.status, m.status_label) for m in tab.messages] == [
        ("Second", "Two", "done", "Done"), ("First", "One", "received", "Received")]
    assert tab.messages[0].replies == ()
    assert [(r.author, r.body) for r in tab.messages[1].replies] == [("Olivia Owner", "Answer A"),
                                                                       ("olivia@acme.example", "Answer B")]
    draft = Draft("Kept", "", {"message": "Write your message."})
    assert (await services.feedback_tab(alice(world), world.project_a, draft)).draft is draft


# Filters


def test_the_inbox_filters_fall_back_to_open_and_anyone():
    staff = Principal(kind="staff", user_id=7, workspace_id=1, email="s@x", name="", session_id=0, role="owner")
    clean = services.clean_filters
    assert clean(staff, "bogus", "", "") == InboxFilters("open", None, "")
    assert clean(staff, "done", "123456789", "123456789") == InboxFilters("done", 123456789, "123456789")
    assert clean(staff, "all", "1234567890", "1234567890") == InboxFilters("all", None, "")
    assert clean(staff, "todo", "-3", "-3") == InboxFilters("todo", None, "")
    assert clean(staff, "in_progress", "12", "me") == InboxFilters("in_progress", 12, "me")
    assert clean(staff, "open", "x1", "none") == InboxFilters("open", None, "none")
    assert clean(staff, "open", "", "7") == InboxFilters("open", None, "me")
    assert clean(staff, "open", "", "8") == InboxFilters("open", None, "8")


async def test_the_inbox_lists_projects_and_team_in_name_order_and_filters_by_assignee(settings, world):
    zed = await make_staff(world.workspace, "zed@acme.example", role="member", name="Zed")
    nameless = await make_staff(world.workspace, "anna@acme.example", role="member")
    gone = await make_staff(world.workspace, "gone@acme.example", role="member", name="Gone")
    await StaffMember.update({StaffMember.active: False}).where(StaffMember.id == gone)
    other = await make_workspace("other", "Other Agency")
    await make_staff(other, "mallory@other.example", name="Mallory")
    mine = await send(settings, world, "Mine")
    zeds = await send(settings, world, "Zed's", who_sends=carol(world), project=world.project_b)
    await services.assign(olivia(world), zeds, str(zed))
    nobodys = await send(settings, world, "Nobody's")
    await services.assign(olivia(world), nobodys, "")
    staff = olivia(world)

    page = await services.inbox(staff)

    assert page.projects == [(world.project_b, "Globex rebrand"), (world.project_a, "Northwind website")]
    assert page.team == [(nameless, "anna@acme.example"), (world.staff, "Olivia Owner"), (zed, "Zed")]
    assert await services.team(staff) == page.team
    assert page.filters == InboxFilters("open", None, "")
    assert [i.id for i in page.items] == [nobodys, zeds, mine]

    def ids(page) -> list[int]:
        return [item.id for item in page.items]

    assert ids(await services.inbox(staff, assignee="me")) == [mine]
    assert ids(await services.inbox(staff, assignee=str(world.staff))) == [mine]
    assert ids(await services.inbox(staff, assignee=str(zed))) == [zeds]
    assert ids(await services.inbox(staff, assignee="none")) == [nobodys]
    assert ids(await services.inbox(staff, project=str(world.project_b))) == [zeds]


async def test_an_inbox_item_carries_the_message_the_client_and_the_assignee(settings, world):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member")
    task = await send(settings, world, "Store locator", "Shops on a map.")
    await services.assign(olivia(world), task, str(sam))
    await services.reply(settings, olivia(world), task, "On it")
    message = await FeedbackMessage.select(FeedbackMessage.id).first()

    [item] = (await services.inbox(olivia(world))).items

    assert item == await services.inbox_task(olivia(world), task)
    assert (item.id, item.subject, item.message, item.status, item.status_label) == (
        task, "Store locator", "Shops on a map.", "todo", "To do")
    assert (item.project_id, item.project_name, item.organisation) == (world.project_a, "Northwind website", "Northwind")
    assert (item.client_name, item.client_email, item.message_id) == ("Alice Andrews", "alice@northwind.example",
                                                                      message["id"])
    assert (item.assignee_id, item.assignee_name) == (sam, "sam@acme.example")
    assert [(r.author, r.body) for r in item.replies] == [("Olivia Owner", "On it")]


async def test_the_inbox_puts_open_tasks_first_newest_first_within_each(settings, world):
    oldest_done = await send(settings, world, "Oldest, done")
    old_open = await send(settings, world, "Old, open")
    new_done = await send(settings, world, "New, done")
    newest_open = await send(settings, world, "Newest, open")
    start = clock.now()
    for offset, task in enumerate((oldest_done, old_open, new_done, newest_open)):
        await Task.update({Task.created_at: start + dt.timedelta(minutes=offset)}).where(Task.id == task)
    for task in (oldest_done, new_done):
        await services.set_inbox_status(olivia(world), task, "done")
    staff = olivia(world)

    everything = await services.inbox(staff, status="all")
    project, items = await services.project_feedback(staff, world.project_a)

    assert [i.id for i in everything.items] == [newest_open, old_open, new_done, oldest_done]
    assert [i.id for i in items] == [newest_open, old_open, new_done, oldest_done]
    assert project == {"id": world.project_a, "name": "Northwind website", "status": "active", "client": "Northwind"}


async def test_tasks_created_at_the_same_moment_are_listed_by_id_newest_first(settings, world):
    first = await send(settings, world, "First")
    second = await send(settings, world, "Second")
    moment = clock.now().replace(microsecond=0)
    await Task.update({Task.created_at: moment}).where(Task.kind == "inbox")
    staff = olivia(world)
    assert [i.id for i in (await services.inbox(staff)).items] == [second, first]
    assert [i.id for i in (await services.project_feedback(staff, world.project_a))[1]] == [second, first]


async def test_the_projects_feedback_lists_only_that_projects_inbox_tasks(settings, world):
    ours = await send(settings, world, "Ours")
    await send(settings, world, "Theirs", who_sends=carol(world), project=world.project_b)
    await make_task(world.workspace, world.project_a, "Internal work")
    project, items = await services.project_feedback(olivia(world), world.project_a)
    assert [i.id for i in items] == [ours]
    other = await make_workspace("other", "Other Agency")
    outsider = Principal(kind="staff", user_id=await make_staff(other, "m@other.example"), workspace_id=other,
                         email="m@other.example", name="", session_id=0, role="owner")
    with pytest.raises(NotFound):
        await services.project_feedback(outsider, world.project_a)
    with pytest.raises(NotFound):
        await services.inbox_task(outsider, ours)


async def test_replies_of_another_workspace_never_join_an_item(settings, world):
    task = await send(settings, world, "Ours")
    message = (await FeedbackMessage.select(FeedbackMessage.id).first())["id"]
    other = await make_workspace("other", "Other Agency")
    await FeedbackReply.insert(FeedbackReply(workspace=other, message=message, author_name="Mallory", body="Injected"))
    assert (await services.inbox_task(olivia(world), task)).replies == ()


# Status, assignee, replies


async def test_a_status_change_touches_that_task_only_sets_and_clears_completion_and_is_audited(settings, world, http):
    task = await send(settings, world, "Move me")
    other = await send(settings, world, "Leave me")
    await sign_in_staff(http, world.workspace, world.staff)

    assert (await post_form(http, f"/studio/inbox/{task}/status", {"status": "done"})).status_code == 303
    rows = {r["id"]: r for r in await Task.select(Task.id, Task.status, Task.completed_at).where(Task.kind == "inbox")}
    assert rows[task]["status"] == "done" and rows[task]["completed_at"] is not None
    assert rows[other] == {"id": other, "status": "todo", "completed_at": None}

    await services.set_inbox_status(olivia(world), task, "todo")
    row = await Task.select(Task.status, Task.completed_at).where(Task.id == task).first()
    assert row == {"status": "todo", "completed_at": None}

    first, second = await events("inbox_status_changed")
    assert who(first) == (world.workspace, "staff", world.staff, True)
    assert (first["target_type"], first["target_id"], first["detail"]) == ("task", task, {"status": "done"})
    assert second["detail"] == {"status": "todo"}


async def test_an_unknown_status_gets_the_exact_message(settings, world):
    task = await send(settings, world, "Move me")
    with pytest.raises(Invalid) as caught:
        await services.set_inbox_status(olivia(world), task, "cancelled")
    assert caught.value.errors == {"status": "Choose To do, In progress or Done."}
    with pytest.raises(NotFound):
        await services.set_inbox_status(olivia(world), await make_task(world.workspace, world.project_a, "Work"), "done")


async def test_assigning_touches_that_task_only_and_is_audited(settings, world, http):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam")
    task = await send(settings, world, "Give me")
    other = await send(settings, world, "Keep me")
    await sign_in_staff(http, world.workspace, world.staff)

    assert (await post_form(http, f"/studio/inbox/{task}/assign", {"assignee": f" {sam} "})).status_code == 303
    await services.assign(olivia(world), task, "  ")

    first, second = await events("inbox_assigned")
    assert who(first) == (world.workspace, "staff", world.staff, True)
    assert (first["target_type"], first["target_id"], first["detail"]) == ("task", task, {"assignee": sam})
    assert second["detail"] == {"assignee": None}
    rows = {r["id"]: r["assignee"] for r in await Task.select(Task.id, Task.assignee).where(Task.kind == "inbox")}
    assert rows == {task: None, other: world.staff}


async def test_an_assignee_outside_the_team_gets_the_exact_message(settings, world):
    task = await send(settings, world, "Give me")
    for value in ("1234567890", "x", "999999"):
        with pytest.raises(Invalid) as caught:
            await services.assign(olivia(world), task, value)
        assert caught.value.errors == {"assignee": "Choose a member of your team."}
    assert (await Task.select(Task.assignee).where(Task.id == task).first())["assignee"] == world.staff


async def test_a_reply_writes_its_row_its_audit_event_and_the_clients_email(settings, world, http):
    task = await send(settings, world, "Store locator")
    message = (await FeedbackMessage.select(FeedbackMessage.id).first())["id"]
    await OutboxMessage.delete(force=True)
    await sign_in_staff(http, world.workspace, world.staff)

    response = await post_form(http, f"/studio/inbox/{task}/reply", {"body": "A map by Friday."})

    assert response.status_code == 303
    [reply] = await FeedbackReply.select(FeedbackReply.id, FeedbackReply.workspace, FeedbackReply.message,
                                         FeedbackReply.staff, FeedbackReply.author_name, FeedbackReply.body)
    assert reply == {"id": reply["id"], "workspace": world.workspace, "message": message, "staff": world.staff,
                     "author_name": "Olivia Owner", "body": "A map by Friday."}
    event = await only_event("feedback_replied")
    assert who(event) == (world.workspace, "staff", world.staff, True)
    assert (event["target_type"], event["target_id"], event["project"]) == ("feedback_message", message,
                                                                           world.project_a)
    assert event["detail"] == {"task_id": task, "project_id": world.project_a, "reply_id": reply["id"]}
    [mail] = await OutboxMessage.select()
    assert (mail["workspace"], mail["to_address"], mail["kind"]) == (world.workspace, "alice@northwind.example",
                                                                      "feedback_reply")
    assert mail["text_body"].strip() == (
        "Hello Alice Andrews,\n\n"
        "Olivia Owner of Acme Agency replied to your message \"Store locator\" on Northwind website:\n\n"
        "A map by Friday.\n\n"
        "See it on your Feedback tab:\n"
        f"http://127.0.0.1:8000/p/acme/projects/{world.project_a}/feedback\n\n"
        "Acme Agency")


async def test_a_reply_goes_to_the_clients_current_address(settings, world):
    task = await send(settings, world, "Store locator")
    await ClientUser.update({ClientUser.email: "alice@new.example"}).where(ClientUser.id == world.alice)
    await OutboxMessage.delete(force=True)
    await services.reply(settings, olivia(world), task, "Noted")
    assert [m["to_address"] for m in await OutboxMessage.select(OutboxMessage.to_address)] == ["alice@new.example"]


async def test_a_task_without_a_message_gets_the_exact_refusal(settings, world):
    await send(settings, world, "A real message")  # another task's message is not this task's
    task = await make_task(world.workspace, world.project_a, "By hand", kind="inbox")
    with pytest.raises(Invalid) as caught:
        await services.reply(settings, olivia(world), task, "Hello?")
    assert caught.value.errors == {"body": "This task has no client message to reply to."}
    assert await FeedbackReply.count() == 0 and await events("feedback_replied") == []


async def test_an_item_keeps_the_clients_subject_when_the_task_is_retitled(settings, world):
    task = await send(settings, world, "Store locator")
    await Task.update({Task.title: "Map of shops (sprint 3)"}).where(Task.id == task)
    assert (await services.inbox_task(olivia(world), task)).subject == "Store locator"
    by_hand = await make_task(world.workspace, world.project_a, "Call the printer", kind="inbox")
    assert (await services.inbox_task(olivia(world), by_hand)).subject == "Call the printer"


async def test_filtering_by_a_member_keeps_the_other_filters(settings, world):
    sam = await make_staff(world.workspace, "sam@acme.example", role="member", name="Sam")
    open_task = await send(settings, world, "Open for Sam")
    done_task = await send(settings, world, "Done by Sam")
    for task in (open_task, done_task):
        await services.assign(olivia(world), task, str(sam))
    await services.set_inbox_status(olivia(world), done_task, "done")
    await make_task(world.workspace, world.project_a, "Sam's work task", assignee=sam)
    other = await make_workspace("other", "Other Agency")
    await make_task(other, await _project_of(other), "Elsewhere", kind="inbox", assignee=sam)
    staff = olivia(world)
    assert [i.id for i in (await services.inbox(staff, assignee=str(sam))).items] == [open_task]
    assert [i.id for i in (await services.inbox(staff, "done", "", str(sam))).items] == [done_task]
    assert [i.id for i in (await services.inbox(staff, "all", str(world.project_b), str(sam))).items] == []


async def _project_of(workspace: int) -> int:
    return await make_project(workspace, await insert(ClientOrganisation(workspace=workspace, name="Initech")), "Site")


async def test_a_reply_is_attached_to_that_tasks_message(settings, world):
    await send(settings, world, "First")
    second = await send(settings, world, "Second")
    message = (await FeedbackMessage.select(FeedbackMessage.id).where(FeedbackMessage.subject == "Second").first())["id"]
    await OutboxMessage.delete(force=True)
    await services.reply(settings, olivia(world), second, "About the second")
    assert [r["message"] for r in await FeedbackReply.select(FeedbackReply.message)] == [message]
    assert (await only_event("feedback_replied"))["target_id"] == message
    [mail] = await OutboxMessage.select(OutboxMessage.subject)
    assert mail["subject"] == "Reply to your message: Second"


async def test_a_reply_to_a_message_whose_client_is_gone_is_kept_and_emails_nobody(settings, world):
    task = await send(settings, world, "Store locator")
    await FeedbackMessage.update({FeedbackMessage.client_user: None}).where(FeedbackMessage.task == task)
    await OutboxMessage.delete(force=True)
    await services.reply(settings, olivia(world), task, "Anyone?")
    assert [r["body"] for r in await FeedbackReply.select(FeedbackReply.body)] == ["Anyone?"]
    assert len(await events("feedback_replied")) == 1
    assert await OutboxMessage.count() == 0
