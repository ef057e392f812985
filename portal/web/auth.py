"""Who is asking: the session cookie turned into a principal, and guards for areas."""

from __future__ import annotations

from litestar import Request
from litestar.di import NamedDependency

from portal.accounts.grants import access_state
from portal.accounts.sessions import Principal, cookie_name, end_session, load_session
from portal.accounts.tables import MANAGERS
from portal.errors import Forbidden
from portal.projects.access import visible_project_ids
from portal.web.tenancy import PortalSite


class AccessEnded(Exception):
    """A signed-in client whose every grant has expired: a clear page, no data."""

    def __init__(self, site: PortalSite, ended_on) -> None:
        self.site = site
        self.ended_on = ended_on


class LoginRequired(Exception):
    """Raised by a dependency: the answer is a redirect to ``login_url``."""

    def __init__(self, login_url: str) -> None:
        self.login_url = login_url


_UNKNOWN = object()


async def current_principal(request: Request) -> Principal | None:
    state = request.state  # a new wrapper object at every access: read it once
    principal = state.get("principal", _UNKNOWN)
    if principal is _UNKNOWN:
        settings = request.app.state.settings
        principal = state.principal = await load_session(settings, request.cookies.get(cookie_name(settings)))
    return principal


async def provide_client(request: Request, site: NamedDependency[PortalSite]) -> Principal:
    """Dependency of signed-in portal routes: a client of this very workspace."""
    principal = await current_principal(request)
    if principal is None or principal.kind != "client" or principal.workspace_id != site.id:
        raise LoginRequired(site.url("/login"))
    # Revocation and expiry take effect at the very next request. The scoped lookup
    # answers the common case (a live grant) with one cheap query; access_state
    # explains the others.
    project_ids = await visible_project_ids(principal)
    request.state.visible_project_ids = project_ids  # the home page lists these
    if project_ids:
        return principal
    state = await access_state(site.id, principal.user_id)
    if not state.live:
        await end_session(request.cookies.get(cookie_name(request.app.state.settings)))
        if state.ended_on is not None:
            raise AccessEnded(site, state.ended_on)
        raise LoginRequired(site.url("/login"))
    return principal


async def provide_staff(request: Request) -> Principal:
    """Dependency of studio routes: a staff member (of the session's workspace)."""
    principal = await current_principal(request)
    if principal is None or principal.kind != "staff":
        raise LoginRequired("/studio/login")
    return principal



async def owners_and_admins(connection, _handler) -> None:
    """Guard of studio routes for owners and admins only; members get 403."""
    principal = await current_principal(connection)
    if principal is None or principal.kind != "staff":
        raise LoginRequired("/studio/login")
    if principal.role not in MANAGERS:
        raise Forbidden("Only owners and admins can open this page.")
