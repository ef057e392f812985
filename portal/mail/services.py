"""The studio's view of the outbox: what was sent, what is waiting, what failed and why.

Owners and admins see only their own workspace's messages; any other id answers 404.
Message bodies are shown only for mail that did not reach its recipient by SMTP (logged
without a mail server, waiting, failed), and never with a personal link in them: a
sign-in or invite link is its recipient's alone (whoever follows it becomes that person),
so it is replaced by a note. Without a mail server such links reach the server log only,
which is the operator's; ``portal login-link`` makes a fresh one for the operator.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from piccolo.query.functions.aggregate import Count

from portal import clock
from portal.accounts.sessions import Principal
from portal.errors import Conflict, NotFound
from portal.mail import outbox
from portal.mail.tables import OutboxMessage

RECENT = 100
#: The list's filters: name -> (label, statuses).
FILTERS = {
    "": ("All", ()),
    "failed": ("Failed", ("failed",)),
    "waiting": ("Waiting", ("pending", "sending")),
    "sent": ("Sent", ("sent",)),
    "logged": ("Not sent", ("logged",)),
}
STATUS_LABELS = {"pending": "Queued", "sending": "Sending", "sent": "Sent", "failed": "Failed", "logged": "Not sent"}
_URL = re.compile(r"https?://[^\s<>\"']+")
#: Links that sign their follower in: magic links and invites, portal and studio alike.
_PERSONAL_LINK = re.compile(r"/login/[^/?#\s]+")
HIDDEN_LINK = "[personal sign-in link, hidden: only the recipient can use it]"


@dataclass(frozen=True)
class MessageRow:
    id: int
    to: str
    subject: str
    status: str
    status_label: str
    attempts: int
    last_error: str
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None


@dataclass(frozen=True)
class BodyPart:
    """A piece of a plain-text body: text, or a link to make clickable."""

    text: str
    url: str = ""
    hidden: bool = False  # a personal link, replaced by a note


@dataclass(frozen=True)
class MessageDetail:
    row: MessageRow
    from_name: str
    kind: str
    body: list[list[list[BodyPart]]] | None  # paragraphs; None: not shown (delivered)


def _row(r: dict) -> MessageRow:
    label = STATUS_LABELS.get(r["status"], r["status"])
    if r["status"] == "pending" and r["attempts"]:
        label = "Retrying"
    return MessageRow(
        id=r["id"], to=r["to_address"], subject=r["subject"], status=r["status"], status_label=label,
        attempts=r["attempts"], last_error=r["last_error"], created_at=r["created_at"],
        next_attempt_at=r["next_attempt_at"] if r["status"] == "pending" else None, sent_at=r["sent_at"],
    )


_COLUMNS = (
    OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.subject, OutboxMessage.status, OutboxMessage.attempts,
    OutboxMessage.last_error, OutboxMessage.created_at, OutboxMessage.next_attempt_at, OutboxMessage.sent_at,
)


async def recent_messages(staff: Principal, filter_name: str = "") -> list[MessageRow]:
    """The workspace's latest messages (newest first), optionally only one kind of status."""
    statuses = FILTERS.get(filter_name, FILTERS[""])[1]
    query = OutboxMessage.select(*_COLUMNS).where(OutboxMessage.workspace == staff.workspace_id)
    if statuses:
        query = query.where(OutboxMessage.status.is_in(list(statuses)))
    return [_row(r) for r in await query.order_by(OutboxMessage.id, ascending=False).limit(RECENT)]


async def status_counts(staff: Principal) -> dict[str, int]:
    """How many of the workspace's messages are in each status."""
    rows = await OutboxMessage.select(OutboxMessage.status, Count()).where(
        OutboxMessage.workspace == staff.workspace_id
    ).group_by(OutboxMessage.status)
    return {r["status"]: r["count"] for r in rows}


async def message_detail(staff: Principal, message_id: int) -> MessageDetail:
    """One message of the staff member's workspace, or 404."""
    r = await OutboxMessage.select(*_COLUMNS, OutboxMessage.from_name, OutboxMessage.kind, OutboxMessage.text_body).where(
        (OutboxMessage.id == message_id) & (OutboxMessage.workspace == staff.workspace_id)
    ).first()
    if r is None:
        raise NotFound()
    body = None if r["status"] == "sent" else paragraphs(r["text_body"])
    if body is not None:
        body = [[[_without_personal_link(part) for part in line] for line in block] for block in body]
    return MessageDetail(row=_row(r), from_name=r["from_name"], kind=r["kind"], body=body)


def linkify(text: str) -> list[BodyPart]:
    """Split ``text`` so the template can make its http(s) links clickable (no |safe)."""
    parts: list[BodyPart] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        if match.start() > position:
            parts.append(BodyPart(text[position:match.start()]))
        parts.append(BodyPart(url, url=url))
        position = match.start() + len(url)
    if position < len(text):
        parts.append(BodyPart(text[position:]))
    return parts


def _without_personal_link(part: BodyPart) -> BodyPart:
    if part.url and _PERSONAL_LINK.search(part.url):
        return BodyPart(HIDDEN_LINK, hidden=True)
    return part


def paragraphs(text: str) -> list[list[list[BodyPart]]]:
    """A plain-text body as paragraphs of lines of parts, for HTML without ``<pre>``."""
    blocks = [block for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]
    return [[linkify(line) for line in block.splitlines()] for block in blocks]


def filter_tabs(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    """(name, label, how many) for each filter of the list."""
    return [
        (name, label, sum(counts.get(s, 0) for s in statuses) if statuses else sum(counts.values()))
        for name, (label, statuses) in FILTERS.items()
    ]


async def retry(staff: Principal, message_id: int) -> None:
    """Queue a failed message of the workspace again, with a fresh set of attempts."""
    r = await OutboxMessage.select(OutboxMessage.status).where(
        (OutboxMessage.id == message_id) & (OutboxMessage.workspace == staff.workspace_id)
    ).first()
    if r is None:
        raise NotFound()
    if r["status"] != "failed":
        raise Conflict("Only a message that failed can be sent again.")
    await OutboxMessage.update(
        {OutboxMessage.status: "pending", OutboxMessage.attempts: 0, OutboxMessage.next_attempt_at: clock.now()}
    ).where((OutboxMessage.id == message_id) & (OutboxMessage.status == "failed"))
    for hook in outbox.ENQUEUE_HOOKS:
        hook()
