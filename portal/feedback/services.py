"""Client feedback: each message becomes an inbox task for the project lead, and an email.

The task, the message and the queued email are written in one transaction, so a
message never exists without the task that makes the team see it. What the client sees
of the task is only its status (received, in progress, done).
"""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import StaffMember
from portal.audit.services import record
from portal.db import engine
from portal.errors import Invalid, NotFound
from portal.feedback import queries
from portal.feedback.tables import FeedbackMessage, FeedbackReply
from portal.feedback.views import (
    INBOX_STATUSES,
    STATUS_FILTERS,
    Draft,
    InboxFilters,
    InboxItem,
    InboxPage,
    MessageView,
    inbox_item,
    message_view,
)
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.access import get_visible_project
from portal.projects.tables import Project, Task
from portal.projects.views import ProjectView, project_header
from portal.settings import Settings

SUBJECT_MAX = 200  # FeedbackMessage.subject is a varchar(200)
MESSAGE_MAX = 5000
REPLY_MAX = 5000


@dataclass(frozen=True)
class FeedbackTab:
    project: ProjectView
    messages: list[MessageView]
    draft: Draft


def validate(subject: str, message: str) -> tuple[str, str]:
    """The cleaned (subject, message); ``Invalid`` with an error per missing or too long field."""
    subject = " ".join(subject.split())  # one line: it becomes a task title and email subject
    message = message.replace("\r\n", "\n").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Enter a subject."
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = f"Keep the subject to {SUBJECT_MAX} characters or fewer."
    if not message:
        errors["message"] = "Write your message."
    elif len(message) > MESSAGE_MAX:
        errors["message"] = f"Keep the message to {MESSAGE_MAX} characters or fewer (it has {len(message)})."
    if errors:
        raise Invalid(errors)
    return subject, message


async def feedback_tab(client: Principal, project_id: int, draft: Draft | None = None) -> FeedbackTab:
    """The client's own earlier messages on a visible project, newest first."""
    project = await get_visible_project(client, project_id)
    messages: dict[int, dict] = {}
    replies: dict[int, list[dict]] = {}
    for row in await queries.own_messages(project["id"], client.workspace_id, client.user_id):
        messages.setdefault(row["id"], row)
        if row["reply_id"] is not None:
            replies.setdefault(row["id"], []).append(
                {"author_name": row["author_name"], "body": row["reply_body"], "created_at": row["reply_at"]})
    views = [message_view(row, replies.get(key)) for key, row in messages.items()]
    return FeedbackTab(project_header(project), views, draft or Draft())


async def _recipient(project: dict) -> dict | None:
    """The project lead, or (no lead, or an inactive one) the workspace's owner, then an admin."""
    rows = await StaffMember.select(StaffMember.id, StaffMember.email, StaffMember.name, StaffMember.role).where(
        (StaffMember.workspace == project["workspace"]) & (StaffMember.active == True)  # noqa: E712
    ).order_by(StaffMember.id)
    by_id = {row["id"]: row for row in rows}
    if project["lead"] in by_id:
        return by_id[project["lead"]]
    for role in ("owner", "admin"):
        for row in rows:
            if row["role"] == role:
                return row
    return None


async def send_feedback(
    settings: Settings, client: Principal, project_id: int, subject: str, message: str, request: Request | None = None,
) -> None:
    """Save the message, its inbox task and the lead's email; ``Invalid`` (nothing written) for bad input."""
    project = await get_visible_project(client, project_id)
    subject, message = validate(subject, message)
    async with engine().write_transaction():
        lead = await _recipient(project)
        task = await Task.insert(Task(
            workspace=client.workspace_id, project=project["id"], kind="inbox", title=subject,
            details=message, status="todo", assignee=lead["id"] if lead else None,
        )).returning(Task.id)
        saved = await FeedbackMessage.insert(FeedbackMessage(
            workspace=client.workspace_id, project=project["id"], client_user=client.user_id,
            author_email=client.email, subject=subject, body=message, task=task[0]["id"],
        )).returning(FeedbackMessage.id)
        await record("feedback_sent", workspace_id=client.workspace_id, actor=client, request=request,
                     target_type="feedback_message", target_id=saved[0]["id"], project_id=project["id"],
                     task_id=task[0]["id"], subject=subject)
        if lead is not None:
            # Staff mail: sent even while the portal is switched off for clients.
            await enqueue_email(
                settings, workspace_id=client.workspace_id, to=lead["email"], template="feedback_received",
                to_client=False, context={
                    "recipient_name": lead["name"], "client_name": client.display_name, "client_email": client.email,
                    "project_name": project["name"], "subject": subject, "message": message,
                    "inbox_url": f"{settings.base_url}/studio/inbox",
                },
            )


