"""View objects for deliverable pages: built for the page, never table rows.

Pure shaping of rows the services read (``portal.deliverables.queries``): the same
builders serve the portal and the studio, which passes its own URL base.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portal.deliverables.serving import is_inline
from portal.formats import size_label

#: Labels clients and staff read; draft and in_progress are never shown to clients.
STATUS_LABELS = {
    "draft": "Draft",
    "in_progress": "In progress",
    "ready_for_review": "Ready for review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
}
DECISION_LABELS = {"approved": "Approved", "changes_requested": "Requested changes"}

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
    #: A PDF's first page or a video's frame (WebP), once made; None before or without one.
    preview_url: str | None = None
    #: The preview is still being made (the card shows a placeholder meanwhile).
    preview_pending: bool = False


@dataclass(frozen=True)
class AwaitingReview:
    """A deliverable waiting for the client's decision, as the portal home lists it."""

    title: str
    project_name: str
    url: str
    ready_at: dt.datetime | None


def awaiting_review(rows: list[dict], portal_base: str) -> list[AwaitingReview]:
    return [AwaitingReview(row["title"], row["project_name"],
                           f"{portal_base}/projects/{row['project']}/deliverables/{row['id']}", row["ready_at"])
            for row in rows]


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
        preview_url=f"{base}/versions/{row['number']}/preview" if kind in ("pdf", "video") and row.get("thumbnail_sha256") else None,
        preview_pending=row.get("preview_status") == "pending",
    )


def deliverable_cards(rows: list[dict], versions: list[dict], base: str) -> list[DeliverableCard]:
    """Cards of these deliverable rows, waiting for review first, each with its current version."""
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


def deliverable_detail(row: dict, versions: list[dict], decisions: list[dict], comments: list[dict], base: str, *,
                       shown: int | None = None, viewer_client: int | None = None) -> DeliverableDetail:
    """Everything the detail page shows; ``shown`` picks a version (default: current)."""
    url = f"{base}/{row['id']}"
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
