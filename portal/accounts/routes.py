"""Signing in and out, for the portal (clients) and the studio (staff).

Asking for a link answers the same whether or not the email is known. Opening a link
shows a Continue button (mail scanners prefetch GETs); only the POST consumes the token,
starts a session with a new id and redirects, so the token leaves the address bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Template

from portal import clock
from portal.accounts import ratelimit
from portal.accounts.grants import access_state
from portal.accounts.magic import request_portal_link, request_studio_link
from portal.accounts.sessions import cookie_name, create_session, end_all_sessions, end_session
from portal.accounts.tokens import TokenOwner, consume_token, peek_token
from portal.audit.services import client_ip, record
from portal.errors import Invalid
from portal.projects.tables import ProjectAccess
from portal.web.auth import current_principal
from portal.web.rendering import see_other
from portal.web.tenancy import PortalSite


@dataclass
class EmailForm:
    email: str = ""


EmailBody = Annotated[EmailForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _with_session_cookie(request: Request, response: Response, raw: str) -> Response:
    settings = request.app.state.settings
    response.set_cookie(
        key=cookie_name(settings), value=raw, path="/", httponly=True, secure=settings.is_https,
        samesite="lax", max_age=settings.session_max_days * 86400,
    )
    return response


async def _sign_in(request: Request, owner: TokenOwner, redirect_to: str) -> Response:
    """Start a session with a brand-new id for ``owner``; a planted cookie is never adopted."""
    settings = request.app.state.settings
    await end_session(request.cookies.get(cookie_name(settings)))
    raw = await create_session(
        settings, workspace_id=owner.workspace_id, staff_id=owner.staff_id, client_user_id=owner.client_user_id,
        ip=client_ip(request), user_agent=request.headers.get("user-agent", ""),
    )
    return _with_session_cookie(request, see_other(redirect_to), raw)


def _signed_out(request: Request, redirect_to: str) -> Response:
    response = see_other(redirect_to)
    response.delete_cookie(cookie_name(request.app.state.settings), path="/")
    return response


async def _redeem_limit(request: Request) -> None:
    await ratelimit.check([(f"redeem-ip:{client_ip(request)}", request.app.state.settings.rate_limit_per_ip)])


# Portal (clients)


@get("/login")
async def portal_login(request: Request, site: NamedDependency[PortalSite]) -> Template:
    return Template("portal/login.html", context={"site": site, "form": {}, "error": ""})


@post("/login")
async def portal_login_request(request: Request, site: NamedDependency[PortalSite], data: EmailBody) -> Template:
    try:
        await request_portal_link(request.app.state.settings, request, site.id, data.email)
    except Invalid as exc:
        return Template("portal/login.html", context={"site": site, "form": data, "error": str(exc)}, status_code=400)
    return Template("portal/link_sent.html", context={"site": site})


@get("/login/{token:str}")
async def portal_link(site: NamedDependency[PortalSite], token: FromPath[str]) -> Template:
    owner = await peek_token(token, site.id)
    valid = owner is not None and owner.client_user_id is not None
    context = {"site": site, "token": token, "valid": valid, "invite": valid and owner.purpose == "invite"}
    return Template("portal/continue.html", context=context, status_code=200 if valid else 410)


@post("/login/{token:str}")
async def portal_link_redeem(request: Request, site: NamedDependency[PortalSite], token: FromPath[str]) -> Response:
    await _redeem_limit(request)
    owner = await consume_token(token, site.id)
    if owner is None or owner.client_user_id is None:
        await record("login_failed", workspace_id=site.id, request=request, reason="unusable link")
        return Template("portal/continue.html", context={"site": site, "token": "", "valid": False}, status_code=410)
    state = await access_state(site.id, owner.client_user_id)
    if not state.live:
        await record("login_failed", workspace_id=site.id, request=request, target_type="client_user",
                     target_id=owner.client_user_id, reason="no live access")
        return Template("portal/access_ended.html", context={"site": site, "ended_on": state.ended_on}, status_code=403)
    if owner.purpose == "invite":
        await ProjectAccess.update({ProjectAccess.accepted_at: clock.now()}).where(
            ProjectAccess.client_user == owner.client_user_id, ProjectAccess.accepted_at.is_null()
        )
        await record("invite_accepted", workspace_id=site.id, request=request, target_type="client_user",
                     target_id=owner.client_user_id)
    await record("login", workspace_id=site.id, request=request, target_type="client_user",
                 target_id=owner.client_user_id, method="link")
    return await _sign_in(request, owner, site.url("/"))


@post("/logout")
async def portal_logout(request: Request, site: NamedDependency[PortalSite]) -> Response:
    principal = await current_principal(request)
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    if principal:
        await record("logout", workspace_id=site.id, actor=principal, request=request)
    return _signed_out(request, site.url("/login?signed_out=1"))


@post("/logout-everywhere")
async def portal_logout_everywhere(request: Request, site: NamedDependency[PortalSite]) -> Response:
    principal = await current_principal(request)
    if principal and principal.kind == "client" and principal.workspace_id == site.id:
        await end_all_sessions(client_user_id=principal.user_id)
        await record("logout_everywhere", workspace_id=site.id, actor=principal, request=request)
    return _signed_out(request, site.url("/login?signed_out=1"))


PORTAL_HANDLERS = [portal_login, portal_login_request, portal_link, portal_link_redeem, portal_logout,
                   portal_logout_everywhere]


# Studio (staff)


@get("/studio/login")
async def studio_login() -> Template:
    return Template("studio/login.html", context={"form": {}, "error": ""})


@post("/studio/login")
async def studio_login_request(request: Request, data: EmailBody) -> Template:
    try:
        await request_studio_link(request.app.state.settings, request, data.email)
    except Invalid as exc:
        return Template("studio/login.html", context={"form": data, "error": str(exc)}, status_code=400)
    return Template("studio/link_sent.html", context={})


@get("/studio/login/{token:str}")
async def studio_link(token: FromPath[str]) -> Template:
    owner = await peek_token(token, None)
    valid = owner is not None and owner.staff_id is not None
    return Template("studio/continue.html", context={"token": token, "valid": valid}, status_code=200 if valid else 410)


@post("/studio/login/{token:str}")
async def studio_link_redeem(request: Request, token: FromPath[str]) -> Response:
    await _redeem_limit(request)
    owner = await consume_token(token, None)
    if owner is None or owner.staff_id is None:
        await record("login_failed", workspace_id=None, request=request, reason="unusable link", area="studio")
        return Template("studio/continue.html", context={"token": "", "valid": False}, status_code=410)
    await record("login", workspace_id=owner.workspace_id, request=request, target_type="staff",
                 target_id=owner.staff_id, method="link")
    return await _sign_in(request, owner, "/studio/")


@post("/studio/logout")
async def studio_logout(request: Request) -> Response:
    principal = await current_principal(request)
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    if principal:
        await record("logout", workspace_id=principal.workspace_id, actor=principal, request=request)
    return _signed_out(request, "/studio/login?signed_out=1")


@post("/studio/logout-everywhere")
async def studio_logout_everywhere(request: Request) -> Response:
    principal = await current_principal(request)
    if principal and principal.kind == "staff":
        await end_all_sessions(staff_id=principal.user_id)
        await record("logout_everywhere", workspace_id=principal.workspace_id, actor=principal, request=request)
    return _signed_out(request, "/studio/login?signed_out=1")


STUDIO_HANDLERS = [studio_login, studio_login_request, studio_link, studio_link_redeem, studio_logout,
                   studio_logout_everywhere]
