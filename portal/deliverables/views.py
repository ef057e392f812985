"""View objects for deliverable pages: built for the page, never table rows.

The portal's queries only ever ask for client-visible statuses (see
``portal.deliverables.services``); the same detail builder serves the studio, which
passes its own URL base. Query counts are fixed: two for a list, three for a detail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.db import column_list, fetch
from portal.deliverables.services import DECISION_LABELS, STATUS_LABELS
from portal.deliverables.serving import is_inline
from portal.deliverables.tables import (
    CLIENT_VISIBLE_STATUSES,
    DELIVERABLE_STATUSES,
    DeliverableVersion,
)
from portal.web.filters import size_label

STATUS_ORDER = {"ready_for_review": 0, "changes_requested": 1, "in_progress": 2, "draft": 3, "approved": 4}
KIND_LABELS = {"image": "Image", "pdf": "PDF", "video": "Video", "file": "File"}


@dataclass(frozen=True)
class VersionView:
    number: int
    filename: str
    content_type: str
    kind: str  # image, pdf, video or file (download only)
    kind_label: str
    size_label: str
    note: str
    created_at: dt.datetime
    sha256: str
    url: str
    download_url: str
    decision: str = ""
    decision_label: str = ""


@dataclass(frozen=True)
class DeliverableCard:
    id: int
    title: str
    status: str
    status_label: str
    url: str
    updated_at: dt.datetime
    version: VersionView | None


@dataclass(frozen=True)
class ThreadItem:
    author: str
    own: bool
    created_at: dt.datetime
    body: str
    version: int | None
    decision: str = ""
    decision_label: str = ""


@dataclass(frozen=True)
class ApprovalRecord:
    by: str
    email: str
    at: dt.datetime
    version: int
    filename: str
    sha256: str
    ip: str
    user_agent: str


@dataclass(frozen=True)
class DeliverableDetail:
    id: int
    title: str
    description: str
    status: str
    status_label: str
    url: str
    current_version: int
    shown: VersionView | None
    versions: list[VersionView]  # newest first
    thread: list[ThreadItem]
    approval: ApprovalRecord | None

    @property
    def awaiting_review(self) -> bool:
        """Ready for review, and the page shows the version under review."""
        return self.status == "ready_for_review" and self.shown is not None and self.shown.number == self.current_version


def kind_of(content_type: str) -> str:
    if not is_inline(content_type):
        return "file"
    if content_type == "application/pdf":
        return "pdf"
    return content_type.split("/")[0]  # image or video


def _version(row: dict, base: str, decision: str = "") -> VersionView:
    url = f"{base}/versions/{row['number']}/file"
    kind = kind_of(row["content_type"])
    return VersionView(
        number=row["number"], filename=row["filename"], content_type=row["content_type"], kind=kind,
        kind_label=KIND_LABELS[kind], size_label=size_label(row["size"]), note=row["note"],
        created_at=row["created_at"], sha256=row["content_sha256"], url=url, download_url=f"{url}?download=1",
        decision=decision, decision_label=DECISION_LABELS.get(decision, ""),
    )


VERSION_COLUMNS = (
    DeliverableVersion.deliverable,
    DeliverableVersion.number,
    DeliverableVersion.filename,
    DeliverableVersion.content_type,
    DeliverableVersion.size,
    DeliverableVersion.note,
    DeliverableVersion.created_at,
    DeliverableVersion.content_sha256,
)


_CARD_VERSIONS_SQL = (
    f'SELECT {column_list(VERSION_COLUMNS)}'
    ' FROM "deliverable_version" WHERE "deliverable" IN (%IDS%)'
)
_VERSIONS_SQL = (
    f'SELECT {column_list(VERSION_COLUMNS)}'
    ' FROM "deliverable_version" WHERE "deliverable" = {} ORDER BY "number" DESC'
)
_CARDS_SQL = (
    'SELECT "id", "title", "status", "current_version", "updated_at" FROM "deliverable"'
    ' WHERE "project" = {} AND "workspace" = {} AND "status" IN (%STATUSES%) ORDER BY "updated_at" DESC, "id" DESC'
)


async def deliverable_cards(workspace_id: int, project_id: int, base: str, *, client_view: bool = True) -> list[DeliverableCard]:
    """The project's deliverables, waiting for review first, each with its current version.

    ``client_view`` keeps to client-visible statuses (the portal); the studio sees all.
    """
    # Plain SQL: this list is read on every Deliverables tab, and Piccolo's select costs
    # more CPU to build than to run.
    statuses = CLIENT_VISIBLE_STATUSES if client_view else DELIVERABLE_STATUSES
    marks = ", ".join("{}" for _ in statuses)
    rows = await fetch(_CARDS_SQL.replace("%STATUSES%", marks), project_id, workspace_id, *statuses)
    if not rows:
        return []
    marks = ", ".join("{}" for _ in rows)
    versions = await fetch(_CARD_VERSIONS_SQL.replace("%IDS%", marks), *[row["id"] for row in rows])
    current = {(v["deliverable"], v["number"]): v for v in versions}
    cards = []
    # What needs the client's attention first; then most recently updated.
    rows.sort(key=lambda row: STATUS_ORDER.get(row["status"], len(STATUS_ORDER)))
    for row in rows:
        url = f"{base}/{row['id']}"
        version = current.get((row["id"], row["current_version"]))
        cards.append(DeliverableCard(
            id=row["id"], title=row["title"], status=row["status"], status_label=STATUS_LABELS[row["status"]],
            url=url, updated_at=row["updated_at"], version=_version(version, url) if version else None,
        ))
    return cards


_DECISIONS_SQL = (
    'SELECT d."decision", d."comment", d."actor_email", d."client_user", u."name" AS "name", d."content_sha256",'
    ' d."ip", d."user_agent", d."created_at", v."number" AS "number", v."filename" AS "filename"'
    ' FROM "review_decision" d JOIN "deliverable_version" v ON v."id" = d."version"'
    ' LEFT JOIN "client_user" u ON u."id" = d."client_user" WHERE d."deliverable" = {}'
)
_COMMENTS_SQL = (
    'SELECT c."body", c."created_at", c."client_user", u."name" AS "client_name", u."email" AS "client_email",'
    ' s."name" AS "staff_name", v."number" AS "number"'
    ' FROM "deliverable_comment" c LEFT JOIN "client_user" u ON u."id" = c."client_user"'
    ' LEFT JOIN "staff_member" s ON s."id" = c."staff" LEFT JOIN "deliverable_version" v ON v."id" = c."version"'
    ' WHERE c."deliverable" = {}'
)


async def deliverable_detail(row: dict, base: str, *, shown: int | None = None, viewer_client: int | None = None) -> DeliverableDetail:
    """Everything the detail page shows; ``shown`` picks a version (default: current).

    ``row`` is a deliverable already fetched through a scoped lookup.
    """
    url = f"{base}/{row['id']}"
    # Plain SQL: Piccolo spends about a millisecond of CPU building these selects.
    versions = await fetch(_VERSIONS_SQL, row["id"])
    decisions = await fetch(_DECISIONS_SQL, row["id"])
    comments = await fetch(_COMMENTS_SQL, row["id"])
    decided = {d["number"]: d["decision"] for d in decisions}
    views = [_version(v, url, decided.get(v["number"], "")) for v in versions]
    wanted = shown or row["current_version"]
    thread = [
        ThreadItem(
            author=d["name"] or d["actor_email"], own=viewer_client is not None and d["client_user"] == viewer_client,
            created_at=d["created_at"], body=d["comment"], version=d["number"], decision=d["decision"],
            decision_label=DECISION_LABELS[d["decision"]],
        )
        for d in decisions
    ] + [
        ThreadItem(
            author=c["staff_name"] or c["client_name"] or c["client_email"] or "Team",
            own=viewer_client is not None and c["client_user"] == viewer_client,
            created_at=c["created_at"], body=c["body"], version=c["number"],
        )
        for c in comments
    ]
    thread.sort(key=lambda item: item.created_at)
    approval = next((
        ApprovalRecord(
            by=d["name"] or d["actor_email"], email=d["actor_email"], at=d["created_at"], version=d["number"],
            filename=d["filename"], sha256=d["content_sha256"], ip=d["ip"], user_agent=d["user_agent"],
        )
        for d in decisions if d["decision"] == "approved"
    ), None)
    return DeliverableDetail(
        id=row["id"], title=row["title"], description=row["description"], status=row["status"],
        status_label=STATUS_LABELS[row["status"]], url=url, current_version=row["current_version"],
        shown=next((v for v in views if v.number == wanted), views[0] if views else None),
        versions=views, thread=thread, approval=approval,
    )
