"""A client organisation's data on request (GDPR): export it all, or delete it all.

Owners and admins do both from the organisation's page in the studio; the operator from
the command line (``portal client-export``, ``portal client-delete``). Either way the
organisation must be one of the workspace's (404 otherwise), the act is audited, and the
same rules run (``portal.privacy.export``, ``portal.privacy.deletion``).

Deleting asks for the organisation's name, typed as shown, so that no slip of a click
removes a client.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from litestar import Request

from portal import clock
from portal.accounts.sessions import Principal, ensure_manager
from portal.audit.services import record
from portal.errors import Invalid, NotFound
from portal.files.storage import CHUNK
from portal.privacy import deletion, export
from portal.privacy.deletion import Deleted
from portal.privacy.views import archive_filename
from portal.settings import Settings
from portal.workspaces.tables import Workspace

OPERATOR_EXPORT = "operator (portal client-export)"
OPERATOR_DELETE = "operator (portal client-delete)"
CONFIRM_FIELD = "confirm_name"


@dataclass
class Export:
    """A finished archive: an open file at its start (deleted from disk already), its size and name."""

    file: BinaryIO
    size: int
    filename: str


async def _build(settings: Settings, workspace_id: int, organisation_id: int, target: BinaryIO, *,
                 actor: Principal | None, actor_email: str, request: Request | None) -> str:
    """Write the organisation's archive into ``target`` and audit it; the file name it should get."""
    collected = await export.collect(workspace_id, organisation_id)
    written = await asyncio.to_thread(export.write_zip, settings, target, collected)
    await record("client_data_exported", workspace_id=workspace_id, actor=actor, actor_email=actor_email,
                 request=request, target_type="client_organisation", target_id=organisation_id,
                 name=collected.organisation["name"], files=written.files, missing=written.missing,
                 damaged=written.damaged)
    return archive_filename(collected.organisation["name"], clock.today())


async def studio_export(settings: Settings, request: Request, staff: Principal, organisation_id: int) -> Export:
    """The organisation's archive for an owner or admin of its workspace.

    Built in an unnamed temporary file in the data dir (the files can be large; ``/tmp``
    may be memory), which disappears when it is closed.
    """
    await export.organisation(staff.workspace_id, organisation_id)
    ensure_manager(staff, "export a client's data")
    target = await asyncio.to_thread(tempfile.TemporaryFile, dir=settings.data_dir)
    try:
        filename = await _build(settings, staff.workspace_id, organisation_id, target, actor=staff, actor_email="",
                                request=request)
        size = target.tell()
        target.seek(0)
    except BaseException:
        target.close()
        raise
    return Export(target, size, filename)


async def chunks(file: BinaryIO) -> AsyncIterator[bytes]:
    """The file's bytes, read off the event loop a chunk at a time; closed at the end."""
    try:
        while chunk := await asyncio.to_thread(file.read, CHUNK):
            yield chunk
    finally:
        file.close()


def check_confirmation(name: str, typed: str | None) -> None:
    """The organisation's name typed as shown (spaces around and doubled ones aside)."""
    if " ".join((typed or "").split()) != " ".join(name.split()):
        raise Invalid({CONFIRM_FIELD: f"Type the client's name exactly as shown, {name}, to delete it. "
                                      "Nothing was deleted."})


async def studio_delete(settings: Settings, request: Request, staff: Principal, organisation_id: int,
                        typed_name: str | None) -> Deleted:
    """Delete the organisation and all its data, for an owner or admin who typed its name."""
    org = await export.organisation(staff.workspace_id, organisation_id)
    ensure_manager(staff, "delete a client")
    check_confirmation(org["name"], typed_name)
    return await deletion.delete_organisation(settings, staff.workspace_id, organisation_id, actor=staff,
                                              request=request)


# The operator's commands


async def _workspace_id(slug: str) -> int:
    row = await Workspace.select(Workspace.id).where(Workspace.slug == slug.strip().lower()).first()
    if row is None:
        raise NotFound(f"No workspace {slug!r}.")
    return row["id"]


async def operator_export(settings: Settings, slug: str, organisation_id: int, to: Path | None) -> tuple[Path, int]:
    """Write the archive to ``to`` (default: its own name in the current directory); (path, bytes).

    Written beside the target under a temporary name and renamed when complete.
    """
    workspace_id = await _workspace_id(slug)
    org = await export.organisation(workspace_id, organisation_id)
    path = Path(to) if to else Path.cwd() / archive_filename(org["name"], clock.today())
    fd, partial = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "w+b") as target:
            await _build(settings, workspace_id, organisation_id, target, actor=None, actor_email=OPERATOR_EXPORT,
                         request=None)
            size = target.tell()
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path, size


async def operator_delete(settings: Settings, slug: str, organisation_id: int) -> Deleted:
    workspace_id = await _workspace_id(slug)
    return await deletion.delete_organisation(settings, workspace_id, organisation_id, actor_email=OPERATOR_DELETE)
