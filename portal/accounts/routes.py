"""Signing in with a one-time link and signing out, for the portal and the studio.

Opening a link shows a Continue button (mail scanners prefetch GETs); only the POST
consumes the token, starts a session with a new id and redirects, so the token leaves
the address bar.
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from portal.accounts.sessions import cookie_name, create_session, end_session
from portal.accounts.tokens import consume_token, peek_token
from portal.web.rendering import see_other
from portal.web.tenancy import PortalSite


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _with_session_cookie(request: Request, response: Response, raw: str) -> Response:
    settings = request.app.state.settings
    response.set_cookie(
        key=cookie_name(settings),
        value=raw,
        path="/",
        httponly=True,
        secure=settings.is_https,
        samesite="lax",
        max_age=settings.session_max_days * 86400,
    )
    return response


async def _sign_in(request: Request, owner, redirect_to: str) -> Response:
    raw = await create_session(
        request.app.state.settings,
        workspace_id=owner.workspace_id,
        staff_id=owner.staff_id,
        client_user_id=owner.client_user_id,
        ip=_client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    # The old session (if any) ends: a planted cookie is never adopted.
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    return _with_session_cookie(request, see_other(redirect_to), raw)


# Portal (clients)


@get("/login")
async def portal_login(site: NamedDependency[PortalSite]) -> Template:
    return Template("portal/login.html", context={"site": site})


@get("/login/{token:str}")
async def portal_link(site: NamedDependency[PortalSite], token: FromPath[str]) -> Template:
    owner = await peek_token(token, site.id)
    valid = owner is not None and owner.client_user_id is not None
    return Template("portal/continue.html", context={"site": site, "token": token, "valid": valid}, status_code=200 if valid else 410)


@post("/login/{token:str}")
async def portal_link_redeem(request: Request, site: NamedDependency[PortalSite], token: FromPath[str]) -> Response:
    owner = await consume_token(token, site.id)
    if owner is None or owner.client_user_id is None:
        return Template("portal/continue.html", context={"site": site, "token": "", "valid": False}, status_code=410)
    return await _sign_in(request, owner, site.url("/"))


@post("/logout")
async def portal_logout(request: Request, site: NamedDependency[PortalSite]) -> Response:
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    response = see_other(site.url("/login?signed_out=1"))
    response.delete_cookie(cookie_name(request.app.state.settings), path="/")
    return response


PORTAL_HANDLERS = [portal_login, portal_link, portal_link_redeem, portal_logout]


# Studio (staff)


@get("/studio/login")
async def studio_login() -> Template:
    return Template("studio/login.html", context={})


@get("/studio/login/{token:str}")
async def studio_link(token: FromPath[str]) -> Template:
    owner = await peek_token(token, None)
    valid = owner is not None and owner.staff_id is not None
    return Template("studio/continue.html", context={"token": token, "valid": valid}, status_code=200 if valid else 410)


@post("/studio/login/{token:str}")
async def studio_link_redeem(request: Request, token: FromPath[str]) -> Response:
    owner = await consume_token(token, None)
    if owner is None or owner.staff_id is None:
        return Template("studio/continue.html", context={"token": "", "valid": False}, status_code=410)
    return await _sign_in(request, owner, "/studio/")


@post("/studio/logout")
async def studio_logout(request: Request) -> Redirect:
    await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
    response = see_other("/studio/login?signed_out=1")
    response.delete_cookie(cookie_name(request.app.state.settings), path="/")
    return response


STUDIO_HANDLERS = [studio_login, studio_link, studio_link_redeem, studio_logout]