# Studio (staff)

_TASK_COLUMNS = (
    Task.id, Task.title, Task.details, Task.status, Task.created_at, Task.project, Task.assignee,
    Task.project.name.as_alias("project_name"), Task.project.organisation.name.as_alias("organisation"),
    Task.assignee.name.as_alias("assignee_name"), Task.assignee.email.as_alias("assignee_email"),
)


def _inbox_tasks(staff: Principal):
    return (Task.workspace == staff.workspace_id) & (Task.kind == "inbox")


async def _items(staff: Principal, tasks: list[dict]) -> list[InboxItem]:
    """Inbox items for ``tasks`` with their client message and replies: two queries whatever the number."""
    if not tasks:
        return []
    ids = [t["id"] for t in tasks]
    rows = await FeedbackMessage.select(
        FeedbackMessage.id, FeedbackMessage.task, FeedbackMessage.author_email, FeedbackMessage.subject,
        FeedbackMessage.client_user.name.as_alias("client_name"),
    ).where(FeedbackMessage.task.is_in(ids) & (FeedbackMessage.workspace == staff.workspace_id))
    messages = {row["task"]: row for row in rows}
    replies: dict[int, list[dict]] = {}
    for reply in await FeedbackReply.select(
        FeedbackReply.message.task.as_alias("task"), FeedbackReply.author_name, FeedbackReply.body,
        FeedbackReply.created_at,
    ).where(
        FeedbackReply.message.task.is_in(ids) & (FeedbackReply.workspace == staff.workspace_id)
    ).order_by(FeedbackReply.created_at).order_by(FeedbackReply.id):
        replies.setdefault(reply["task"], []).append(reply)
    items = [inbox_item(task, messages.get(task["id"]), replies.get(task["id"])) for task in tasks]
    items.sort(key=lambda item: not item.open)  # stable: keeps newest first within each group
    return items


async def team(staff: Principal) -> list[tuple[int, str]]:
    """The workspace's active staff as (id, name) for the assignee choices."""
    rows = await StaffMember.select(StaffMember.id, StaffMember.name, StaffMember.email).where(
        (StaffMember.workspace == staff.workspace_id) & (StaffMember.active == True)  # noqa: E712
    ).order_by(StaffMember.name).order_by(StaffMember.id)
    return [(row["id"], row["name"] or row["email"]) for row in rows]


def clean_filters(staff: Principal, status: str, project: str, assignee: str) -> InboxFilters:
    """The inbox filters from the query string; anything unknown falls back to the default (open, all)."""
    status = status if status in STATUS_FILTERS else "open"
    project_id = int(project) if project.isdigit() and len(project) < 10 else None
    if assignee not in ("me", "none") and not (assignee.isdigit() and len(assignee) < 10):
        assignee = ""
    if assignee.isdigit() and int(assignee) == staff.user_id:
        assignee = "me"
    return InboxFilters(status, project_id, assignee)


async def inbox(staff: Principal, status: str = "open", project: str = "", assignee: str = "") -> InboxPage:
    """The workspace's inbox tasks, filtered (default: the open ones), open first, newest first."""
    filters = clean_filters(staff, status, project, assignee)
    where = _inbox_tasks(staff)
    statuses = STATUS_FILTERS[filters.status][1]
    if statuses:
        where &= Task.status.is_in(list(statuses))
    if filters.project is not None:
        where &= Task.project == filters.project
    if filters.assignee == "me":
        where &= Task.assignee == staff.user_id
    elif filters.assignee == "none":
        where &= Task.assignee.is_null()
    elif filters.assignee:
        where &= Task.assignee == int(filters.assignee)
    tasks = await Task.select(*_TASK_COLUMNS).where(where).order_by(
        Task.created_at, ascending=False).order_by(Task.id, ascending=False)
    projects = await Project.select(Project.id, Project.name).where(
        Project.workspace == staff.workspace_id).order_by(Project.name).order_by(Project.id)
    return InboxPage(await _items(staff, tasks), filters, [(p["id"], p["name"]) for p in projects], await team(staff))


async def inbox_task(staff: Principal, task_id: int) -> InboxItem:
    """One inbox task of the staff member's workspace with its message and replies, or 404."""
    tasks = await Task.select(*_TASK_COLUMNS).where(_inbox_tasks(staff) & (Task.id == task_id))
    if not tasks:
        raise NotFound()
    return (await _items(staff, tasks))[0]


