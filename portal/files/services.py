"""Project files: what clients may see and download, and what staff share, upload, delete.

Client reads start from ``get_visible_project`` and see only files that are shared and
not deleted; anything else is a 404 at once (no caching of that decision). Studio
actions are scoped to the staff member's workspace.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from litestar import Request

from portal import clock
from portal.accounts.sessions import Principal
from portal.audit.services import record
from portal.errors import Conflict, Invalid, NotFound
from portal.files import images, queries
from portal.files.storage import EmptyUpload, Source, UploadTooLarge, ensure_thumbnail, store_stream, stored_size
from portal.files.tables import ProjectFile
from portal.files.views import FileView, clean_filename, file_view
from portal.formats import size_label
from portal.projects.access import get_visible_project
from portal.projects.tables import Project
from portal.projects.views import ProjectView, project_header
from portal.settings import Settings

_LIST_COLUMNS = (
    ProjectFile.id,
    ProjectFile.name,
    ProjectFile.created_at,
    ProjectFile.shared,
    ProjectFile.stored_file.content_type,
    ProjectFile.stored_file.size,
    ProjectFile.stored_file.thumbnail_sha256,
    ProjectFile.stored_file.preview_status,
)
_BLOB_COLUMNS = (
    ProjectFile.id,
    ProjectFile.name,
    ProjectFile.stored_file,
    ProjectFile.stored_file.sha256,
    ProjectFile.stored_file.content_type,
    ProjectFile.stored_file.size,
    ProjectFile.stored_file.thumbnail_sha256,
)


@dataclass(frozen=True)
class FilesTab:
    project: ProjectView
    files: list[FileView]


@dataclass(frozen=True)
class Blob:
    """The bytes of one file in the blob store, and the name and type to serve them with."""

    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    stored_file_id: int = 0
    thumbnail_sha256: str | None = None


@dataclass(frozen=True)
class StudioFiles:
    project: dict  # id, name, client
    files: list[FileView]
    max_upload: str

def _live(project_id: int, workspace_id: int):
    return (
        (ProjectFile.project == project_id)
        & (ProjectFile.workspace == workspace_id)
        & ProjectFile.deleted_at.is_null()
    )


def _ordered(query):
    return query.order_by(ProjectFile.created_at, ascending=False).order_by(ProjectFile.id, ascending=False)


# Portal (clients)


async def files_tab(client: Principal, project_id: int, base_url: str) -> FilesTab:
    """The shared, undeleted files of a project the client may see, newest first."""
    project = await get_visible_project(client, project_id)
    rows = await queries.shared_files(project["id"], client.workspace_id)
    return FilesTab(project_header(project), [file_view(row, base_url) for row in rows])


async def _blob(settings: Settings, row: dict | None) -> Blob:
    if row is None:
        raise NotFound()
    if await stored_size(settings, row["stored_file.sha256"]) is None:  # the row outlived its bytes
        raise NotFound()
    return Blob(
        id=row["id"], name=row["name"], content_type=row["stored_file.content_type"],
        size=row["stored_file.size"], sha256=row["stored_file.sha256"],
        stored_file_id=row["stored_file"], thumbnail_sha256=row["stored_file.thumbnail_sha256"],
    )


async def shared_file(settings: Settings, client: Principal, project_id: int, file_id: int) -> Blob:
    """A shared, undeleted file of a visible project; 404 for anything else."""
    project = await get_visible_project(client, project_id)
    row = await ProjectFile.select(*_BLOB_COLUMNS).where(
        _live(project["id"], client.workspace_id) & (ProjectFile.id == file_id) & (ProjectFile.shared == True)  # noqa: E712
    ).first()
    return await _blob(settings, row)


async def shared_thumbnail(settings: Settings, client: Principal, project_id: int, file_id: int) -> Blob:
    """The re-encoded thumbnail of a shared image file (never its original bytes), or 404.

    Images stored before thumbnails existed get theirs made now (once); an image over
    the pixel limit or undecodable has none.
    """
    blob = await shared_file(settings, client, project_id, file_id)
    thumbnail_sha256 = blob.thumbnail_sha256 or await ensure_thumbnail(
        settings, blob.stored_file_id, blob.sha256, blob.content_type
    )
    if not thumbnail_sha256:
        raise NotFound()
    size = await stored_size(settings, thumbnail_sha256)
    if size is None:
        raise NotFound()
    stem = Path(blob.name).stem or "image"
    return Blob(
        id=blob.id, name=f"{stem} (thumbnail).webp", content_type=images.THUMBNAIL_TYPE, size=size,
        sha256=thumbnail_sha256, stored_file_id=blob.stored_file_id,
    )


async def download_shared_file(
    settings: Settings, request: Request, client: Principal, project_id: int, file_id: int
) -> Blob:
    """``shared_file``, with the download recorded in the audit log."""
    blob = await shared_file(settings, client, project_id, file_id)
    await _audit_download(request, client, project_id, blob)
    return blob


async def _audit_download(request: Request, actor: Principal, project_id: int, blob: Blob) -> None:
    await record(
        "file_downloaded", workspace_id=actor.workspace_id, actor=actor, request=request,
        target_type="project_file", target_id=blob.id, project_id=project_id, name=blob.name,
        sha256=blob.sha256, size=blob.size,
    )


# Studio (staff)


async def studio_project(staff: Principal, project_id: int) -> dict:
    """A project of the staff member's workspace (id, name, status, client), or 404."""
    row = await Project.select(
        Project.id, Project.name, Project.status, Project.organisation.name.as_alias("client"),
    ).where((Project.id == project_id) & (Project.workspace == staff.workspace_id)).first()
    if row is None:
        raise NotFound()
    return row


