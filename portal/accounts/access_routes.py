"""Studio screens for access: a project's clients (Settings -> Access) and the team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template

from portal.accounts import invites
from portal.accounts import team as team_service
from portal.accounts.sessions import Principal
from portal.errors import Conflict, DomainError, Invalid
from portal.web.errors import status_of
from portal.web.rendering import page, see_other


@dataclass
class InviteForm:
    email: str = ""
    name: str = ""
    expires_on: str = ""


@dataclass
class ExpiryForm:
    expires_on: str = ""


@dataclass
class RoleForm:
    role: str = ""


@dataclass
class StaffInviteForm:
    email: str = ""
    name: str = ""
    role: str = "member"


def _status(error: DomainError | None) -> int:
    """A form shown again answers with the status of what went wrong."""
    return status_of(error) if error else 200


def form(cls):
    return Annotated[cls, Body(media_type=RequestEncodingType.URL_ENCODED)]


async def _access_page(request: Request, staff: Principal, project_id: int, **extra) -> Template:
    project = await invites.staff_project(staff, project_id)
    rows = await invites.access_list(staff, project_id)
    context = {"staff": staff, "project": project, "rows": rows, "form": InviteForm(), "error": None,
               "notice": request.query_params.get("notice", ""), **extra}
    return page(request, "studio/access.html", context, status_code=_status(extra.get("error")))


@get("/projects/{project_id:int}/access")
async def access(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _access_page(request, staff, project_id)


@post("/projects/{project_id:int}/access")
async def add_client(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], data: form(InviteForm)
) -> Response:
    try:
        await invites.invite_client(request.app.state.settings, request, staff, project_id, data.email, data.name,
                                    data.expires_on)
    except (Invalid, Conflict) as exc:
        return await _access_page(request, staff, project_id, form=data, error=exc)
    return see_other(f"/studio/projects/{project_id}/access?notice=invited")


@post("/projects/{project_id:int}/access/{grant_id:int}/resend")
async def resend(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], grant_id: FromPath[int]) -> Response:
    try:
        await invites.resend_invite(request.app.state.settings, request, staff, project_id, grant_id)
    except (Invalid, Conflict) as exc:
        return await _access_page(request, staff, project_id, error=exc)
    return see_other(f"/studio/projects/{project_id}/access?notice=resent")


@post("/projects/{project_id:int}/access/{grant_id:int}/expiry")
async def expiry(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], grant_id: FromPath[int],
    data: form(ExpiryForm),
) -> Response:
    try:
        await invites.change_expiry(request, staff, project_id, grant_id, data.expires_on)
    except (Invalid, Conflict) as exc:
        return await _access_page(request, staff, project_id, error=exc, error_grant=grant_id)
    return see_other(f"/studio/projects/{project_id}/access?notice=expiry")


@post("/projects/{project_id:int}/access/{grant_id:int}/revoke")
async def revoke(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], grant_id: FromPath[int]) -> Response:
    await invites.revoke(request, staff, project_id, grant_id)
    return see_other(f"/studio/projects/{project_id}/access?notice=revoked")


async def _team_page(request: Request, staff: Principal, **extra) -> Template:
    context = {"staff": staff, "members": await team_service.team(staff), "form": StaffInviteForm(), "error": None,
               "notice": request.query_params.get("notice", ""), **extra}
    return page(request, "studio/team.html", context, status_code=_status(extra.get("error")))


@get("/team")
async def team(request: Request, staff: NamedDependency[Principal]) -> Template:
    return await _team_page(request, staff)


@post("/team")
async def invite_member(request: Request, staff: NamedDependency[Principal], data: form(StaffInviteForm)) -> Response:
    try:
        await team_service.invite_staff(request.app.state.settings, request, staff, data.email, data.name, data.role)
    except (Invalid, Conflict) as exc:
        return await _team_page(request, staff, form=data, error=exc)
    return see_other("/studio/team?notice=member_invited")


@post("/team/{member_id:int}/remove")
async def remove_member(request: Request, staff: NamedDependency[Principal], member_id: FromPath[int]) -> Response:
    try:
        await team_service.remove_staff(request, staff, member_id)
    except (Invalid, Conflict) as exc:
        return await _team_page(request, staff, error=exc)
    return see_other("/studio/team?notice=member_removed")


@post("/team/{member_id:int}/role")
async def change_role(request: Request, staff: NamedDependency[Principal], member_id: FromPath[int],
                      data: form(RoleForm)) -> Response:
    try:
        await team_service.change_role(request, staff, member_id, data.role)
    except (Invalid, Conflict) as exc:
        return await _team_page(request, staff, error=exc)
    return see_other("/studio/team?notice=role_changed")


STUDIO_HANDLERS = [access, add_client, resend, expiry, revoke, team, invite_member, remove_member, change_role]
