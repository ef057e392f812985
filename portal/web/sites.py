"""The two sites: the client portal under /p/{workspace_slug} and the studio under /studio.

Each area's ``portal_routes`` and ``studio_routes`` list ``HANDLERS`` (they need a
signed-in client, or a signed-in staff member: the router's dependency checks it) and,
where some must work before signing in, ``PUBLIC_HANDLERS``. This module only puts them
together; the areas never import each other's routes.
"""

from __future__ import annotations

from types import ModuleType

from litestar import Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template

from portal.accounts import portal_routes as accounts_portal
from portal.accounts import studio_routes as accounts_studio
from portal.accounts.sessions import Principal
from portal.audit import studio_routes as audit_studio
from portal.billing import portal_routes as billing_portal
from portal.billing import studio_routes as billing_studio
from portal.billing import webhook_routes as billing_webhooks
from portal.deliverables import portal_routes as deliverables_portal
from portal.deliverables import studio_routes as deliverables_studio
from portal.errors import NotFound
from portal.feedback import portal_routes as feedback_portal
from portal.feedback import studio_routes as feedback_studio
from portal.files import portal_routes as files_portal
from portal.files import studio_routes as files_studio
from portal.mail import studio_routes as mail_studio
from portal.projects import portal_routes as projects_portal
from portal.projects import studio_routes as projects_studio
from portal.web import portal_home, preview
from portal.web.auth import provide_client, provide_staff
from portal.web.tenancy import PortalSite, provide_site
from portal.workspaces import portal_routes as workspaces_portal
from portal.workspaces import studio_routes as workspaces_studio

PORTAL_ROUTES = (projects_portal, deliverables_portal, files_portal, billing_portal, feedback_portal,
                 accounts_portal, workspaces_portal)
STUDIO_ROUTES = (audit_studio, projects_studio, accounts_studio, workspaces_studio, deliverables_studio, files_studio,
                 feedback_studio, mail_studio, billing_studio)


@get("/patterns")
async def patterns(staff: NamedDependency[Principal]) -> Template:
    """Every UI component on one page, to keep the look consistent."""
    return Template("patterns.html", context={"staff": staff})


@get("/{unknown:path}", include_in_schema=False)
async def unknown_portal_page(site: NamedDependency[PortalSite], unknown: FromPath[str]) -> None:
    """Any other address under a portal: its workspace is known, so the 404 wears its branding."""
    raise NotFound()


def _handlers(modules: tuple[ModuleType, ...], name: str) -> list:
    return [handler for module in modules for handler in getattr(module, name, [])]


def portal_router() -> Router:
    signed_in = Router(path="/", route_handlers=[*portal_home.HANDLERS, *_handlers(PORTAL_ROUTES, "HANDLERS")],
                       dependencies={"client": Provide(provide_client)})
    return Router(
        path="/p/{workspace_slug:str}",
        route_handlers=[signed_in, *_handlers(PORTAL_ROUTES, "PUBLIC_HANDLERS"), unknown_portal_page],
        dependencies={"site": Provide(provide_site)},
    )


def studio_routers() -> list[Router]:
    signed_in = Router(path="/studio", route_handlers=[patterns, *_handlers(STUDIO_ROUTES, "HANDLERS")],
                       dependencies={"staff": Provide(provide_staff)})
    public = Router(path="/studio", route_handlers=_handlers(STUDIO_ROUTES, "PUBLIC_HANDLERS"))
    return [signed_in, public]


WEBHOOK_ROUTES = (billing_webhooks,)


def webhooks_router() -> Router:
    """Machines calling in (Stripe), each route proving its sender itself."""
    return Router(path="/webhooks", route_handlers=_handlers(WEBHOOK_ROUTES, "HANDLERS"))


def preview_router() -> Router:
    """The portal's signed-in GET pages, as a chosen client sees them, for staff."""
    pages = [handler for handler in (*portal_home.HANDLERS, *_handlers(PORTAL_ROUTES, "HANDLERS"),
                                     *workspaces_portal.PUBLIC_HANDLERS)
             if handler.http_methods <= {"GET", "HEAD"}]  # the pages, and the theme and logo they use
    return Router(
        path=preview.PREFIX,
        route_handlers=pages,
        dependencies={"staff": Provide(provide_staff), "site": Provide(preview.provide_preview_site),
                      "client": Provide(preview.provide_preview_client)},
    )
