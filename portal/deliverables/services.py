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
import unicodedata
from pathlib import PurePosixPath

from litestar import Request
from piccolo.columns.combination import Or

from portal import clock
from portal.accounts.sessions import Principal
from portal.accounts.tables import StaffMember
from portal.audit.services import client_ip, record
from portal.db import engine, for_update
from portal.deliverables import queries
from portal.deliverables.queries import DELIVERABLE_COLUMNS
from portal.deliverables.serving import is_inline
from portal.deliverables.tables import (
    CLIENT_VISIBLE_STATUSES,
    DELIVERABLE_STATUSES,
    Deliverable,
    DeliverableComment,
    DeliverableVersion,
    ReviewDecision,
)
from portal.deliverables.views import (
    DECISION_LABELS,
    AwaitingReview,
    DeliverableCard,
    DeliverableDetail,
    awaiting_review,
    deliverable_cards,
    deliverable_detail,
)
from portal.errors import Conflict, Invalid, NotFound
from portal.files import services as files
from portal.files.storage import PREVIEW_TYPES, EmptyUpload, Source, UploadTooLarge, store_stream
from portal.mail.outbox import PortalDisabled, enqueue_email
from portal.projects.access import get_visible_project
from portal.projects.tables import Project, ProjectAccess
from portal.settings import Settings
from portal.workspaces.plans import require

MAX_COMMENT = 5000


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
    row = await queries.client_deliverable(deliverable_id, project["id"], client.workspace_id)
    if row is None:
        raise NotFound()
    return project, row


async def cards(workspace_id: int, project_id: int, base: str, *, client_view: bool = True) -> list[DeliverableCard]:
    """The project's deliverables, waiting for review first (two queries, whatever the count).

    ``client_view`` keeps to client-visible statuses (the portal); the studio sees all.
    """
    statuses = CLIENT_VISIBLE_STATUSES if client_view else DELIVERABLE_STATUSES
    rows = await queries.card_rows(project_id, workspace_id, statuses)
    versions = await queries.versions_of([row["id"] for row in rows])
    return deliverable_cards(rows, versions, base)


async def waiting_for(client: Principal, project_ids: list[int], portal_base: str) -> list[AwaitingReview]:
    """What waits for the client's review in the projects they see (``project_ids``, the visible ones)."""
    return awaiting_review(await queries.waiting_for_review(client.workspace_id, project_ids), portal_base)


async def detail(row: dict, base: str, *, shown: int | None = None, viewer_client: int | None = None) -> DeliverableDetail:
    """Everything a deliverable's page shows (three queries); ``row`` comes from a scoped lookup."""
    deliverable_id = row["id"]
    return deliverable_detail(row, await queries.versions(deliverable_id), await queries.decisions(deliverable_id),
                              await queries.comments(deliverable_id), base, shown=shown, viewer_client=viewer_client)


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


async def _lead_addresses(workspace_id: int, lead_id: int | None, fallback_roles: tuple[str, ...] = ("owner",)) -> list[str]:
    """The project's active lead; without one, the workspace's active staff in ``fallback_roles``."""
    if lead_id:
        lead = await StaffMember.select(StaffMember.email).where(
            (StaffMember.id == lead_id) & (StaffMember.workspace == workspace_id) & StaffMember.active.eq(True)
        ).first()
        if lead:
            return [lead["email"]]
    fallback = await StaffMember.select(StaffMember.email).where(
        (StaffMember.workspace == workspace_id) & StaffMember.role.is_in(list(fallback_roles))
        & StaffMember.active.eq(True)
    )
    return sorted({row["email"] for row in fallback})


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


async def version_preview(deliverable_id: int, number: int) -> str:
    """The SHA-256 of a version's preview (a PDF's first page, a video's frame) of an already
    scoped deliverable, or 404 (no such version, or no preview made)."""
    row = await DeliverableVersion.select(DeliverableVersion.stored_file.thumbnail_sha256.as_alias("sha")).where(
        (DeliverableVersion.deliverable == deliverable_id) & (DeliverableVersion.number == number)
        & DeliverableVersion.content_type.is_in(sorted(PREVIEW_TYPES))
    ).first()
    if row is None or not row["sha"]:
        raise NotFound()
    return row["sha"]


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


