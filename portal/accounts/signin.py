"""What the sign-in routes of the portal and the studio share.

Asking for a link answers the same whether or not the email is known. Opening a link
shows a Continue button (mail scanners prefetch GETs); only the POST consumes the token,
starts a session with a new id and redirects, so the token leaves the address bar.

Sign in with Google: the start sets the signed flow cookie and redirects; the callback
hands the query to ``oidc.complete`` and either starts a session (the same ``sign_in``
as the email link) or shows why not. Both 404 while no Google client id is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Request, Response
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from portal.accounts import oidc, ratelimit
from portal.accounts.sessions import cookie_name, create_session, end_session
from portal.accounts.tokens import TokenOwner
from portal.audit.services import client_ip
from portal.errors import NotFound
from portal.web.forms import FORM
from portal.web.rendering import see_other


@dataclass
class EmailForm:
    email: str = ""


EmailBody = Annotated[EmailForm, FORM]


def with_session_cookie(request: Request, response: Response, raw: str) -> Response:
    settings = request.app.state.settings
    response.set_cookie(
        key=cookie_name(settings), value=raw, path="/", httponly=True, secure=settings.is_https,
        samesite="lax", max_age=settings.session_max_days * 86400,
    )
    return response


async def sign_in(request: Request, owner: TokenOwner, redirect_to: str) -> Response:
    """Start a session with a brand-new id for ``owner``; a planted cookie is never adopted."""
    settings = request.app.state.settings
    await end_session(request.cookies.get(cookie_name(settings)))
    raw = await create_session(
        settings, workspace_id=owner.workspace_id, staff_id=owner.staff_id, client_user_id=owner.client_user_id,
        ip=client_ip(request), user_agent=request.headers.get("user-agent", ""),
    )
    return with_session_cookie(request, see_other(redirect_to), raw)


def signed_out(request: Request, redirect_to: str) -> Response:
    response = see_other(redirect_to)
    response.delete_cookie(cookie_name(request.app.state.settings), path="/")
    return response


async def redeem_limit(request: Request) -> None:
    await ratelimit.check([(f"redeem-ip:{client_ip(request)}", request.app.state.settings.rate_limit_per_ip)])


NO_STORE = {"Cache-Control": "no-store"}
START = "/auth/google"
CALLBACK = "/auth/google/callback"

# ``state`` is a reserved parameter name in Litestar: bind the query field under another.
StateQuery = Annotated[str | None, QueryParameter(name="state", required=False, max_length=500)]
CodeQuery = Annotated[str | None, QueryParameter(required=False, max_length=2000)]
ErrorQuery = Annotated[str | None, QueryParameter(required=False, max_length=200)]


def require_enabled(request: Request) -> None:
    if not oidc.enabled(request.app.state.settings):
        raise NotFound()


def forget_flow(request: Request, response: Response) -> Response:
    response.delete_cookie(oidc.flow_cookie_name(request.app.state.settings), path="/")
    return response


async def start_google(request: Request, area: str, callback_path: str, refused_context: dict, origin: str = "") -> Response:
    require_enabled(request)
    settings = request.app.state.settings
    try:
        url, flow_cookie = await oidc.begin(settings, area=area, callback_path=callback_path, origin=origin)
    except oidc.SignInRefused as refusal:
        return refused(refusal, refused_context)
    response = Redirect(url, status_code=302, headers=NO_STORE)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which still carries it.
    response.set_cookie(
        key=oidc.flow_cookie_name(settings), value=flow_cookie, path="/", httponly=True,
        secure=settings.is_https, samesite="lax", max_age=oidc.FLOW_SECONDS,
    )
    return response


def refused(refusal: oidc.SignInRefused, context: dict) -> Template:
    return Template("accounts/oidc_refused.html", context={**context, "refusal": refusal},
                    status_code=refusal.status_code, headers=NO_STORE)


async def finish_google(request: Request, *, area: str, workspace_id: int | None, code: str | None, state: str | None,
                  error: str | None, home: str, refused_context: dict) -> Response:
    require_enabled(request)
    settings = request.app.state.settings
    try:
        person = await oidc.complete(
            settings, request, flow_cookie=request.cookies.get(oidc.flow_cookie_name(settings)), area=area,
            workspace_id=workspace_id, code=code, state=state, error=error,
        )
    except oidc.SignInRefused as refusal:
        return forget_flow(request, refused(refusal, refused_context))
    return forget_flow(request, await sign_in(request, person, home))
