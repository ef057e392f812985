"""The portal's sign-in and sign-out (clients), under /p/{workspace_slug}: none of them
needs a signed-in client, so all are ``PUBLIC_HANDLERS``."""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal.accounts import services
from portal.accounts.magic import request_portal_link
from portal.accounts.sessions import cookie_name, end_all_sessions, end_session
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
from portal.errors import Invalid
from portal.web.auth import current_principal
from portal.web.rendering import INVALID
from portal.web.tenancy import PortalSite


@get("/login")
async def portal_login(request: Request, site: NamedDependency[PortalSite]) -> Template:
    return Template("portal/login.html", context={"site": site, "form": {}, "error": ""})


@post("/login")
async def portal_login_request(request: Request, site: NamedDependency[PortalSite], data: EmailBody) -> Template:
    try:
        await request_portal_link(request.app.state.settings, request, site.id, data.email)
    except Invalid as exc:
        return Template("portal/login.html", context={"site": site, "form": data, "error": str(exc)}, status_code=INVALID)
    return Template("portal/link_sent.html", context={"site": site})


@get("/login/{token:str}")
async def portal_link(site: NamedDependency[PortalSite], token: FromPath[str]) -> Template:
    owner = await peek_token(token, site.id)
    valid = owner is not None and owner.client_user_id is not None
    context = {"site": site, "token": token, "valid": valid, "invite": valid and owner.purpose == "invite"}
    return Template("portal/continue.html", context=context, status_code=200 if valid else 410)


@post("/login/{token:str}")
async def portal_link_redeem(request: Request, site: NamedDependency[PortalSite], token: FromPath[str]) -> Response:
    await redeem_limit(request)
    owner = await consume_token(token, site.id)
    if owner is None or owner.client_user_id is None:
        await record("login_failed", workspace_id=site.id, request=request, reason="unusable link")
        return Template("portal/continue.html", context={"site": site, "token": "", "valid": False}, status_code=410)
    state = await services.access_state(site.id, owner.client_user_id)
    if not state.live:
        await record("login_failed", workspace_id=site.id, request=request, target_type="client_user",
                     target_id=owner.client_user_id, reason="no live access")
        return Template("portal/access_ended.html", context={"site": site, "ended_on": state.ended_on}, status_code=403)
    if owner.purpose == "invite":
        await services.accept_invite(request, site.id, owner.client_user_id)
    await record("login", workspace_id=site.id, request=request, target_type="client_user",
                 target_id=owner.client_user_id, method="link")
    return await sign_in(request, owner, site.url("/"))


@post("/logout")
async def portal_logout(request: Request, site: NamedDependency[PortalSite]) -> Response:
    principal = await current_principal(request)
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    if principal:
        await record("logout", workspace_id=site.id, actor=principal, request=request)
    return signed_out(request, site.url("/login?signed_out=1"))


@post("/logout-everywhere")
async def portal_logout_everywhere(request: Request, site: NamedDependency[PortalSite]) -> Response:
    principal = await current_principal(request)
    if principal and principal.kind == "client" and principal.workspace_id == site.id:
        await end_all_sessions(client_user_id=principal.user_id)
        await record("logout_everywhere", workspace_id=site.id, actor=principal, request=request)
    return signed_out(request, site.url("/login?signed_out=1"))




def _portal_context(site: PortalSite) -> dict:
    return {"site": site, "base_template": "portal/base.html", "login_url": site.url("/login"), "place": site.name}


@get(START, cache=False)
async def portal_google_start(request: Request, site: NamedDependency[PortalSite]) -> Response:
    return await start_google(request, f"portal:{site.id}", site.url(CALLBACK), _portal_context(site), origin=site.origin)


@get(CALLBACK, cache=False)
async def portal_google_callback(
    request: Request, site: NamedDependency[PortalSite], oauth_state: StateQuery = None, code: CodeQuery = None,
    error: ErrorQuery = None,
) -> Response:
    return await finish_google(request, area=f"portal:{site.id}", workspace_id=site.id, code=code, state=oauth_state,
                         error=error, home=site.url("/"), refused_context=_portal_context(site))


HANDLERS: list = []
PUBLIC_HANDLERS = [portal_login, portal_login_request, portal_link, portal_link_redeem, portal_logout,
                   portal_logout_everywhere, portal_google_start, portal_google_callback]