# Staff actions: create, edit, upload a version, mark ready, delete.
#
# Every lookup is scoped to the staff member's workspace (404 otherwise), and every
# change re-reads the deliverable inside a write transaction and refuses with 409
# once it is approved: an approval locks the deliverable for staff too.
#
# Uploading a new version takes a deliverable that clients can see (ready for review,
# changes requested) back to "in progress": clients see it again, with the new
# version, when staff mark it Ready for Review, which emails them.

MAX_TITLE = 200
MAX_TEXT = 5000


async def staff_project(staff: Principal, project_id: int) -> dict:
    """A project of the staff member's workspace, or 404."""
    row = await Project.select(
        Project.id, Project.name, Project.status, Project.lead, Project.organisation.name.as_alias("client")
    ).where((Project.id == project_id) & (Project.workspace == staff.workspace_id)).first()
    if row is None:
        raise NotFound()
    return row


async def staff_deliverable(staff: Principal, project_id: int, deliverable_id: int, *, lock: bool = False) -> dict:
    """A deliverable of that project in the staff member's workspace, or 404."""
    query = Deliverable.select(*DELIVERABLE_COLUMNS).where(
        (Deliverable.id == deliverable_id)
        & (Deliverable.project == project_id)
        & (Deliverable.workspace == staff.workspace_id)
    )
    row = await (for_update(query) if lock else query).first()
    if row is None:
        raise NotFound()
    return row


def clean_fields(title: str, description: str) -> tuple[str, str]:
    """Trimmed title and description, or ``Invalid``."""
    title, description = title.strip(), description.strip()
    errors = {}
    if not title:
        errors["title"] = "Give the deliverable a title."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Keep the title under {MAX_TITLE} characters."
    if len(description) > MAX_TEXT:
        errors["description"] = f"Keep the description under {MAX_TEXT} characters."
    if errors:
        raise Invalid(errors)
    return title, description


def clean_filename(name: str | None) -> str:
    """The last path part of an uploaded name, without control characters, at most 255 long."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip().lstrip(".")
    return base[-255:] or "file"


async def create(staff: Principal, project_id: int, *, title: str, description: str, request: Request | None = None) -> int:
    """A new draft deliverable in one of the workspace's projects; returns its id."""
    await staff_project(staff, project_id)
    title, description = clean_fields(title, description)
    rows = await Deliverable.insert(
        Deliverable(
            workspace=staff.workspace_id, project=project_id, title=title, description=description,
            status="draft", created_by=staff.user_id,
        )
    ).returning(Deliverable.id)
    await record("deliverable.created", workspace_id=staff.workspace_id, actor=staff, request=request,
                 target_type="deliverable", target_id=rows[0]["id"])
    return rows[0]["id"]


async def edit(staff: Principal, project_id: int, deliverable_id: int, *, title: str, description: str) -> None:
    """Change title and description; 409 once approved."""
    ensure_unlocked(await staff_deliverable(staff, project_id, deliverable_id))
    title, description = clean_fields(title, description)
    async with engine().write_transaction():
        ensure_unlocked(await staff_deliverable(staff, project_id, deliverable_id, lock=True))
        await Deliverable.update(
            {Deliverable.title: title, Deliverable.description: description, Deliverable.updated_at: clock.now()}
        ).where(Deliverable.id == deliverable_id)


async def delete(staff: Principal, project_id: int, deliverable_id: int, *, request: Request | None = None) -> None:
    """Delete a deliverable with its versions and thread; 409 once approved."""
    async with engine().write_transaction():
        row = await staff_deliverable(staff, project_id, deliverable_id, lock=True)
        ensure_unlocked(row)
        await Deliverable.delete().where(Deliverable.id == deliverable_id)
        await record("deliverable.deleted", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="deliverable", target_id=deliverable_id, title=row["title"])


