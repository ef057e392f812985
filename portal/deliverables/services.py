"""Deliverable rules shared by the portal and the studio, and the client's review.

- Clients reach a deliverable only through a project they may see
  (``portal.projects.access``) and only in a client-visible status; anything else is
  a 404.
- A decision (approve or request changes) is taken on the current version of a
  deliverable that is Ready for Review, inside one write transaction (IMMEDIATE on
  SQLite, ``FOR UPDATE`` on PostgreSQL). ``ReviewDecision.version`` is UNIQUE, so two
  racing clicks give exactly one decision: the loser gets a 409.
- An approved deliverable is locked: nothing may change it (``ensure_unlocked``).
"""

from __future__ import annotations

import datetime as dt

from litestar import Request
from piccolo.columns.combination import Or

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import StaffMember
from portal.audit.services import client_ip, record
from portal.db import column_list, engine, fetch, for_update
from portal.deliverables.serving import is_inline
from portal.deliverables.tables import CLIENT_VISIBLE_STATUSES, Deliverable, DeliverableVersion, ReviewDecision
from portal.errors import Conflict, Invalid, NotFound
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.access import get_visible_project
from portal.projects.tables import ProjectAccess
from portal.settings import Settings
from portal.workspaces.plans import require

#: Labels clients and staff read; draft and in_progress are never shown to clients.
STATUS_LABELS = {
    "draft": "Draft",
    "in_progress": "In progress",
    "ready_for_review": "Ready for review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
}
DECISION_LABELS = {"approved": "Approved", "changes_requested": "Requested changes"}
MAX_COMMENT = 5000

DELIVERABLE_COLUMNS = (
    Deliverable.id,
    Deliverable.project,
    Deliverable.title,
    Deliverable.description,
    Deliverable.status,
    Deliverable.current_version,
    Deliverable.updated_at,
    Deliverable.ready_at,
    Deliverable.approved_at,
)


#: The scoped lookup of every deliverable page, as plain SQL (Piccolo spends about a
#: millisecond of CPU composing it): one deliverable of one project, client-visible only.
_CLIENT_DELIVERABLE_SQL = (
    f'SELECT {column_list(DELIVERABLE_COLUMNS)} FROM "deliverable"'
    ' WHERE "id" = {} AND "project" = {} AND "workspace" = {}'
    f' AND "status" IN ({", ".join("{}" for _ in CLIENT_VISIBLE_STATUSES)})'
)


def locked_message(approved_at: dt.datetime | None) -> str:
    when = f" on {approved_at:%-d %b %Y}" if approved_at else ""
    return (
        f"This deliverable was approved{when} and is locked: it can no longer be edited, "
        "replaced or deleted. Create a new deliverable for further work."
    )


def ensure_unlocked(row: dict) -> None:
    """Refuse (409) any change to an approved deliverable, whoever asks."""
    if row["status"] == "approved":
        raise Conflict(locked_message(row["approved_at"]))


async def client_deliverable(client: Principal, project_id: int, deliverable_id: int) -> tuple[dict, dict]:
    """(project, deliverable) for a client: visible project, client-visible status; else 404."""
    project = await get_visible_project(client, project_id)
    rows = await fetch(_CLIENT_DELIVERABLE_SQL, deliverable_id, project["id"], client.workspace_id, *CLIENT_VISIBLE_STATUSES)
    if not rows:
        raise NotFound()
    return project, rows[0]


def validate_decision(decision: str, comment: str) -> str:
    """The cleaned comment, or ``Invalid``: an unknown decision, a change request without a comment, too long."""
    if decision not in DECISION_LABELS:
        raise Invalid({"decision": "Choose Approve or Request changes."})
    comment = comment.strip()
    if decision == "changes_requested" and not comment:
        raise Invalid({"comment": "Please tell us what should change."})
    if len(comment) > MAX_COMMENT:
        raise Invalid({"comment": f"Please keep it under {MAX_COMMENT} characters."})
    return comment


async def decide(
    settings: Settings,
    client: Principal,
    *,
    plan: str,
    project_id: int,
    deliverable_id: int,
    decision: str,
    version: int,
    comment: str,
    request: Request | None = None,
) -> None:
    """Record the client's approval or change request on ``version`` (the current one).

    ``NotFound`` outside the client's projects, ``Forbidden`` on a plan without
    approvals, ``Invalid`` for bad input (a change request without a comment),
    ``Conflict`` when the deliverable is not waiting for a review, the version is not
    the current one, or another decision won a race. Pins the version's SHA-256, who,
    when, IP and user agent; audits the decision and emails the project lead, all in
    one transaction.
    """
    comment = validate_decision(decision, comment)
    project, _ = await client_deliverable(client, project_id, deliverable_id)
    require(plan, "approvals")
    async with engine().write_transaction():
        row, current = await _reviewable_version(deliverable_id, version)
        now = clock.now()
        decision_id = await _insert_decision(client, request, deliverable_id, current, decision, comment, now)
        changes = {Deliverable.status: decision, Deliverable.updated_at: now}
        if decision == "approved":
            changes[Deliverable.approved_at] = now
        await Deliverable.update(changes).where(Deliverable.id == deliverable_id)
        await record(
            f"deliverable.{decision}", workspace_id=client.workspace_id, actor=client, request=request,
            target_type="deliverable", target_id=deliverable_id, version=version,
            sha256=current["content_sha256"], decision_id=decision_id,
        )
        await _email_lead(settings, client, project, row, version, decision, comment)