async def project_feedback(staff: Principal, project_id: int) -> tuple[dict, list[InboxItem]]:
    """A project of the workspace (id, name, status, client) and all its feedback tasks, open first; 404 outside."""
    project = await Project.select(
        Project.id, Project.name, Project.status, Project.organisation.name.as_alias("client"),
    ).where((Project.id == project_id) & (Project.workspace == staff.workspace_id)).first()
    if project is None:
        raise NotFound()
    tasks = await Task.select(*_TASK_COLUMNS).where(_inbox_tasks(staff) & (Task.project == project["id"])).order_by(
        Task.created_at, ascending=False).order_by(Task.id, ascending=False)
    return project, await _items(staff, tasks)


async def _existing_task(staff: Principal, task_id: int) -> None:
    """404 unless ``task_id`` is an inbox task of the staff member's workspace (checked before any form)."""
    if not await Task.exists().where(_inbox_tasks(staff) & (Task.id == task_id)):
        raise NotFound()


async def set_inbox_status(staff: Principal, task_id: int, status: str, request: Request | None = None) -> None:
    """Move an inbox task of the staff member's workspace to todo, in_progress or done.

    The task is looked up first: another workspace's id is a 404 whatever the form says.
    """
    await _existing_task(staff, task_id)
    if status not in INBOX_STATUSES:
        raise Invalid({"status": "Choose To do, In progress or Done."})
    updated = await Task.update({
        Task.status: status, Task.completed_at: clock.now() if status == "done" else None,
    }).where(_inbox_tasks(staff) & (Task.id == task_id)).returning(Task.id)
    if not updated:
        raise NotFound()
    await record("inbox_status_changed", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="task", target_id=task_id, status=status)


async def assign(staff: Principal, task_id: int, assignee: str, request: Request | None = None) -> None:
    """Give an inbox task to an active member of the workspace ("" leaves it unassigned).

    Any other id (another workspace's staff, a removed member, garbage) is ``Invalid``.
    """
    await _existing_task(staff, task_id)
    assignee = assignee.strip()
    member = None
    if assignee:
        member = int(assignee) if assignee.isdigit() and len(assignee) < 10 else None
        if member is None or member not in dict(await team(staff)):
            raise Invalid({"assignee": "Choose a member of your team."})
    await Task.update({Task.assignee: member}).where(_inbox_tasks(staff) & (Task.id == task_id))
    await record("inbox_assigned", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="task", target_id=task_id, assignee=member)


def validate_reply(body: str) -> str:
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise Invalid({"body": "Write your reply."})
    if len(body) > REPLY_MAX:
        raise Invalid({"body": f"Keep the reply to {REPLY_MAX} characters or fewer (it has {len(body)})."})
    return body


async def reply(settings: Settings, staff: Principal, task_id: int, body: str, request: Request | None = None) -> None:
    """Answer the client's message behind an inbox task: saved, shown on their Feedback tab, emailed to them.

    ``Invalid`` (nothing written) for an empty or too long reply, or a task no client wrote.
    """
    await _existing_task(staff, task_id)
    body = validate_reply(body)
    message = await FeedbackMessage.select(
        FeedbackMessage.id, FeedbackMessage.project, FeedbackMessage.subject, FeedbackMessage.author_email,
        FeedbackMessage.client_user, FeedbackMessage.client_user.name.as_alias("client_name"),
        FeedbackMessage.client_user.email.as_alias("client_email"),
        FeedbackMessage.project.name.as_alias("project_name"),
    ).where((FeedbackMessage.task == task_id) & (FeedbackMessage.workspace == staff.workspace_id)).first()
    if message is None:
        raise Invalid({"body": "This task has no client message to reply to."})
    author = staff.display_name
    async with engine().write_transaction():
        saved = await FeedbackReply.insert(FeedbackReply(
            workspace=staff.workspace_id, message=message["id"], staff=staff.user_id, author_name=author, body=body,
        )).returning(FeedbackReply.id)
        await record("feedback_replied", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="feedback_message", target_id=message["id"], task_id=task_id,
                     project_id=message["project"], reply_id=saved[0]["id"])
        to = message["client_email"] or message["author_email"]
        if to and message["client_user"] is not None:
            try:
                await enqueue_email(
                    settings, workspace_id=staff.workspace_id, to=to, template="feedback_reply", to_client=True,
                    context={
                        "recipient_name": message["client_name"], "author_name": author,
                        "subject": message["subject"], "project_name": message["project_name"], "reply": body,
                        "path": f"/projects/{message['project']}/feedback",
                    },
                )
            except PortalDisabled:
                pass  # the reply waits on the Feedback tab for when the portal is back