async def upload_version(
    settings: Settings,
    staff: Principal,
    project_id: int,
    deliverable_id: int,
    *,
    filename: str | None,
    data: Source | None,
    note: str = "",
    request: Request | None = None,
) -> int:
    """Store ``data`` (the ``UploadFile``, or a file object, chunks, bytes; streamed to
    disk, never read whole) as the next version; returns its number.

    The type is sniffed from the bytes; an image over the pixel limit or undecodable is
    stored as octet-stream, so it is offered as a download and never shown inline.
    409 once approved; ``Invalid`` for a missing, empty or too large file.
    """
    ensure_unlocked(await staff_deliverable(staff, project_id, deliverable_id))
    note = note.strip()
    if data is None:
        raise Invalid({"file": "Choose a file to upload."})
    if len(note) > MAX_TEXT:
        raise Invalid({"note": f"Keep the note under {MAX_TEXT} characters."})
    name = clean_filename(filename)
    # The blob is durable before the row that points at it; outside the transaction
    # so a large fsync does not hold the write lock.
    try:
        stored = await store_stream(settings, staff.workspace_id, data, name)
    except EmptyUpload:
        raise Invalid({"file": "Choose a file to upload."}) from None
    except UploadTooLarge:
        raise Invalid({"file": f"The file is larger than the {settings.max_upload_bytes // (1024 * 1024)} MB limit."}) from None
    # The stored type, not a second sniff: it is the one the image check may have lowered.
    content_type = stored.content_type
    async with engine().write_transaction():
        row = await staff_deliverable(staff, project_id, deliverable_id, lock=True)
        ensure_unlocked(row)
        last = await DeliverableVersion.select(DeliverableVersion.number).where(
            DeliverableVersion.deliverable == deliverable_id
        ).order_by(DeliverableVersion.number, ascending=False).first()
        number = (last["number"] if last else 0) + 1
        await DeliverableVersion.insert(
            DeliverableVersion(
                deliverable=deliverable_id, number=number, stored_file=stored.id, content_sha256=stored.sha256,
                filename=name, content_type=content_type, size=stored.size, note=note, uploaded_by=staff.user_id,
            )
        )
        status = "in_progress" if row["status"] in ("ready_for_review", "changes_requested") else row["status"]
        await Deliverable.update(
            {Deliverable.current_version: number, Deliverable.status: status, Deliverable.updated_at: clock.now()}
        ).where(Deliverable.id == deliverable_id)
        await record("deliverable.version_uploaded", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="deliverable", target_id=deliverable_id, version=number, sha256=stored.sha256)
    return number


async def mark_ready(
    settings: Settings, staff: Principal, project_id: int, deliverable_id: int, *, request: Request | None = None
) -> int:
    """Put the current version up for review and email every client with access.

    Returns the number of emails queued. 409 when approved, already ready, without a
    version, or when the current version already has the client's decision (upload
    a new version first: a version is decided once).
    """
    project = await staff_project(staff, project_id)
    async with engine().write_transaction():
        row = await staff_deliverable(staff, project_id, deliverable_id, lock=True)
        ensure_unlocked(row)
        if row["status"] == "ready_for_review":
            raise Conflict("This deliverable is already waiting for the client's review.")
        if not row["current_version"]:
            raise Conflict("Upload a version before asking for a review.")
        version = await DeliverableVersion.select(DeliverableVersion.id, DeliverableVersion.note).where(
            (DeliverableVersion.deliverable == deliverable_id) & (DeliverableVersion.number == row["current_version"])
        ).first()
        if await ReviewDecision.exists().where(ReviewDecision.version == version["id"]):
            raise Conflict(
                f"The client already decided on version {row['current_version']}. "
                "Upload a new version before asking for another review."
            )
        now = clock.now()
        await Deliverable.update(
            {Deliverable.status: "ready_for_review", Deliverable.ready_at: now, Deliverable.updated_at: now}
        ).where(Deliverable.id == deliverable_id)
        await record("deliverable.ready_for_review", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="deliverable", target_id=deliverable_id, version=row["current_version"])
        return await email_ready_for_review(settings, staff.workspace_id, project, row, version["note"])


# Replies in the deliverable's thread: free text, from the client or from staff.
#
# A reply is conversation, not a change: it is allowed in every client-visible
# status, approved included (the lock keeps the deliverable itself unchanged). Each
# reply is emailed to the other side.


def clean_reply(body: str) -> str:
    """The trimmed reply, or ``Invalid``: empty or longer than ``MAX_COMMENT``."""
    body = (body or "").strip()
    if not body:
        raise Invalid({"body": "Write a reply before sending."})
    if len(body) > MAX_COMMENT:
        raise Invalid({"body": f"Please keep your reply under {MAX_COMMENT} characters (it has {len(body)})."})
    return body