async def studio_files(settings: Settings, staff: Principal, project_id: int) -> StudioFiles:
    """Every undeleted file of a project, shared or not, newest first."""
    project = await studio_project(staff, project_id)
    rows = await _ordered(ProjectFile.select(*_LIST_COLUMNS).where(_live(project["id"], staff.workspace_id)))
    base = f"/studio/projects/{project['id']}/files"
    return StudioFiles(project, [file_view(row, base) for row in rows], size_label(settings.max_upload_bytes))


async def set_shared(request: Request, staff: Principal, project_id: int, file_id: int, shared: bool) -> None:
    """Share a file with the project's clients, or stop sharing it (effective at once)."""
    project = await studio_project(staff, project_id)
    updated = await ProjectFile.update({ProjectFile.shared: shared}).where(
        _live(project["id"], staff.workspace_id) & (ProjectFile.id == file_id)
    ).returning(ProjectFile.id, ProjectFile.name)
    if not updated:
        raise NotFound()
    await record(
        "file_shared" if shared else "file_unshared", workspace_id=staff.workspace_id, actor=staff,
        request=request, target_type="project_file", target_id=file_id, project_id=project_id,
        name=updated[0]["name"],
    )


#: Checks run before a file is deleted, registered by the areas that use stored bytes
#: (deliverables: an approved version's file must stay). Each takes (workspace_id,
#: stored_file_id, sha256) and answers a refusal message, or "" to allow the delete.
#: A registry, because portal.deliverables already builds on portal.files.
DELETE_GUARDS: list[Callable[[int, int, str], Awaitable[str]]] = []


async def delete_file(request: Request, staff: Principal, project_id: int, file_id: int) -> None:
    """Soft-delete a file: it disappears everywhere at once; the blob stays for the audit.

    ``Conflict`` (nothing changed) while a guard refuses, e.g. an approved deliverable
    uses the same bytes.
    """
    project = await studio_project(staff, project_id)
    row = await ProjectFile.select(ProjectFile.stored_file, ProjectFile.stored_file.sha256.as_alias("sha256")).where(
        _live(project["id"], staff.workspace_id) & (ProjectFile.id == file_id)
    ).first()
    if row is None:
        raise NotFound()
    for guard in DELETE_GUARDS:
        refusal = await guard(staff.workspace_id, row["stored_file"], row["sha256"])
        if refusal:
            raise Conflict(refusal)
    updated = await ProjectFile.update({ProjectFile.deleted_at: clock.now(), ProjectFile.shared: False}).where(
        _live(project["id"], staff.workspace_id) & (ProjectFile.id == file_id)
    ).returning(ProjectFile.id, ProjectFile.name)
    if not updated:
        raise NotFound()
    await record(
        "file_deleted", workspace_id=staff.workspace_id, actor=staff, request=request,
        target_type="project_file", target_id=file_id, project_id=project_id, name=updated[0]["name"],
    )


