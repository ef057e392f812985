"""The studio's accounts screens: signing in and out (staff), a project's clients
(Settings -> Access) and the team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream, Template

from portal.accounts import services
from portal.accounts.magic import request_studio_link
from portal.accounts.sessions import Principal, cookie_name, end_all_sessions, end_session
from portal.accounts.signin import (
    CALLBACK,
    START,
    CodeQuery,
    EmailBody,
    ErrorQuery,
    StateQuery,
    finish_google,
    redeem_limit,
    sign_in,
    signed_out,
    start_google,
)
from portal.accounts.tokens import consume_token, peek_token
from portal.audit.services import record
from portal.errors import Conflict, DomainError, Invalid
from portal.files.views import content_disposition
from portal.privacy import services as privacy
from portal.web.auth import current_principal
from portal.web.errors import status_of
from portal.web.forms import FORM
from portal.web.rendering import INVALID, page, see_other

# Studio (staff)


@get("/login")
async def studio_login() -> Template:
    return Template("studio/login.html", context={"form": {}, "error": ""})


@post("/login")
async def studio_login_request(request: Request, data: EmailBody) -> Template:
    try:
        await request_studio_link(request.app.state.settings, request, data.email)
    except Invalid as exc:
        return Template("studio/login.html", context={"form": data, "error": str(exc)}, status_code=INVALID)
    return Template("studio/link_sent.html", context={})


@get("/login/{token:str}")
async def studio_link(token: FromPath[str]) -> Template:
    owner = await peek_token(token, None)
    valid = owner is not None and owner.staff_id is not None
    return Template("studio/continue.html", context={"token": token, "valid": valid}, status_code=200 if valid else 410)


@post("/login/{token:str}")
async def studio_link_redeem(request: Request, token: FromPath[str]) -> Response:
    await redeem_limit(request)
    owner = await consume_token(token, None)
    if owner is None or owner.staff_id is None:
        await record("login_failed", workspace_id=None, request=request, reason="unusable link", area="studio")
        return Template("studio/continue.html", context={"token": "", "valid": False}, status_code=410)
    await record("login", workspace_id=owner.workspace_id, request=request, target_type="staff",
                 target_id=owner.staff_id, method="link")
    return await sign_in(request, owner, "/studio/")


@post("/logout")
async def studio_logout(request: Request) -> Response:
    principal = await current_principal(request)
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    if principal:
        await record("logout", workspace_id=principal.workspace_id, actor=principal, request=request)
    return signed_out(request, "/studio/login?signed_out=1")


@post("/logout-everywhere")
async def studio_logout_everywhere(request: Request) -> Response:
    principal = await current_principal(request)
    if principal and principal.kind == "staff":
        await end_all_sessions(staff_id=principal.user_id)
        await record("logout_everywhere", workspace_id=principal.workspace_id, actor=principal, request=request)
    return signed_out(request, "/studio/login?signed_out=1")


# Studio (staff)

STUDIO_CONTEXT = {"base_template": "studio/base.html", "login_url": "/studio/login", "place": "the studio"}


@get(START, cache=False)
async def studio_google_start(request: Request) -> Response:
    return await start_google(request, "studio", "/studio" + CALLBACK, STUDIO_CONTEXT)


@get(CALLBACK, cache=False)
async def studio_google_callback(
    request: Request, oauth_state: StateQuery = None, code: CodeQuery = None, error: ErrorQuery = None
) -> Response:
    return await finish_google(request, area="studio", workspace_id=None, code=code, state=oauth_state, error=error,
                         home="/studio/", refused_context=STUDIO_CONTEXT)



# Client access and the team (signed-in staff, under /studio)


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


async def _access_page(request: Request, staff: Principal, project_id: int, **extra) -> Template:
    project = await services.staff_project(staff, project_id)
    rows = await services.access_list(staff, project_id)
    context = {"staff": staff, "project": project, "rows": rows, "form": InviteForm(), "error": None,
               "notice": request.query_params.get("notice", ""), **extra}
    return page(request, "studio/access.html", context, status_code=_status(extra.get("error")))


@get("/projects/{project_id:int}/access")
async def access(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    return await _access_page(request, staff, project_id)


@post("/projects/{project_id:int}/access")
async def add_client(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], data: Annotated[InviteForm, FORM]
) -> Response:
    try:
        await services.invite_client(request.app.state.settings, request, staff, project_id, data.email, data.name,
                                    data.expires_on)
    except (Invalid, Conflict) as exc:
        return await _access_page(request, staff, project_id, form=data, error=exc)
    return see_other(f"/studio/projects/{project_id}/access?notice=invited")


@post("/projects/{project_id:int}/access/{grant_id:int}/resend")
async def resend(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], grant_id: FromPath[int]) -> Response:
    try:
        await services.resend_invite(request.app.state.settings, request, staff, project_id, grant_id)
    except (Invalid, Conflict) as exc:
        return await _access_page(request, staff, project_id, error=exc)
    return see_other(f"/studio/projects/{project_id}/access?notice=resent")


@post("/projects/{project_id:int}/access/{grant_id:int}/expiry")
async def expiry(
    request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], grant_id: FromPath[int],
    data: Annotated[ExpiryForm, FORM],
) -> Response:
    try:
        await services.change_expiry(request, staff, project_id, grant_id, data.expires_on)
    except (Invalid, Conflict) as exc:
        return await _access_page(request, staff, project_id, error=exc, error_grant=grant_id)
    return see_other(f"/studio/projects/{project_id}/access?notice=expiry")


@post("/projects/{project_id:int}/access/{grant_id:int}/revoke")
async def revoke(request: Request, staff: NamedDependency[Principal], project_id: FromPath[int], grant_id: FromPath[int]) -> Response:
    await services.revoke(request, staff, project_id, grant_id)
    return see_other(f"/studio/projects/{project_id}/access?notice=revoked")


async def _team_page(request: Request, staff: Principal, **extra) -> Template:
    context = {"staff": staff, "members": await services.team(staff), "form": StaffInviteForm(), "error": None,
               "notice": request.query_params.get("notice", ""), **extra}
    return page(request, "studio/team.html", context, status_code=_status(extra.get("error")))


@get("/team")
async def team(request: Request, staff: NamedDependency[Principal]) -> Template:
    return await _team_page(request, staff)


@post("/team")
async def invite_member(request: Request, staff: NamedDependency[Principal], data: Annotated[StaffInviteForm, FORM]) -> Response:
    try:
        await services.invite_staff(request.app.state.settings, request, staff, data.email, data.name, data.role)
    except (Invalid, Conflict) as exc:
        return await _team_page(request, staff, form=data, error=exc)
    return see_other("/studio/team?notice=member_invited")


@post("/team/{member_id:int}/remove")
async def remove_member(request: Request, staff: NamedDependency[Principal], member_id: FromPath[int]) -> Response:
    try:
        await services.remove_staff(request, staff, member_id)
    except (Invalid, Conflict) as exc:
        return await _team_page(request, staff, error=exc)
    return see_other("/studio/team?notice=member_removed")


@post("/team/{member_id:int}/role")
async def change_role(request: Request, staff: NamedDependency[Principal], member_id: FromPath[int],
                      data: Annotated[RoleForm, FORM]) -> Response:
    try:
        await services.change_role(request, staff, member_id, data.role)
    except (Invalid, Conflict) as exc:
        return await _team_page(request, staff, error=exc)
    return see_other("/studio/team?notice=role_changed")


# Clients: organisations and their people (every staff role)


@dataclass
class ClientForm:
    name: str = ""


@dataclass
class PersonForm:
    name: str = ""
    email: str = ""


@dataclass
class DeleteClientForm:
    confirm_name: str = ""


async def _clients_page(request: Request, staff: Principal, *, form: ClientForm | None = None,
                        errors: dict | None = None) -> Template:
    show_archived = request.query_params.get("archived") == "1"
    rows, archived = await services.clients(staff, show_archived=show_archived)
    context = {"staff": staff, "clients": rows, "archived_count": archived, "show_archived": show_archived,
               "form": form or ClientForm(), "errors": errors or {}}
    return page(request, "studio/clients.html", context, status_code=INVALID if errors else 200)


@get("/clients")
async def clients(request: Request, staff: NamedDependency[Principal]) -> Template:
    return await _clients_page(request, staff)


@post("/clients")
async def create_client(request: Request, staff: NamedDependency[Principal], data: Annotated[ClientForm, FORM]) -> Response:
    try:
        organisation_id = await services.create_client(request, staff, data.name)
    except Invalid as exc:
        return await _clients_page(request, staff, form=data, errors=exc.errors)
    return see_other(f"/studio/clients/{organisation_id}", flash="Client created. Add the people you work with there.",
                     request=request)


async def _client_page(request: Request, staff: Principal, organisation_id: int, *,
                       rename: ClientForm | None = None, person: PersonForm | None = None,
                       confirm: DeleteClientForm | None = None, errors: dict | None = None,
                       failed: str = "") -> Template:
    detail = await services.client(staff, organisation_id)
    context = {"staff": staff, "client": detail, "rename": rename or ClientForm(detail.name),
               "person_form": person or PersonForm(), "confirm_form": confirm or DeleteClientForm(),
               "errors": errors or {}, "failed": failed}
    return page(request, "studio/client.html", context, status_code=INVALID if errors else 200)


@get("/clients/{org_id:int}")
async def client(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int]) -> Template:
    return await _client_page(request, staff, org_id)


@post("/clients/{org_id:int}/rename")
async def rename_client(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int],
                        data: Annotated[ClientForm, FORM]) -> Response:
    try:
        await services.rename_client(request, staff, org_id, data.name)
    except Invalid as exc:
        return await _client_page(request, staff, org_id, rename=data, errors=exc.errors, failed="rename")
    return see_other(f"/studio/clients/{org_id}", flash="Name saved.", request=request)


@post("/clients/{org_id:int}/archive")
async def archive_client(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int]) -> Response:
    await services.set_client_archived(request, staff, org_id, True)
    return see_other(f"/studio/clients/{org_id}", flash="Client archived. Their people keep the access they have.",
                     request=request)


@post("/clients/{org_id:int}/unarchive")
async def unarchive_client(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int]) -> Response:
    await services.set_client_archived(request, staff, org_id, False)
    return see_other(f"/studio/clients/{org_id}", flash="Client restored.", request=request)


@post("/clients/{org_id:int}/people")
async def add_person(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int],
                     data: Annotated[PersonForm, FORM]) -> Response:
    try:
        await services.add_person(request, staff, org_id, data.name, data.email)
    except Invalid as exc:
        return await _client_page(request, staff, org_id, person=data, errors=exc.errors, failed="person")
    return see_other(f"/studio/clients/{org_id}",
                     flash=f"{data.name.strip() or data.email.strip()} added. Give them access on a project's Access tab.",
                     request=request)


@get("/clients/{org_id:int}/export")
async def export_client(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int]) -> Stream:
    archive = await privacy.studio_export(request.app.state.settings, request, staff, org_id)
    return Stream(privacy.chunks(archive.file), media_type="application/zip", headers={
        "Content-Disposition": content_disposition(archive.filename), "Content-Length": str(archive.size),
        "Cache-Control": "private, no-store"})


@post("/clients/{org_id:int}/delete")
async def delete_client(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int],
                        data: Annotated[DeleteClientForm, FORM]) -> Response:
    try:
        deleted = await privacy.studio_delete(request.app.state.settings, request, staff, org_id, data.confirm_name)
    except Invalid as exc:
        return await _client_page(request, staff, org_id, confirm=data, errors=exc.errors, failed="delete")
    return see_other("/studio/clients", flash=f"{deleted.name} and all its data were deleted: {deleted.summary}.",
                     request=request)


async def _person_page(request: Request, staff: Principal, organisation_id: int, person_id: int, *,
                       person: PersonForm | None = None, errors: dict | None = None) -> Template:
    detail, shown = await services.client_person(staff, organisation_id, person_id)
    context = {"staff": staff, "client": detail, "person": shown,
               "form": person or PersonForm(shown.name, shown.email), "errors": errors or {}}
    return page(request, "studio/client_person.html", context, status_code=INVALID if errors else 200)


@get("/clients/{org_id:int}/people/{person_id:int}")
async def person(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int],
                 person_id: FromPath[int]) -> Template:
    return await _person_page(request, staff, org_id, person_id)


@post("/clients/{org_id:int}/people/{person_id:int}")
async def update_person(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int],
                        person_id: FromPath[int], data: Annotated[PersonForm, FORM]) -> Response:
    try:
        await services.update_person(request, staff, org_id, person_id, data.name, data.email)
    except Invalid as exc:
        return await _person_page(request, staff, org_id, person_id, person=data, errors=exc.errors)
    return see_other(f"/studio/clients/{org_id}", flash="Changes saved.", request=request)


@post("/clients/{org_id:int}/people/{person_id:int}/remove")
async def remove_person(request: Request, staff: NamedDependency[Principal], org_id: FromPath[int],
                        person_id: FromPath[int]) -> Response:
    revoked = await services.remove_person(request, staff, org_id, person_id)
    revoked_note = f" Access to {revoked} project{'s' if revoked != 1 else ''} revoked." if revoked else ""
    return see_other(f"/studio/clients/{org_id}", flash=f"Person removed and signed out everywhere.{revoked_note}",
                     request=request)


HANDLERS = [access, add_client, resend, expiry, revoke, team, invite_member, remove_member, change_role,
            clients, create_client, client, rename_client, archive_client, unarchive_client, export_client,
            delete_client, add_person, person, update_person, remove_person]
PUBLIC_HANDLERS = [studio_login, studio_login_request, studio_link, studio_link_redeem, studio_logout,
                   studio_logout_everywhere, studio_google_start, studio_google_callback]
