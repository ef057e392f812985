"""The client portal: home and project tabs under /p/{workspace_slug}."""

from __future__ import annotations

from litestar import Request, Router, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import File, Response, Template

from portal.accounts.sessions import Principal
from portal.billing import routes as billing
from portal.clientarea.views import project_detail, project_list
from portal.deliverables import routes as deliverables
from portal.errors import NotFound
from portal.feedback import routes as feedback
from portal.files import routes as files
from portal.files.storage import blob_path
from portal.projects.access import get_visible_project
from portal.web.auth import provide_client
from portal.web.rendering import page
from portal.web.tenancy import PortalSite, provide_site
from portal.workspaces.tables import Workspace
from portal.workspaces.theme import theme_css

#: Logos are shown inline; never SVG (it can carry script).
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@get("/")
async def home(request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal]) -> Template:
    # provide_client looked them up for this very request (same rule, same moment).
    projects = await project_list(request.state.visible_project_ids)
    return page(request, "portal/home.html", {"site": site, "client": client, "projects": projects})


@get("/projects/{project_id:int}")
async def project_progress(request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    project = await project_detail(await get_visible_project(client, project_id))
    context = {"site": site, "client": client, "project": project, "tab": "progress"}
    return page(request, "portal/progress.html", context, fragment="portal/_progress.html")


@get("/logo")
async def logo(request: Request, site: NamedDependency[PortalSite]) -> Response:
    """The workspace's portal logo (public: the sign-in page shows it)."""
    row = await Workspace.select(Workspace.portal_logo_sha256, Workspace.portal_logo_type).where(
        Workspace.id == site.id
    ).first()
    if not row or not row["portal_logo_sha256"] or row["portal_logo_type"] not in IMAGE_TYPES:
        raise NotFound()
    path = blob_path(request.app.state.settings, row["portal_logo_sha256"])
    return File(path, media_type=row["portal_logo_type"], content_disposition_type="inline",
                headers={"Cache-Control": "public, max-age=300"})


@get("/theme.css", cache=False)
async def theme(site: NamedDependency[PortalSite]) -> Response:
    return Response(theme_css(site), media_type="text/css", headers={"Cache-Control": "public, max-age=300"})


def portal_router(extra_handlers: list) -> Router:
    """All portal routes; ``extra_handlers`` (login, logout) need no signed-in client."""
    signed_in = Router(
        path="/",
        route_handlers=[
            home,
            project_progress,
            *deliverables.PORTAL_HANDLERS,
            *files.PORTAL_HANDLERS,
            *billing.PORTAL_HANDLERS,
            *feedback.PORTAL_HANDLERS,
        ],
        dependencies={"client": Provide(provide_client)},
    )
    return Router(
        path="/p/{workspace_slug:str}",
        route_handlers=[signed_in, theme, logo, *extra_handlers],
        dependencies={"site": Provide(provide_site)},
    )
