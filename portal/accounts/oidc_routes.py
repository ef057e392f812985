"""Sign in with Google: the redirect to the provider and its callback, portal and studio.

The start sets the signed flow cookie and redirects; the callback hands the query to
``oidc.complete`` and either starts a session (the same ``_sign_in`` as the email link)
or shows why not. Both 404 while no Google client id is configured.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from portal.accounts import oidc
from portal.accounts.routes import _sign_in
from portal.errors import NotFound
from portal.web.tenancy import PortalSite

NO_STORE = {"Cache-Control": "no-store"}
START = "/auth/google"
CALLBACK = "/auth/google/callback"

# ``state`` is a reserved parameter name in Litestar: bind the query field under another.
StateQuery = Annotated[str | None, QueryParameter(name="state", required=False, max_length=500)]
CodeQuery = Annotated[str | None, QueryParameter(required=False, max_length=2000)]
ErrorQuery = Annotated[str | None, QueryParameter(required=False, max_length=200)]


def _require_enabled(request: Request) -> None:
    if not oidc.enabled(request.app.state.settings):
        raise NotFound()


def _forget_flow(request: Request, response: Response) -> Response:
    response.delete_cookie(oidc.flow_cookie_name(request.app.state.settings), path="/")
    return response


async def _start(request: Request, area: str, callback_path: str, refused_context: dict) -> Response:
    _require_enabled(request)
    settings = request.app.state.settings
    try:
        url, flow_cookie = await oidc.begin(settings, area=area, callback_path=callback_path)
    except oidc.SignInRefused as refusal:
        return _refused(refusal, refused_context)
    response = Redirect(url, status_code=302, headers=NO_STORE)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which still carries it.
    response.set_cookie(
        key=oidc.flow_cookie_name(settings), value=flow_cookie, path="/", httponly=True,
        secure=settings.is_https, samesite="lax", max_age=oidc.FLOW_SECONDS,
    )
    return response


def _refused(refusal: oidc.SignInRefused, context: dict) -> Template:
    return Template("accounts/oidc_refused.html", context={**context, "refusal": refusal},
                    status_code=refusal.status_code, headers=NO_STORE)


async def _finish(request: Request, *, area: str, workspace_id: int | None, code: str | None, state: str | None,
                  error: str | None, home: str, refused_context: dict) -> Response:
    _require_enabled(request)
    settings = request.app.state.settings
    try:
        person = await oidc.complete(
            settings, request, flow_cookie=request.cookies.get(oidc.flow_cookie_name(settings)), area=area,
            workspace_id=workspace_id, code=code, state=state, error=error,
        )
    except oidc.SignInRefused as refusal:
        return _forget_flow(request, _refused(refusal, refused_context))
    return _forget_flow(request, await _sign_in(request, person, home))


# Portal (clients): paths relative to /p/{workspace_slug}


def _portal_context(site: PortalSite) -> dict:
    return {"site": site, "base_template": "portal/base.html", "login_url": site.url("/login"), "place": site.name}


@get(START, cache=False)
async def portal_google_start(request: Request, site: NamedDependency[PortalSite]) -> Response:
    return await _start(request, f"portal:{site.id}", site.url(CALLBACK), _portal_context(site))


@get(CALLBACK, cache=False)
async def portal_google_callback(
    request: Request, site: NamedDependency[PortalSite], oauth_state: StateQuery = None, code: CodeQuery = None,
    error: ErrorQuery = None,
) -> Response:
    return await _finish(request, area=f"portal:{site.id}", workspace_id=site.id, code=code, state=oauth_state,
                         error=error, home=site.url("/"), refused_context=_portal_context(site))


PORTAL_HANDLERS = [portal_google_start, portal_google_callback]


# Studio (staff)

STUDIO_CONTEXT = {"base_template": "studio/base.html", "login_url": "/studio/login", "place": "the studio"}


@get("/studio" + START, cache=False)
async def studio_google_start(request: Request) -> Response:
    return await _start(request, "studio", "/studio" + CALLBACK, STUDIO_CONTEXT)


@get("/studio" + CALLBACK, cache=False)
async def studio_google_callback(
    request: Request, oauth_state: StateQuery = None, code: CodeQuery = None, error: ErrorQuery = None
) -> Response:
    return await _finish(request, area="studio", workspace_id=None, code=code, state=oauth_state, error=error,
                         home="/studio/", refused_context=STUDIO_CONTEXT)


STUDIO_HANDLERS = [studio_google_start, studio_google_callback]
