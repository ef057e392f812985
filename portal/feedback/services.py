"""Client feedback: each message becomes an inbox task for the project lead, and an email.

The task, the message and the queued email are written in one transaction, so a
message never exists without the task that makes the team see it. What the client sees
of the task is only its status (received, in progress, done).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import StaffMember
from portal.db import engine
from portal.errors import Invalid, NotFound
from portal.feedback import queries
from portal.feedback.tables import FeedbackMessage
from portal.feedback.views import INBOX_STATUSES, Draft, InboxItem, MessageView, inbox_item, message_view
from portal.mail.outbox import enqueue_email
from portal.projects.access import get_visible_project
from portal.projects.tables import Task
from portal.projects.views import ProjectView, project_header
from portal.settings import Settings

SUBJECT_MAX = 200  # FeedbackMessage.subject is a varchar(200)
MESSAGE_MAX = 5000


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
    rows = await queries.own_messages(project["id"], client.workspace_id, client.user_id)
    return FeedbackTab(project_header(project), [message_view(row) for row in rows], draft or Draft())


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
    settings: Settings, client: Principal, project_id: int, subject: str, message: str
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
        await FeedbackMessage.insert(FeedbackMessage(
            workspace=client.workspace_id, project=project["id"], client_user=client.user_id,
            author_email=client.email, subject=subject, body=message, task=task[0]["id"],
        ))
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


async def inbox(staff: Principal) -> list[InboxItem]:
    """The staff member's inbox tasks across projects, open ones first, newest first."""
    tasks = await Task.select(
        Task.id, Task.title, Task.details, Task.status, Task.created_at, Task.project,
        Task.project.name.as_alias("project_name"), Task.project.organisation.name.as_alias("organisation"),
    ).where(
        (Task.workspace == staff.workspace_id) & (Task.kind == "inbox") & (Task.assignee == staff.user_id)
    ).order_by(Task.created_at, ascending=False).order_by(Task.id, ascending=False)
    messages = {}
    if tasks:
        rows = await FeedbackMessage.select(
            FeedbackMessage.task, FeedbackMessage.author_email, FeedbackMessage.client_user.name.as_alias("client_name"),
        ).where(
            FeedbackMessage.task.is_in([t["id"] for t in tasks]) & (FeedbackMessage.workspace == staff.workspace_id)
        )
        messages = {row["task"]: row for row in rows}
    items = [inbox_item(task, messages.get(task["id"])) for task in tasks]
    items.sort(key=lambda item: not item.open)  # stable: keeps newest first within each group
    return items


async def set_inbox_status(staff: Principal, task_id: int, status: str) -> None:
    """Move an inbox task of the staff member's workspace to todo, in_progress or done.

    The task is looked up first: another workspace's id is a 404 whatever the form says.
    """
    if not await Task.exists().where(
        (Task.id == task_id) & (Task.workspace == staff.workspace_id) & (Task.kind == "inbox")
    ):
        raise NotFound()
    if status not in INBOX_STATUSES:
        raise Invalid({"status": "Choose To do, In progress or Done."})
    updated = await Task.update({
        Task.status: status, Task.completed_at: clock.now() if status == "done" else None,
    }).where(
        (Task.id == task_id) & (Task.workspace == staff.workspace_id) & (Task.kind == "inbox")
    ).returning(Task.id)
    if not updated:
        raise NotFound()
