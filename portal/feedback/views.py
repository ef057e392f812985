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
class ReplyView:
    """A staff member's reply to a client's message (meant for the client)."""

    author: str
    body: str
    sent_at: dt.datetime


@dataclass(frozen=True)
class MessageView:
    """A client's own earlier message and where the team is with it."""

    subject: str
    body: str
    sent_at: dt.datetime
    status: str
    status_label: str
    replies: tuple[ReplyView, ...] = ()


@dataclass(frozen=True)
class InboxItem:
    """An inbox task for staff, with the client message that created it (if any).

    Every item is titled the same way, "<kind>: <subject>" (``title``); the client, their
    organisation and the project are its meta line.
    """

    id: int
    subject: str
    message: str
    status: str
    status_label: str
    created_at: dt.datetime
    project_id: int
    project_name: str
    organisation: str
    client_name: str
    client_email: str
    message_id: int | None = None
    assignee_id: int | None = None
    assignee_name: str = ""
    replies: tuple[ReplyView, ...] = ()

    kind: str = "Feedback"

    @property
    def title(self) -> str:
        return f"{self.kind}: {self.subject}"

    @property
    def open(self) -> bool:
        return self.status in ("todo", "in_progress")


def reply_view(row: dict) -> ReplyView:
    return ReplyView(row["author_name"] or "The team", row["body"], row["created_at"])


def message_view(row: dict, replies: list[dict] | None = None) -> MessageView:
    # A message whose task was deleted still counts as received.
    status, label = CLIENT_STATUS.get(row["task_status"] or "todo", CLIENT_STATUS["todo"])
    return MessageView(row["subject"], row["body"], row["created_at"], status, label,
                       tuple(reply_view(r) for r in replies or ()))


def _subject(task: dict, message: dict | None) -> str:
    """What the item is about: the client's own subject, else (no message) the task's title."""
    return (message or {}).get("subject") or task["title"]


def inbox_item(task: dict, message: dict | None, replies: list[dict] | None = None) -> InboxItem:
    return InboxItem(
        id=task["id"],
        subject=_subject(task, message),
        message=task["details"],
        status=task["status"],
        status_label=INBOX_STATUSES.get(task["status"], task["status"].replace("_", " ").capitalize()),
        created_at=task["created_at"],
        project_id=task["project"],
        project_name=task["project_name"],
        organisation=task["organisation"],
        client_name=(message or {}).get("client_name") or "",
        client_email=(message or {}).get("author_email") or "",
        message_id=(message or {}).get("id"),
        assignee_id=task.get("assignee"),
        assignee_name=task.get("assignee_name") or task.get("assignee_email") or "",
        replies=tuple(reply_view(r) for r in replies or ()),
    )


#: The inbox's status filter: key -> (label, stored statuses).
STATUS_FILTERS = {
    "open": ("Open (to do or in progress)", ("todo", "in_progress")),
    "todo": ("To do", ("todo",)),
    "in_progress": ("In progress", ("in_progress",)),
    "done": ("Done or closed", ("done", "cancelled")),
    "all": ("All", ()),
}


@dataclass(frozen=True)
class InboxFilters:
    """The inbox filters as chosen (cleaned): status key, project id or None, assignee ("", "me", "none" or an id)."""

    status: str = "open"
    project: int | None = None
    assignee: str = ""

    def query(self) -> str:
        parts = [f"status={self.status}"]
        if self.project is not None:
            parts.append(f"project={self.project}")
        if self.assignee:
            parts.append(f"assignee={self.assignee}")
        return "&".join(parts)


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxItem]
    filters: InboxFilters
    projects: list[tuple[int, str]]
    team: list[tuple[int, str]]


@dataclass(frozen=True)
class ReplyDraft:
    """The reply and assignee forms as typed, with their errors."""

    body: str = ""
    assignee: str = ""
    errors: dict[str, str] = field(default_factory=dict)
