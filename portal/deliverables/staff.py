"""Staff actions on deliverables: create, edit, upload a version, mark ready, delete.

Every lookup is scoped to the staff member's workspace (404 otherwise), and every
change re-reads the deliverable inside a write transaction and refuses with 409
once it is approved: an approval locks the deliverable for staff too.

Uploading a new version takes a deliverable that clients can see (ready for review,
changes requested) back to "in progress": clients see it again, with the new
version, when staff mark it Ready for Review, which emails them.
"""

from __future__ import annotations

import unicodedata
from pathlib import PurePosixPath

from litestar import Request

from portal import clock
from portal.accounts.sessions import Principal
from portal.audit.services import record
from portal.db import engine
from portal.deliverables.services import (
    DELIVERABLE_COLUMNS,
    email_ready_for_review,
    ensure_unlocked,
    for_update,
)
from portal.deliverables.tables import Deliverable, DeliverableVersion, ReviewDecision
from portal.errors import Conflict, Invalid, NotFound
from portal.files.storage import EmptyUpload, Source, UploadTooLarge, store_stream
from portal.projects.tables import Project
from portal.settings import Settings

MAX_TITLE = 200
MAX_TEXT = 5000


async def staff_project(staff: Principal, project_id: int) -> dict:
    """A project of the staff member's workspace, or 404."""
    row = await Project.select(
        Project.id, Project.name, Project.lead, Project.organisation.name.as_alias("client")
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
