"""View objects for the Feedback tab and the studio inbox."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: What a client sees of the inbox task behind a message: (badge key, label).
CLIENT_STATUS = {
    "todo": ("received", "Received"),
    "in_progress": ("in_progress", "In progress"),
    "done": ("done", "Done"),
    "cancelled": ("done", "Closed"),
}
#: The statuses staff can set on an inbox task, with their labels.
INBOX_STATUSES = {"todo": "To do", "in_progress": "In progress", "done": "Done"}


@dataclass(frozen=True)
class Draft:
    """A feedback form as typed, cleaned, with an error per field (empty when valid)."""

    subject: str = ""
    message: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class MessageView:
    """A client's own earlier message and where the team is with it."""

    subject: str
    body: str
    sent_at: dt.datetime
    status: str
    status_label: str


@dataclass(frozen=True)
class InboxItem:
    """An inbox task for staff, with the client message that created it (if any)."""

    id: int
    title: str
    message: str
    status: str
    status_label: str
    created_at: dt.datetime
    project_id: int
    project_name: str
    organisation: str
    client_name: str
    client_email: str

    @property
    def open(self) -> bool:
        return self.status in ("todo", "in_progress")


def message_view(row: dict) -> MessageView:
    # A message whose task was deleted still counts as received.
    status, label = CLIENT_STATUS.get(row["task_status"] or "todo", CLIENT_STATUS["todo"])
    return MessageView(row["subject"], row["body"], row["created_at"], status, label)


def inbox_item(task: dict, message: dict | None) -> InboxItem:
    return InboxItem(
        id=task["id"],
        title=task["title"],
        message=task["details"],
        status=task["status"],
        status_label=INBOX_STATUSES.get(task["status"], task["status"].replace("_", " ").capitalize()),
        created_at=task["created_at"],
        project_id=task["project"],
        project_name=task["project_name"],
        organisation=task["organisation"],
        client_name=(message or {}).get("client_name") or "",
        client_email=(message or {}).get("author_email") or "",
    )
