"""The studio's Files page of a project: upload, share, unshare, delete, download."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from portal.accounts.sessions import Principal
from portal.errors import Conflict, Invalid
from portal.files import services
from portal.files.views import serve_file
from portal.web.forms import FORM, MULTIPART
from portal.web.rendering import INVALID, page, see_other
from portal.web.uploads import UPLOAD


@dataclass
class RenameForm:
    name: str = ""


@dataclass
class ShareForm:
    shared: str = ""


async def _studio_page(request: Request, staff: Principal, project_id: int, *, error: str = "", status_code: int = 200,
                       outcome: services.UploadOutcome | None = None, rename: dict | None = None,
                       conflict: str = "") -> Template:
    listing = await services.studio_files(request.app.state.settings, staff, project_id)
    context = {
        "staff": staff, "project": listing.project,
        "files": listing.files, "max_upload": listing.max_upload, "error": error,
        "notice": request.query_params.get("done", ""), "count": request.query_params.get("n", ""),
        "outcome": outcome, "rename": rename or {}, "conflict": conflict,
    }
    response = page(request, "studio/files.html", context, status_code=status_code)
    if conflict:
        response.headers["X-Error-Message"] = conflict.encode("ascii", "replace").decode()
    return response


@get("/projects/{project_id:int}/files")
async def studio_files(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _studio_page(request, staff, project_id)


@post("/projects/{project_id:int}/files", opt=UPLOAD, request_max_body_size=None)
async def studio_upload(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
    data: Annotated[dict[str, Any], MULTIPART],
) -> Template | Redirect:
    settings = request.app.state.settings
    # One or several files (<input type="file" multiple>): a list for several, the file
    # itself for one, an empty string when none was chosen.
    given = data.get("file")
    given = given if isinstance(given, list) else [given]
    uploads = [u for u in given if isinstance(u, UploadFile) and (u.filename or "")]
    try:
        # The UploadFiles themselves: each is copied to the blob store in chunks, never read whole.
        outcome = await services.upload_files(
            settings, request, staff, project_id, [(u.filename or "", u) for u in uploads], shared=bool(data.get("share"))
        )
    except Invalid as exc:
        return await _studio_page(request, staff, project_id, error=str(exc), status_code=INVALID)
    finally:
        for upload in uploads:
            await upload.close()  # its spooled temp file goes at once, not at garbage collection
    if outcome.failed:
        return await _studio_page(request, staff, project_id, outcome=outcome, status_code=INVALID)
    count = len(outcome.stored)
    return see_other(f"/studio/projects/{project_id}/files?done=uploaded" + (f"&n={count}" if count > 1 else ""))


@post("/projects/{project_id:int}/files/{file_id:int}/rename")
async def studio_rename(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], file_id: FromPath[int],
    data: Annotated[RenameForm, FORM],
) -> Template | Redirect:
    try:
        await services.rename_file(request, staff, project_id, file_id, data.name)
    except Invalid as exc:
        return await _studio_page(request, staff, project_id, status_code=INVALID,
                                  rename={"id": file_id, "value": data.name, "errors": exc.errors})
    return see_other(f"/studio/projects/{project_id}/files?done=renamed")


@post("/projects/{project_id:int}/files/{file_id:int}/share")
async def studio_share(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], file_id: FromPath[int],
    data: Annotated[ShareForm, FORM],
) -> Redirect:
    shared = data.shared == "1"
    await services.set_shared(request, staff, project_id, file_id, shared)
    return see_other(f"/studio/projects/{project_id}/files?done={'shared' if shared else 'unshared'}")


@post("/projects/{project_id:int}/files/{file_id:int}/delete")
async def studio_delete(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], file_id: FromPath[int]
) -> Template | Redirect:
    try:
        await services.delete_file(request, staff, project_id, file_id)
    except Conflict as exc:
        return await _studio_page(request, staff, project_id, conflict=str(exc), status_code=409)
    return see_other(f"/studio/projects/{project_id}/files?done=deleted")


@get("/projects/{project_id:int}/files/{file_id:int}/download")
async def studio_download(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], file_id: FromPath[int]
) -> Response:
    settings = request.app.state.settings
    blob = await services.studio_download(settings, request, staff, project_id, file_id)
    return serve_file(settings, blob.sha256, blob.name, blob.content_type, size=blob.size)


#: Under /studio, for a signed-in staff member.
HANDLERS: list = [studio_files, studio_upload, studio_rename, studio_share, studio_delete, studio_download]