async def _reviewable_version(deliverable_id: int, version: int) -> tuple[dict, dict]:
    """(deliverable, version) locked for a decision: waiting for review, ``version`` current; else the refusal."""
    row = await for_update(Deliverable.select(*DELIVERABLE_COLUMNS).where(Deliverable.id == deliverable_id)).first()
    if row is None or row["status"] not in CLIENT_VISIBLE_STATUSES:
        raise NotFound()
    ensure_unlocked(row)
    if row["status"] != "ready_for_review":
        raise Conflict("This deliverable is not waiting for your review any more. Reload the page to see its status.")
    if version != row["current_version"]:
        raise Conflict(
            f"Version {row['current_version']} is the one up for review now. Please reload the page and look at it first."
        )
    current = await DeliverableVersion.select(
        DeliverableVersion.id, DeliverableVersion.content_sha256
    ).where((DeliverableVersion.deliverable == deliverable_id) & (DeliverableVersion.number == version)).first()
    if current is None:
        raise Conflict("This version is no longer available. Reload the page.")
    return row, current


async def _insert_decision(client: Principal, request: Request | None, deliverable_id: int, version: dict,
                           decision: str, comment: str, now) -> int:
    """The new decision's id; ``Conflict`` when the version already has one (its UNIQUE column)."""
    inserted = await ReviewDecision.insert(
        ReviewDecision(
            deliverable=deliverable_id,
            version=version["id"],
            decision=decision,
            client_user=client.user_id,
            actor_email=client.email,
            comment=comment,
            content_sha256=version["content_sha256"],
            ip=client_ip(request)[:45],
            user_agent=(request.headers.get("user-agent", "") if request else "")[:500],
            created_at=now,
        )
    ).on_conflict(target=ReviewDecision.version, action="DO NOTHING").returning(ReviewDecision.id)
    if not inserted:
        raise Conflict("A decision on this version was just recorded by someone else. Reload the page to see it.")
    return inserted[0]["id"]


async def _lead_addresses(workspace_id: int, lead_id: int | None) -> list[str]:
    """The project lead; without an active lead, the workspace's owners."""
    if lead_id:
        lead = await StaffMember.select(StaffMember.email).where(
            (StaffMember.id == lead_id) & (StaffMember.workspace == workspace_id) & StaffMember.active.eq(True)
        ).first()
        if lead:
            return [lead["email"]]
    owners = await StaffMember.select(StaffMember.email).where(
        (StaffMember.workspace == workspace_id) & (StaffMember.role == "owner") & StaffMember.active.eq(True)
    )
    return [row["email"] for row in owners]


async def _email_lead(
    settings: Settings, client: Principal, project: dict, row: dict, version: int, decision: str, comment: str
) -> None:
    context = {
        "client_name": client.display_name,
        "client_email": client.email,
        "project_name": project["name"],
        "title": row["title"],
        "version": version,
        "decision": decision,
        "comment": comment,
        "studio_url": f"{settings.base_url}/studio/projects/{project['id']}/deliverables/{row['id']}",
    }
    for address in await _lead_addresses(client.workspace_id, project["lead"]):
        await enqueue_email(
            settings, workspace_id=client.workspace_id, to=address, template="deliverable_decision", context=context
        )


async def review_recipients(workspace_id: int, project_id: int) -> list[str]:
    """Emails of the active client users with a live (unrevoked, unexpired) grant."""
    rows = await ProjectAccess.select(ProjectAccess.client_user.email.as_alias("email")).where(
        (ProjectAccess.workspace == workspace_id)
        & (ProjectAccess.project == project_id)
        & ProjectAccess.revoked_at.is_null()
        & Or(ProjectAccess.expires_on.is_null(), ProjectAccess.expires_on >= clock.today())
        & ProjectAccess.client_user.active.eq(True)
    )
    return sorted({row["email"] for row in rows})


async def email_ready_for_review(settings: Settings, workspace_id: int, project: dict, row: dict, note: str) -> int:
    """Tell every client with access that ``row`` awaits review; returns the number queued.

    Nothing is sent while the workspace's portal is switched off.
    """
    context = {
        "project_name": project["name"],
        "title": row["title"],
        "version": row["current_version"],
        "note": note,
        "path": f"/projects/{project['id']}/deliverables/{row['id']}",
    }
    sent = 0
    for address in await review_recipients(workspace_id, project["id"]):
        try:
            await enqueue_email(
                settings, workspace_id=workspace_id, to=address, template="deliverable_ready", context=context,
                to_client=True,
            )
        except PortalDisabled:
            return 0
        sent += 1
    return sent


VERSION_FILE_COLUMNS = (
    DeliverableVersion.number,
    DeliverableVersion.filename,
    DeliverableVersion.content_type,
    DeliverableVersion.size,
    DeliverableVersion.content_sha256,
)


async def version_file(deliverable_id: int, number: int) -> dict:
    """The stored-bytes facts of one version of an already scoped deliverable, or 404."""
    row = await DeliverableVersion.select(*VERSION_FILE_COLUMNS).where(
        (DeliverableVersion.deliverable == deliverable_id) & (DeliverableVersion.number == number)
    ).first()
    if row is None:
        raise NotFound()
    return row


async def client_version_file(
    client: Principal, project_id: int, deliverable_id: int, number: int, *, download: bool, request: Request | None = None
) -> dict:
    """A version's file for a client (404 outside their deliverables).

    Downloads (asked for, or a type that is never shown inline) are audited; inline
    views and video range requests are not, or one playback would log dozens.
    """
    await client_deliverable(client, project_id, deliverable_id)
    row = await version_file(deliverable_id, number)
    if download or not is_inline(row["content_type"]):
        await record(
            "deliverable.download", workspace_id=client.workspace_id, actor=client, request=request,
            target_type="deliverable", target_id=deliverable_id, version=number, sha256=row["content_sha256"],
        )
    return row