async def upload_file(
    settings: Settings, request: Request, staff: Principal, project_id: int,
    filename: str, source: Source | None, *, shared: bool,
) -> int:
    """Store an upload (streamed to disk, sniffed by content, size-limited) as a project
    file; its id. ``source`` is the ``UploadFile`` (or a file object, chunks, bytes).

    Raises ``Invalid`` (nothing stored) for a missing, empty or too large file.
    An image over the pixel limit or undecodable is stored as a download only.
    """
    project = await studio_project(staff, project_id)
    empty = Invalid("Choose a file to upload (it must not be empty).")
    if source is None:
        raise empty
    try:
        return await _store_one(settings, request, staff, project, filename, source, shared=shared)
    except EmptyUpload:
        raise empty from None
    except UploadTooLarge:
        raise Invalid(f"That file is too large: the limit is {size_label(settings.max_upload_bytes)}.") from None


async def _store_one(settings: Settings, request: Request, staff: Principal, project: dict,
                     filename: str, source: Source, *, shared: bool) -> int:
    """The new file's id; ``EmptyUpload`` or ``UploadTooLarge`` with nothing stored."""
    name = clean_filename(filename) or "Untitled"
    # The blob is durably on disk before the row that points at it exists.
    stored = await store_stream(settings, staff.workspace_id, source, name)
    rows = await ProjectFile.insert(ProjectFile(
        workspace=staff.workspace_id, project=project["id"], stored_file=stored.id, name=name,
        shared=shared, uploaded_by=staff.user_id,
    )).returning(ProjectFile.id)
    file_id = rows[0]["id"]
    await record(
        "file_uploaded", workspace_id=staff.workspace_id, actor=staff, request=request,
        target_type="project_file", target_id=file_id, project_id=project["id"], name=name,
        sha256=stored.sha256, size=stored.size, shared=shared,
    )
    return file_id


async def studio_download(
    settings: Settings, request: Request, staff: Principal, project_id: int, file_id: int
) -> Blob:
    """Any undeleted file of a workspace project, for staff; the download is audited."""
    project = await studio_project(staff, project_id)
    row = await ProjectFile.select(*_BLOB_COLUMNS).where(
        _live(project["id"], staff.workspace_id) & (ProjectFile.id == file_id)
    ).first()
    blob = await _blob(settings, row)
    await _audit_download(request, staff, project_id, blob)
    return blob


MAX_NAME = 255


def clean_new_name(name: str) -> str:
    """A new file name, cleaned like an upload's, or ``Invalid`` (empty, or longer than 255)."""
    raw = (name or "").strip()
    if len(raw) > MAX_NAME:
        raise Invalid({"name": f"Keep the name under {MAX_NAME} characters (it has {len(raw)})."})
    cleaned = clean_filename(raw)
    if not cleaned:
        raise Invalid({"name": "Give the file a name."})
    return cleaned


async def rename_file(request: Request, staff: Principal, project_id: int, file_id: int, name: str) -> str:
    """Rename a file of the workspace's project; the cleaned name. 404 outside; ``Invalid`` for a bad name."""
    project = await studio_project(staff, project_id)
    current = await ProjectFile.select(ProjectFile.name).where(
        _live(project["id"], staff.workspace_id) & (ProjectFile.id == file_id)
    ).first()
    if current is None:
        raise NotFound()
    cleaned = clean_new_name(name)
    updated = await ProjectFile.update({ProjectFile.name: cleaned}).where(
        _live(project["id"], staff.workspace_id) & (ProjectFile.id == file_id)
    ).returning(ProjectFile.id)
    if not updated:
        raise NotFound()
    await record(
        "file_renamed", workspace_id=staff.workspace_id, actor=staff, request=request,
        target_type="project_file", target_id=file_id, project_id=project_id, old=current["name"], name=cleaned,
    )
    return cleaned


@dataclass(frozen=True)
class UploadOutcome:
    stored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)


async def upload_files(
    settings: Settings, request: Request, staff: Principal, project_id: int,
    uploads: list[tuple[str, Source]], *, shared: bool,
) -> UploadOutcome:
    """Store several uploads, each streamed like ``upload_file``; which were stored, which not and why.

    One bad file (empty, too large) does not stop the others. ``Invalid`` when no file was given.
    """
    project = await studio_project(staff, project_id)
    if not uploads:
        raise Invalid("Choose a file to upload (one or several at once).")
    outcome = UploadOutcome()
    for filename, source in uploads:
        name = clean_filename(filename) or "Untitled"
        try:
            await _store_one(settings, request, staff, project, filename, source, shared=shared)
        except EmptyUpload:
            outcome.failed.append((name, "it is empty"))
        except UploadTooLarge:
            outcome.failed.append((name, f"it is too large (the limit is {size_label(settings.max_upload_bytes)})"))
        else:
            outcome.stored.append(name)
    return outcome
