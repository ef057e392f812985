"""The portal's Deliverables tab: the list, a deliverable's page, decisions and files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Response, Template

from portal.accounts.sessions import Principal
from portal.deliverables import services
from portal.deliverables.serving import file_response, preview_file
from portal.errors import Invalid
from portal.projects.access import get_visible_project
from portal.projects.views import project_header
from portal.web.forms import FORM
from portal.web.rendering import INVALID, page, see_other
from portal.web.tenancy import PortalSite

DETAIL = "/projects/{project_id:int}/deliverables/{deliverable_id:int}"
#: Success notes shown after a decision's redirect (?done=...).
DONE = {"approved", "changes_requested"}


@dataclass
class DecisionForm:
    version: int = 0
    comment: str = ""


@dataclass
class ReplyForm:
    body: str = ""


FormBody = Annotated[DecisionForm, FORM]


def _base(site: PortalSite, project_id: int) -> str:
    return site.url(f"/projects/{project_id}/deliverables")


@get("/projects/{project_id:int}/deliverables")
async def deliverables_tab(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int]
) -> Template:
    project = await get_visible_project(client, project_id)
    cards = await services.cards(client.workspace_id, project_id, _base(site, project_id))
    context = {"site": site, "client": client, "project": project_header(project), "tab": "deliverables",
               "deliverables": cards}
    return page(request, "portal/deliverables.html", context, fragment="portal/_deliverables.html")


async def _detail_page(
    request: Request, site: PortalSite, client: Principal, project_id: int, deliverable_id: int, *,
    version: int | None = None, done: str | None = None, errors: dict | None = None, comment: str = "",
    reply: str = "", status_code: int = 200,
) -> Template:
    project, row = await services.client_deliverable(client, project_id, deliverable_id)
    detail = await services.detail(row, _base(site, project_id), shown=version, viewer_client=client.user_id)
    context = {
        "site": site, "client": client, "project": project_header(project), "tab": "deliverables",
        "deliverable": detail, "can_decide": site.allows("approvals"), "done": done if done in DONE else "",
        "errors": errors or {}, "comment": comment, "reply": reply,
    }
    return page(request, "portal/deliverable.html", context, fragment="portal/_deliverable.html",
                status_code=status_code)


@get(DETAIL)
async def deliverable_page(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], deliverable_id: FromPath[int], version: FromQuery[int | None] = None, done: FromQuery[str | None] = None,
) -> Template:
    return await _detail_page(request, site, client, project_id, deliverable_id, version=version, done=done)


@post(DETAIL + "/approve")
async def approve(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], deliverable_id: FromPath[int], data: FormBody,
) -> Response:
    await services.decide(request.app.state.settings, client, plan=site.plan, project_id=project_id,
                 deliverable_id=deliverable_id, decision="approved", version=data.version, comment="",
                 request=request)
    return see_other(f"{_base(site, project_id)}/{deliverable_id}?done=approved")


@post(DETAIL + "/request-changes")
async def request_changes(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], deliverable_id: FromPath[int], data: FormBody,
) -> Response:
    try:
        await services.decide(request.app.state.settings, client, plan=site.plan, project_id=project_id,
                     deliverable_id=deliverable_id, decision="changes_requested", version=data.version,
                     comment=data.comment, request=request)
    except Invalid as exc:
        return await _detail_page(request, site, client, project_id, deliverable_id, errors=exc.errors,
                                  comment=data.comment, status_code=INVALID)
    return see_other(f"{_base(site, project_id)}/{deliverable_id}?done=changes_requested")


@post(DETAIL + "/reply")
async def reply(
    request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal],
    project_id: FromPath[int], deliverable_id: FromPath[int],
    data: Annotated[ReplyForm, FORM],
) -> Response:
    try:
        await services.client_reply(request.app.state.settings, client, plan=site.plan, project_id=project_id,
                                    deliverable_id=deliverable_id, body=data.body, request=request)
    except Invalid as exc:
        return await _detail_page(request, site, client, project_id, deliverable_id, errors=exc.errors,
                                  reply=data.body, status_code=INVALID)
    return see_other(f"{_base(site, project_id)}/{deliverable_id}#thread-heading",
                     flash="Reply sent. The team has been emailed.", request=request)


@get(DETAIL + "/versions/{number:int}/file")
async def version_file(
    request: Request, client: NamedDependency[Principal], project_id: FromPath[int],
    deliverable_id: FromPath[int], number: FromPath[int], download: FromQuery[bool] = False,
) -> Response:
    row = await services.client_version_file(client, project_id, deliverable_id, number, download=download, request=request)
    return file_response(
        request, request.app.state.settings, sha256=row["content_sha256"], size=row["size"],
        content_type=row["content_type"], filename=row["filename"], download=download,
    )


@get(DETAIL + "/versions/{number:int}/preview")
async def version_preview(
    request: Request, client: NamedDependency[Principal], project_id: FromPath[int],
    deliverable_id: FromPath[int], number: FromPath[int],
) -> Response:
    """A PDF version's first page or a video version's frame (WebP), for cards and posters."""
    await services.client_deliverable(client, project_id, deliverable_id)
    sha256 = await services.version_preview(deliverable_id, number)
    return await preview_file(request.app.state.settings, sha256, f"{deliverable_id}-{number}")


#: Routes under /p/{workspace_slug} that need a signed-in client.
HANDLERS: list = [deliverables_tab, deliverable_page, approve, request_changes, reply, version_file, version_preview]
#: Routes under /studio that need a signed-in staff member.