async def _current_version_id(row: dict) -> int | None:
    if not row["current_version"]:
        return None
    version = await DeliverableVersion.select(DeliverableVersion.id).where(
        (DeliverableVersion.deliverable == row["id"]) & (DeliverableVersion.number == row["current_version"])
    ).first()
    return version["id"] if version else None


async def client_reply(
    settings: Settings, client: Principal, *, plan: str, project_id: int, deliverable_id: int, body: str,
    request: Request | None = None,
) -> int:
    """A client's reply in the thread; returns the number of staff emailed.

    404 outside the client's deliverables, 403 on a plan without approvals,
    ``Invalid`` for an empty or too long reply (nothing saved).
    """
    project, row = await client_deliverable(client, project_id, deliverable_id)
    require(plan, "approvals")
    body = clean_reply(body)
    async with engine().write_transaction():
        comment = await DeliverableComment.insert(
            DeliverableComment(deliverable=deliverable_id, version=await _current_version_id(row),
                               client_user=client.user_id, body=body, created_at=clock.now())
        ).returning(DeliverableComment.id)
        await record("deliverable.replied", workspace_id=client.workspace_id, actor=client, request=request,
                     target_type="deliverable", target_id=deliverable_id, comment_id=comment[0]["id"])
        context = {
            "author": client.display_name or client.email, "author_email": client.email, "from_client": True,
            "project_name": project["name"], "title": row["title"], "body": body,
            "url": f"{settings.base_url}/studio/projects/{project['id']}/deliverables/{row['id']}",
        }
        sent = 0
        for address in await _lead_addresses(client.workspace_id, project["lead"], ("owner", "admin")):
            await enqueue_email(settings, workspace_id=client.workspace_id, to=address,
                                template="deliverable_reply", context=context)
            sent += 1
    return sent


async def staff_reply(
    settings: Settings, staff: Principal, project_id: int, deliverable_id: int, *, body: str,
    request: Request | None = None,
) -> int:
    """A staff reply in the thread; returns the number of clients emailed.

    404 outside the staff member's workspace; ``Invalid`` for an empty or too long
    reply. Clients with a live grant are emailed a link to the deliverable in their
    portal when they can see it (client-visible status) and the portal is on.
    """
    project = await staff_project(staff, project_id)
    row = await staff_deliverable(staff, project_id, deliverable_id)
    body = clean_reply(body)
    async with engine().write_transaction():
        comment = await DeliverableComment.insert(
            DeliverableComment(deliverable=deliverable_id, version=await _current_version_id(row),
                               staff=staff.user_id, body=body, created_at=clock.now())
        ).returning(DeliverableComment.id)
        await record("deliverable.replied", workspace_id=staff.workspace_id, actor=staff, request=request,
                     target_type="deliverable", target_id=deliverable_id, comment_id=comment[0]["id"])
        if row["status"] not in CLIENT_VISIBLE_STATUSES:
            return 0  # clients cannot open it yet: no email pointing at a 404
        context = {
            "author": staff.display_name or staff.email, "author_email": "", "from_client": False,
            "project_name": project["name"], "title": row["title"], "body": body,
            "path": f"/projects/{project['id']}/deliverables/{row['id']}",
        }
        sent = 0
        for address in await review_recipients(staff.workspace_id, project_id):
            try:
                await enqueue_email(settings, workspace_id=staff.workspace_id, to=address,
                                    template="deliverable_reply_client", context=context, to_client=True)
            except PortalDisabled:
                return 0
            sent += 1
    return sent


async def approved_use_of(workspace_id: int, stored_file_id: int, sha256: str) -> str:
    """Why a project file must not be deleted: an approved deliverable of the workspace
    has a version with the same stored bytes (same ``StoredFile`` or same SHA-256); else "".
    """
    row = await DeliverableVersion.select(
        DeliverableVersion.number, DeliverableVersion.deliverable.title.as_alias("title"),
    ).where(
        (DeliverableVersion.deliverable.workspace == workspace_id)
        & (DeliverableVersion.deliverable.status == "approved")
        & Or(DeliverableVersion.stored_file == stored_file_id, DeliverableVersion.content_sha256 == sha256)
    ).first()
    if row is None:
        return ""
    return (
        f"This file cannot be deleted: it is version {row['number']} of the approved deliverable "
        f"\"{row['title']}\", whose record must keep its file. Nothing was changed."
    )


files.DELETE_GUARDS.append(approved_use_of)
