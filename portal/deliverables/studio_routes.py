"""Studio routes for deliverables: one page per project and one per deliverable.

Every route scopes the project to the staff member's workspace (404 otherwise);
changes to an approved deliverable are refused with 409 by the services.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal.accounts.sessions import Principal
from portal.deliverables import services
from portal.deliverables.serving import file_response, preview_file
from portal.errors import Invalid
from portal.web.forms import FORM, MULTIPART
from portal.web.rendering import INVALID, page, see_other
from portal.web.uploads import UPLOAD
from portal.workspaces import services as workspaces

LIST = "/projects/{project_id:int}/deliverables"
DETAIL = LIST + "/{deliverable_id:int}"


@dataclass
class DeliverableForm:
    title: str = ""
    description: str = ""


@dataclass
class ReplyForm:
    body: str = ""


@dataclass
class VersionForm:
    file: UploadFile | None = None
    note: str = ""


def _base(project_id: int) -> str:
    return f"/studio/projects/{project_id}/deliverables"


async def _list_page(request: Request, staff: Principal, project_id: int, *, errors: dict | None = None,
                     form: DeliverableForm | None = None, status_code: int = 200) -> Template:
    project = await services.staff_project(staff, project_id)
    context = {
        "staff": staff, "workspace": await workspaces.studio_header(staff.workspace_id), "project": project,
        "deliverables": await services.cards(staff.workspace_id, project_id, _base(project_id), client_view=False),
        "errors": errors or {}, "form": form or DeliverableForm(), "done": request.query_params.get("done", ""),
    }
    return page(request, "studio/deliverables.html", context, status_code=status_code)


async def _detail_page(request: Request, staff: Principal, project_id: int, deliverable_id: int, *,
                       version: int | None = None, errors: dict | None = None, form: DeliverableForm | None = None,
                       reply: str = "", status_code: int = 200) -> Template:
    project = await services.staff_project(staff, project_id)
    row = await services.staff_deliverable(staff, project_id, deliverable_id)
    detail = await services.detail(row, _base(project_id), shown=version)
    context = {
        "staff": staff, "workspace": await workspaces.studio_header(staff.workspace_id), "project": project, "deliverable": detail,
        "errors": errors or {}, "form": form or DeliverableForm(row["title"], row["description"]),
        "done": request.query_params.get("done", ""), "sent": request.query_params.get("sent", ""),
        "reply": reply,
    }
    return page(request, "studio/deliverable.html", context, status_code=status_code)


@get(LIST)
async def studio_deliverables(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _list_page(request, staff, project_id)


@post(LIST)
async def studio_create(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                        data: Annotated[DeliverableForm, FORM]) -> Response:
    try:
        new_id = await services.create(staff, project_id, title=data.title, description=data.description, request=request)
    except Invalid as exc:
        return await _list_page(request, staff, project_id, errors=exc.errors, form=data, status_code=INVALID)
    return see_other(f"{_base(project_id)}/{new_id}?done=created")


@get(DETAIL)
async def studio_deliverable(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                             deliverable_id: FromPath[int], version: FromQuery[int | None] = None) -> Template:
    return await _detail_page(request, staff, project_id, deliverable_id, version=version)


@post(DETAIL + "/edit")
async def studio_edit(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                      deliverable_id: FromPath[int],
                      data: Annotated[DeliverableForm, FORM]) -> Response:
    try:
        await services.edit(staff, project_id, deliverable_id, title=data.title, description=data.description)
    except Invalid as exc:
        return await _detail_page(request, staff, project_id, deliverable_id, errors=exc.errors, form=data,
                                  status_code=INVALID)
    return see_other(f"{_base(project_id)}/{deliverable_id}?done=saved")


@post(DETAIL + "/versions", opt=UPLOAD, request_max_body_size=None)
async def studio_upload(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                        deliverable_id: FromPath[int],
                        data: Annotated[VersionForm, MULTIPART]) -> Response:
    upload = data.file if isinstance(data.file, UploadFile) else None
    try:
        # The UploadFile itself: it is copied to the blob store in chunks, never read whole.
        number = await services.upload_version(
            request.app.state.settings, staff, project_id, deliverable_id, filename=upload.filename if upload else "",
            data=upload, note=data.note, request=request,
        )
    except Invalid as exc:
        return await _detail_page(request, staff, project_id, deliverable_id, errors=exc.errors, status_code=INVALID)
    finally:
        if upload is not None:
            await upload.close()  # its spooled temp file goes at once, not at garbage collection
    return see_other(f"{_base(project_id)}/{deliverable_id}?done=uploaded&version={number}")


@post(DETAIL + "/ready")
async def studio_mark_ready(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                            deliverable_id: FromPath[int]) -> Response:
    sent = await services.mark_ready(request.app.state.settings, staff, project_id, deliverable_id, request=request)
    return see_other(f"{_base(project_id)}/{deliverable_id}?done=ready&sent={sent}")


@post(DETAIL + "/delete")
async def studio_delete(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                        deliverable_id: FromPath[int]) -> Response:
    await services.delete(staff, project_id, deliverable_id, request=request)
    return see_other(f"{_base(project_id)}?done=deleted")


@post(DETAIL + "/reply")
async def studio_reply(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                       deliverable_id: FromPath[int],
                       data: Annotated[ReplyForm, FORM]) -> Response:
    try:
        sent = await services.staff_reply(request.app.state.settings, staff, project_id, deliverable_id,
                                          body=data.body, request=request)
    except Invalid as exc:
        return await _detail_page(request, staff, project_id, deliverable_id, errors=exc.errors, reply=data.body,
                                  status_code=INVALID)
    note = f"Reply sent. {sent} client{'' if sent == 1 else 's'} emailed." if sent else "Reply added to the thread."
    return see_other(f"{_base(project_id)}/{deliverable_id}#thread-heading", flash=note, request=request)


@get(DETAIL + "/versions/{number:int}/file")
async def studio_version_file(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                              deliverable_id: FromPath[int], number: FromPath[int], download: FromQuery[bool] = False) -> Response:
    await services.staff_deliverable(staff, project_id, deliverable_id)
    row = await services.version_file(deliverable_id, number)
    return file_response(request, request.app.state.settings, sha256=row["content_sha256"], size=row["size"],
                         content_type=row["content_type"], filename=row["filename"], download=download)


@get(DETAIL + "/versions/{number:int}/preview")
async def studio_version_preview(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int],
                                 deliverable_id: FromPath[int], number: FromPath[int]) -> Response:
    await services.staff_deliverable(staff, project_id, deliverable_id)
    sha256 = await services.version_preview(deliverable_id, number)
    return await preview_file(request.app.state.settings, sha256, f"{deliverable_id}-{number}")


HANDLERS = [
    studio_deliverables, studio_create, studio_deliverable, studio_edit, studio_upload, studio_mark_ready,
    studio_delete, studio_version_file, studio_version_preview, studio_reply,
]
