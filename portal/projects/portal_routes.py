"""A project's Progress tab (the portal's home, which reads other areas too, is portal.web.portal_home)."""

from __future__ import annotations

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Template

from portal.accounts.sessions import Principal
from portal.projects import services
from portal.projects.access import get_visible_project
from portal.web.rendering import page
from portal.web.tenancy import PortalSite


@get("/projects/{project_id:int}")
async def project_progress(request: Request, site: NamedDependency[PortalSite], client: NamedDependency[Principal], project_id: FromPath[int]) -> Template:
    project = await services.project_detail(await get_visible_project(client, project_id))
    context = {"site": site, "client": client, "project": project, "tab": "progress"}
    return page(request, "portal/progress.html", context, fragment="portal/_progress.html")


#: Under /p/{workspace_slug}, for a signed-in client.
HANDLERS = [project_progress]
